package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/oauth/oauthtest"
	"golang.org/x/oauth2"
)

// The redirect URI is sent byte-for-byte in both requests, and a
// transaction started for one redirect URI cannot complete at another.
func TestRedirectURIExact(t *testing.T) {
	t.Run("sent_exactly_in_both_requests", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		authURL, ck := e.begin(t, "")
		if got := authURL.Query().Get("redirect_uri"); got != redirectURL {
			t.Fatalf("authorize redirect_uri = %q", got)
		}
		cb, err := e.fake.Authorize(authURL.String())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.callback(t, cb.String(), ck); err != nil {
			t.Fatal(err)
		}
		reqs := e.fake.TokenRequests()
		if got := reqs[len(reqs)-1].Get("redirect_uri"); got != redirectURL {
			t.Fatalf("token redirect_uri = %q", got)
		}
	})
	t.Run("unregistered_variant_refused_by_provider", func(t *testing.T) {
		e := newEnv(t, envOpts{provider: func(p *oauth.Provider) { p.RedirectURL = redirectURL + "/" }})
		authURL, _ := e.begin(t, "")
		if _, err := e.fake.Authorize(authURL.String()); err == nil {
			t.Fatal("provider accepted an unregistered redirect_uri")
		}
	})
	t.Run("store_transaction_for_other_redirect_uri", func(t *testing.T) {
		store := memtest.New(t, nil).Tickets()
		other := "https://app.example.com/auth/oauth/other/callback"
		e := newEnv(t, envOpts{store: store, fakeCfg: func(c *oauthtest.ProviderConfig) { c.RedirectURIs = append(c.RedirectURIs, other) }})
		p2 := *e.p
		p2.RedirectURL = other
		flow2, err := oauth.New(oauth.Config{Provider: &p2, Tickets: store, CookieName: "__Host-authkit-oauth-fake"})
		if err != nil {
			t.Fatal(err)
		}
		// Begin at flow2 (other redirect URI), deliver to e.flow.
		rec := newRecorder()
		u, err := flow2.BeginURL(t.Context(), rec, "")
		if err != nil {
			t.Fatal(err)
		}
		cb, err := e.fake.Authorize(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = e.callback(t, redirectURL+"?"+cb.RawQuery, rec.Result().Cookies()[0])
		if !errors.Is(err, oauth.ErrState) {
			t.Fatalf("err = %v, want ErrState", err)
		}
	})
	t.Run("cookie_bound_to_redirect_uri", func(t *testing.T) {
		other := "https://app.example.com/auth/oauth/other/callback"
		e := newEnv(t, envOpts{fakeCfg: func(c *oauthtest.ProviderConfig) { c.RedirectURIs = append(c.RedirectURIs, other) }})
		p2 := *e.p
		p2.RedirectURL = other
		flow2, err := oauth.New(oauth.Config{Provider: &p2, CookieKey: testCookieKey, CookieName: "__Host-authkit-oauth-fake"})
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder()
		u, err := flow2.BeginURL(t.Context(), rec, "")
		if err != nil {
			t.Fatal(err)
		}
		cb, err := e.fake.Authorize(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = e.callback(t, redirectURL+"?"+cb.RawQuery, rec.Result().Cookies()[0])
		if !errors.Is(err, oauth.ErrState) {
			t.Fatalf("err = %v, want ErrState", err)
		}
	})
	t.Run("config_rejects_unsafe_redirect", func(t *testing.T) {
		for _, bad := range []string{"http://app.example.com/cb", "https://app.example.com/cb#frag", "/cb", "https://user@app.example.com/cb"} {
			p := oauth.Google(oauth.ClientConfig{ClientID: "id", RedirectURL: bad})
			if _, err := oauth.New(oauth.Config{Provider: p, CookieKey: testCookieKey}); !errors.Is(err, oauth.ErrInvalidConfig) {
				t.Errorf("RedirectURL %q: err = %v, want ErrInvalidConfig", bad, err)
			}
		}
	})
}

// State missing, wrong, replayed, expired or tampered is refused.
func TestCallbackStateIsBoundAndSingleUse(t *testing.T) {
	for _, mode := range []string{"cookie", "store"} {
		t.Run(mode, func(t *testing.T) {
			o := envOpts{}
			if mode == "store" {
				o.store = newMemStates(t)
			}
			e := newEnv(t, o)
			cbFor := func(t *testing.T) (*url.URL, *http.Cookie) {
				authURL, ck := e.begin(t, "")
				cb, err := e.fake.Authorize(authURL.String())
				if err != nil {
					t.Fatal(err)
				}
				return cb, ck
			}
			t.Run("state_missing", func(t *testing.T) {
				cb, ck := cbFor(t)
				q := cb.Query()
				q.Del("state")
				cb.RawQuery = q.Encode()
				if _, _, err := e.callback(t, cb.String(), ck); !errors.Is(err, oauth.ErrState) {
					t.Fatalf("err = %v", err)
				}
			})
			t.Run("state_wrong", func(t *testing.T) {
				cb, ck := cbFor(t)
				q := cb.Query()
				st := q.Get("state")
				last := "A"
				if st[len(st)-1] == 'A' {
					last = "B"
				}
				q.Set("state", st[:len(st)-1]+last)
				cb.RawQuery = q.Encode()
				if _, _, err := e.callback(t, cb.String(), ck); !errors.Is(err, oauth.ErrState) {
					t.Fatalf("err = %v", err)
				}
			})
			t.Run("no_cookie_other_browser", func(t *testing.T) {
				cb, _ := cbFor(t)
				if _, _, err := e.callback(t, cb.String(), nil); !errors.Is(err, oauth.ErrState) {
					t.Fatalf("err = %v", err)
				}
			})
			t.Run("other_transactions_cookie", func(t *testing.T) {
				cb, _ := cbFor(t)
				_, ck2 := e.begin(t, "") // the victim's browser has its own transaction
				if _, _, err := e.callback(t, cb.String(), ck2); !errors.Is(err, oauth.ErrState) {
					t.Fatalf("err = %v", err)
				}
			})
			t.Run("state_reused", func(t *testing.T) {
				cb, ck := cbFor(t)
				_, rec, err := e.callback(t, cb.String(), ck)
				if err != nil {
					t.Fatal(err)
				}
				cleared := false
				for _, c := range rec.Result().Cookies() {
					if c.Name == ck.Name && c.MaxAge < 0 && c.Value == "" {
						cleared = true
					}
				}
				if !cleared {
					t.Fatal("callback did not clear the transaction cookie")
				}
				// The browser no longer holds the cookie: a replay fails.
				if _, _, err := e.callback(t, cb.String(), nil); !errors.Is(err, oauth.ErrState) {
					t.Fatalf("replay without cookie: err = %v", err)
				}
				// A replay with a copied cookie: the store refuses the spent
				// state; in cookie mode the provider refuses the spent code.
				_, _, err = e.callback(t, cb.String(), ck)
				want := oauth.ErrState
				if mode == "cookie" {
					want = oauth.ErrExchange
				}
				if !errors.Is(err, want) {
					t.Fatalf("replay with copied cookie: err = %v, want %v", err, want)
				}
			})
			t.Run("cleared_on_failure_too", func(t *testing.T) {
				cb, ck := cbFor(t)
				q := cb.Query()
				q.Set("state", "x")
				cb.RawQuery = q.Encode()
				_, rec, _ := e.callback(t, cb.String(), ck)
				if h := rec.Header().Values("Set-Cookie"); len(h) != 1 || !strings.Contains(h[0], "Max-Age=0") {
					t.Fatalf("Set-Cookie = %q, want the cookie cleared", h)
				}
			})
		})
	}
	t.Run("expired_transaction", func(t *testing.T) {
		for _, mode := range []string{"cookie", "store"} {
			now := time.Now()
			clock := func() time.Time { return now }
			o := envOpts{cfg: func(c *oauth.Config) { c.Now = clock }}
			if mode == "store" {
				o.store = memtest.New(t, clock).Tickets()
			}
			e := newEnv(t, o)
			authURL, ck := e.begin(t, "")
			cb, err := e.fake.Authorize(authURL.String())
			if err != nil {
				t.Fatal(err)
			}
			now = now.Add(10*time.Minute + time.Second)
			if _, _, err := e.callback(t, cb.String(), ck); !errors.Is(err, oauth.ErrState) {
				t.Fatalf("%s: err = %v, want ErrState", mode, err)
			}
		}
	})
	t.Run("expired_even_if_store_returns_it", func(t *testing.T) {
		// The flow checks Pending.Expiry itself and does not rely on the
		// store's expiry alone.
		now := time.Now()
		e := newEnv(t, envOpts{store: &laxStore{m: map[string][]byte{}},
			cfg: func(c *oauth.Config) { c.Now = func() time.Time { return now } }})
		authURL, ck := e.begin(t, "")
		cb, err := e.fake.Authorize(authURL.String())
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(11 * time.Minute)
		if _, _, err := e.callback(t, cb.String(), ck); !errors.Is(err, oauth.ErrState) {
			t.Fatalf("err = %v, want ErrState", err)
		}
	})
	t.Run("tampered_cookie", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		authURL, ck := e.begin(t, "")
		cb, err := e.fake.Authorize(authURL.String())
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(ck.Value)
		raw[len(raw)/2] ^= 1
		ck.Value = base64.RawURLEncoding.EncodeToString(raw)
		if _, _, err := e.callback(t, cb.String(), ck); !errors.Is(err, oauth.ErrState) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("store_cookie_holds_state", func(t *testing.T) {
		e := newEnv(t, envOpts{store: newMemStates(t)})
		authURL, ck := e.begin(t, "")
		if ck.Value != authURL.Query().Get("state") {
			t.Fatal("store-mode cookie does not bind the state to the browser")
		}
	})
}

// RFC 9207 iss parameter and id_token iss.
func TestIssuerMixUpIsRefused(t *testing.T) {
	cases := []struct {
		name      string
		mis       oauthtest.Misbehavior
		supported bool
		wantErr   error
		check     string
	}{
		{"O3_S24_iss_param_mismatch", oauthtest.Misbehavior{WrongIssParam: true}, true, oauth.ErrIssuerMismatch, ""},
		{"O3_iss_param_mismatch_even_if_unadvertised", oauthtest.Misbehavior{WrongIssParam: true}, false, oauth.ErrIssuerMismatch, ""},
		{"O3_iss_param_missing_when_advertised", oauthtest.Misbehavior{OmitIssParam: true}, true, oauth.ErrIssuerMismatch, ""},
		{"O3_iss_param_missing_not_advertised_ok", oauthtest.Misbehavior{OmitIssParam: true}, false, nil, ""},
		{"O3_O8_id_token_iss_mismatch", oauthtest.Misbehavior{WrongIssuer: true}, true, oauth.ErrIDToken, "iss"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{provider: func(p *oauth.Provider) { p.IssParameterSupported = c.supported }})
			e.fake.SetMisbehavior(c.mis)
			_, err := e.login(t, "")
			if c.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if c.check != "" {
				wantIDTokenCheck(t, err, c.check)
			}
		})
	}
	t.Run("discovery_issuer_mismatch", func(t *testing.T) {
		e := newEnv(t, envOpts{noStart: true})
		e.fake.SetMisbehavior(oauthtest.Misbehavior{WrongDiscoveryIssuer: true})
		_, err := oauth.Discover(t.Context(), oauth.OIDCConfig{Issuer: e.fake.Issuer(), ClientID: "test-client", RedirectURL: redirectURL})
		if !errors.Is(err, oauth.ErrDiscovery) {
			t.Fatalf("err = %v", err)
		}
	})
}

var verifierRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// PKCE S256 on every request, per transaction, verifier sent.
func TestPKCEIsAlwaysS256(t *testing.T) {
	e := newEnv(t, envOpts{})
	seen := map[string]bool{}
	for i := range 3 {
		authURL, ck := e.begin(t, "")
		q := authURL.Query()
		if q.Get("code_challenge_method") != "S256" {
			t.Fatalf("code_challenge_method = %q", q.Get("code_challenge_method"))
		}
		ch := q.Get("code_challenge")
		if seen[ch] || seen[q.Get("state")] || seen[q.Get("nonce")] {
			t.Fatalf("transaction %d reuses a challenge, state or nonce", i)
		}
		seen[ch], seen[q.Get("state")], seen[q.Get("nonce")] = true, true, true
		if len(q.Get("state")) < 22 || len(q.Get("nonce")) < 22 {
			t.Fatalf("state/nonce shorter than 128 bits")
		}
		cb, err := e.fake.Authorize(authURL.String())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.callback(t, cb.String(), ck); err != nil {
			t.Fatal(err)
		}
		reqs := e.fake.TokenRequests()
		v := reqs[len(reqs)-1].Get("code_verifier")
		if !verifierRE.MatchString(v) || len(v) != 43 {
			t.Fatalf("verifier %q is not 43 chars of the RFC 7636 alphabet", v)
		}
		sum := sha256.Sum256([]byte(v))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != ch {
			t.Fatal("O4_S24: code_verifier sent does not match the S256 challenge")
		}
	}
	t.Run("exchange_without_verifier_refused", func(t *testing.T) {
		// The fake provider (what host apps test against) refuses an
		// exchange without code_verifier, as a correct provider must.
		authURL, _ := e.begin(t, "")
		cb, err := e.fake.Authorize(authURL.String())
		if err != nil {
			t.Fatal(err)
		}
		oc := oauth2.Config{ClientID: e.p.ClientID, ClientSecret: e.p.ClientSecret, Endpoint: e.p.Endpoint, RedirectURL: redirectURL}
		_, err = oc.Exchange(t.Context(), cb.Query().Get("code"))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("err = %v, want invalid_grant", err)
		}
	})
}

// Only the authorization code response type; no implicit, no ROPC.
func TestNoImplicitNoROPC(t *testing.T) {
	e := newEnv(t, envOpts{provider: func(p *oauth.Provider) {
		p.AuthParams = url.Values{"response_type": {"token"}, "response_mode": {"fragment"}, "prompt": {"login"}}
	}})
	authURL, _ := e.begin(t, "")
	q := authURL.Query()
	if q["response_type"][0] != "code" || len(q["response_type"]) != 1 {
		t.Fatalf("response_type = %q", q["response_type"])
	}
	if q.Has("response_mode") {
		t.Fatal("response_mode was overridable")
	}
	if q.Get("prompt") != "login" {
		t.Fatal("unreserved AuthParams are not sent")
	}
	// No code path of the package uses the password or implicit grants.
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"PasswordCredentialsToken", `"password"`, `"token"`, "id_token token"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s mentions %s", f, bad)
			}
		}
	}
}

// The provider's refresh tokens rotate; a replayed one is
// invalid_grant, surfaced as a typed error, and the family is revoked.
func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, envOpts{})
	res, err := e.login(t, "")
	if err != nil {
		t.Fatal(err)
	}
	old := *res.Token
	old.Expiry = time.Now().Add(-time.Minute)
	t1, err := e.flow.TokenSource(t.Context(), &old).Token()
	if err != nil {
		t.Fatal(err)
	}
	if t1.RefreshToken == "" || t1.RefreshToken == old.RefreshToken {
		t.Fatal("refresh token not rotated")
	}
	_, err = e.flow.TokenSource(t.Context(), &old).Token()
	var re *oauth2.RetrieveError
	if !errors.Is(err, oauth.ErrExchange) || !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("replay err = %v, want ErrExchange with invalid_grant", err)
	}
	rotated := *t1
	rotated.Expiry = time.Now().Add(-time.Minute)
	if _, err := e.flow.TokenSource(t.Context(), &rotated).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("family's active token still usable after reuse: %v", err)
	}
}

// Every id_token check of OIDC Core §3.1.3.7.
func TestIDTokenChecksEveryClaim(t *testing.T) {
	cases := []struct {
		name  string
		mis   oauthtest.Misbehavior
		prov  func(*oauth.Provider)
		check string
	}{
		{"O8_iss_exact", oauthtest.Misbehavior{WrongIssuer: true}, nil, "iss"},
		{"O8_S24_aud_not_client_id", oauthtest.Misbehavior{WrongAudience: true}, nil, "aud"},
		{"O8_azp_required_with_several_audiences", oauthtest.Misbehavior{ExtraAudience: true}, nil, "azp"},
		{"O8_azp_other_client", oauthtest.Misbehavior{WrongAzp: true}, nil, "azp"},
		{"O8_S24_expired", oauthtest.Misbehavior{Expired: true}, nil, "exp"},
		{"O8_iat_in_future", oauthtest.Misbehavior{IssuedInFuture: true}, nil, "iat"},
		{"O8_S24_nonce_mismatch", oauthtest.Misbehavior{WrongNonce: true}, nil, "nonce"},
		{"O8_nonce_missing", oauthtest.Misbehavior{OmitNonce: true}, nil, "nonce"},
		{"O8_bad_signature", oauthtest.Misbehavior{BadSignature: true}, nil, "signature"},
		{"O8_S24_hs256_with_client_secret_rs256_configured", oauthtest.Misbehavior{HS256ClientSecret: true}, func(p *oauth.Provider) { p.IDTokenAlgs = []string{"RS256"} }, "alg"},
		{"O8_alg_none", oauthtest.Misbehavior{AlgNone: true}, nil, "alg"},
		{"O8_alg_not_configured", oauthtest.Misbehavior{}, func(p *oauth.Provider) { p.IDTokenAlgs = []string{"RS256"} }, "alg"},
		{"O8_at_hash_mismatch", oauthtest.Misbehavior{WrongAtHash: true}, nil, "at_hash"},
		{"O8_auth_time_with_max_age", oauthtest.Misbehavior{StaleAuthTime: true}, func(p *oauth.Provider) { p.MaxAge = time.Hour }, "auth_time"},
		{"O8_id_token_missing", oauthtest.Misbehavior{OmitIDToken: true}, nil, "missing"},
		{"O7_access_token_typ_as_id_token", oauthtest.Misbehavior{IDTokenTyp: "at+jwt"}, nil, "typ"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{provider: c.prov})
			e.fake.SetMisbehavior(c.mis)
			_, err := e.login(t, "")
			wantIDTokenCheck(t, err, c.check)
		})
	}
	t.Run("stale_auth_time_ok_without_max_age", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		e.fake.SetMisbehavior(oauthtest.Misbehavior{StaleAuthTime: true})
		if _, err := e.login(t, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("max_age_sent", func(t *testing.T) {
		e := newEnv(t, envOpts{provider: func(p *oauth.Provider) { p.MaxAge = 5 * time.Minute }})
		authURL, _ := e.begin(t, "")
		if authURL.Query().Get("max_age") != "300" {
			t.Fatalf("max_age = %q", authURL.Query().Get("max_age"))
		}
		if _, err := e.login(t, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("userinfo_sub_mismatch", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		e.fake.SetMisbehavior(oauthtest.Misbehavior{UserInfoSubject: "someone-else"})
		if _, err := e.login(t, ""); !errors.Is(err, oauth.ErrUserInfo) {
			t.Fatalf("err = %v, want ErrUserInfo", err)
		}
	})
}

// Provider error responses become typed errors, after the state check.
func TestProviderErrorResponse(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.fake.SetMisbehavior(oauthtest.Misbehavior{AuthorizeError: "access_denied"})
	_, err := e.login(t, "")
	var pe *oauth.ProviderError
	if !errors.As(err, &pe) || pe.Code != "access_denied" || !errors.Is(err, oauth.ErrProvider) {
		t.Fatalf("err = %v, want ProviderError access_denied", err)
	}
	// An error response with a forged state is a state failure first.
	authURL, ck := e.begin(t, "")
	cb, _ := e.fake.Authorize(authURL.String())
	q := cb.Query()
	q.Set("state", "forged")
	cb.RawQuery = q.Encode()
	if _, _, err := e.callback(t, cb.String(), ck); !errors.Is(err, oauth.ErrState) {
		t.Fatalf("err = %v, want ErrState", err)
	}
}

func TestCallbackMalformed(t *testing.T) {
	e := newEnv(t, envOpts{})
	authURL, ck := e.begin(t, "")
	cb, err := e.fake.Authorize(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{
		"repeated_code":  cb.RawQuery + "&code=other",
		"repeated_state": cb.RawQuery + "&state=other",
		"repeated_iss":   cb.RawQuery + "&iss=" + url.QueryEscape(e.fake.Issuer()),
		"code_and_error": cb.RawQuery + "&error=access_denied",
		"bad_escape":     cb.RawQuery + "&x=%zz",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := e.callback(t, redirectURL+"?"+raw, ck); !errors.Is(err, oauth.ErrCallback) {
				t.Fatalf("err = %v, want ErrCallback", err)
			}
		})
	}
}

func TestStateCookieAttributes(t *testing.T) {
	e := newEnv(t, envOpts{})
	long := "/" + strings.Repeat("a", 1023)
	_, ck := e.begin(t, long)
	if ck.Name != "__Host-authkit-oauth-fake" || !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" ||
		ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != 600 {
		t.Fatalf("cookie attributes: %+v", ck)
	}
	if n := len(ck.String()); n > 2048 {
		t.Fatalf("Set-Cookie is %d bytes with a maximal return_to, want well under 4 KiB", n)
	}
	res, err := e.loginWith(t, long)
	if err != nil || res.ReturnTo != long {
		t.Fatalf("ReturnTo = %v, %v", res, err)
	}
}

// laxStore ignores expiry (a store with coarse or lagging TTLs).
type laxStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (l *laxStore) Put(_ context.Context, purpose, key string, data []byte, _ time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[purpose+"\x00"+key] = data
	return nil
}

func (l *laxStore) Take(_ context.Context, purpose, key string) ([]byte, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	data, ok := l.m[purpose+"\x00"+key]
	delete(l.m, purpose+"\x00"+key)
	return data, ok, nil
}

// With an RS256 provider, an id_token HMAC-signed with the client
// secret (the classic alg confusion) is refused before any key is used,
// and a genuine RS256 token from the same provider is accepted.
func TestHS256WithClientSecretOnRS256Provider(t *testing.T) {
	e := newEnv(t, envOpts{fakeCfg: func(c *oauthtest.ProviderConfig) { c.Alg = "RS256" }})
	if _, err := e.login(t, ""); err != nil {
		t.Fatalf("genuine RS256 login: %v", err)
	}
	e.fake.SetMisbehavior(oauthtest.Misbehavior{HS256ClientSecret: true})
	_, err := e.login(t, "")
	wantIDTokenCheck(t, err, "alg")
}
