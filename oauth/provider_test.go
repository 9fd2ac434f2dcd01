package oauth_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/oauth"
)

func TestDiscover(t *testing.T) {
	e := newEnv(t, envOpts{noStart: true})
	p, err := oauth.Discover(t.Context(), oauth.OIDCConfig{Issuer: e.fake.Issuer(), ClientID: e.fake.ClientID(),
		ClientSecret: e.fake.ClientSecret(), RedirectURL: redirectURL})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "oidc" || p.Issuer != e.fake.Issuer() || p.JWKSURL != e.fake.Issuer()+"/jwks" ||
		!slices.Equal(p.IDTokenAlgs, []string{"ES256"}) || !p.IssParameterSupported || !p.FetchUserInfo ||
		!slices.Equal(p.Scopes, []string{"openid", "email", "profile"}) {
		t.Fatalf("discovered provider %+v", p)
	}
	flow, err := oauth.New(oauth.Config{Provider: p, CookieKey: testCookieKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := flow.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer flow.Close()
	e.flow = flow
	res, err := e.login(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Identity.Subject != "user-1" {
		t.Fatalf("identity %+v", res.Identity)
	}
}

func TestDiscoverRejects(t *testing.T) {
	serve := func(t *testing.T, doc map[string]any) string {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := map[string]any{"issuer": srv.URL, "authorization_endpoint": srv.URL + "/a", "token_endpoint": srv.URL + "/t", "jwks_uri": srv.URL + "/k"}
			for k, v := range doc {
				d[k] = v
			}
			_ = json.NewEncoder(w).Encode(d)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	cases := map[string]map[string]any{
		"O3_issuer_differs":     {"issuer": "https://other.example"},
		"no_code_response_type": {"response_types_supported": []string{"token"}},
		"O4_no_s256":            {"code_challenge_methods_supported": []string{"plain"}},
		"only_hs256":            {"id_token_signing_alg_values_supported": []string{"HS256"}},
		"only_none":             {"id_token_signing_alg_values_supported": []string{"none"}},
		"http_remote_endpoint":  {"token_endpoint": "http://idp.example/t"},
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			iss := serve(t, doc)
			_, err := oauth.Discover(t.Context(), oauth.OIDCConfig{Issuer: iss, ClientID: "c", RedirectURL: redirectURL})
			if !errors.Is(err, oauth.ErrDiscovery) {
				t.Fatalf("err = %v, want ErrDiscovery", err)
			}
		})
	}
	t.Run("http_issuer_not_loopback", func(t *testing.T) {
		_, err := oauth.Discover(t.Context(), oauth.OIDCConfig{Issuer: "http://idp.example", ClientID: "c", RedirectURL: redirectURL})
		if !errors.Is(err, oauth.ErrInvalidConfig) {
			t.Fatalf("err = %v, want ErrInvalidConfig", err)
		}
	})
	t.Run("requested_alg_not_advertised", func(t *testing.T) {
		iss := serve(t, map[string]any{"id_token_signing_alg_values_supported": []string{"RS256"}})
		_, err := oauth.Discover(t.Context(), oauth.OIDCConfig{Issuer: iss, ClientID: "c", RedirectURL: redirectURL, IDTokenAlgs: []string{"ES256"}})
		if !errors.Is(err, oauth.ErrDiscovery) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestProviderValidation(t *testing.T) {
	base := func() *oauth.Provider {
		return oauth.Google(oauth.ClientConfig{ClientID: "id", ClientSecret: "s", RedirectURL: "https://app.example.com/cb"})
	}
	cases := map[string]func(*oauth.Provider){
		"no_name":                   func(p *oauth.Provider) { p.Name = "" },
		"bad_name":                  func(p *oauth.Provider) { p.Name = "a b" },
		"no_issuer":                 func(p *oauth.Provider) { p.Issuer = "" },
		"no_client":                 func(p *oauth.Provider) { p.ClientID = "" },
		"http_auth_url":             func(p *oauth.Provider) { p.Endpoint.AuthURL = "http://accounts.example/a" },
		"no_openid_scope":           func(p *oauth.Provider) { p.Scopes = []string{"email"} },
		"hs256":                     func(p *oauth.Provider) { p.IDTokenAlgs = []string{"HS256"} },
		"none":                      func(p *oauth.Provider) { p.IDTokenAlgs = []string{"none"} },
		"neither_jwks_nor_identify": func(p *oauth.Provider) { p.JWKSURL = "" },
		"negative_max_age":          func(p *oauth.Provider) { p.MaxAge = -1 },
	}
	for name, mut := range cases {
		p := base()
		mut(p)
		if _, err := oauth.New(oauth.Config{Provider: p, CookieKey: testCookieKey}); !errors.Is(err, oauth.ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
	}
	for name, cfg := range map[string]oauth.Config{
		"no_provider":     {CookieKey: testCookieKey},
		"short_key":       {Provider: base(), CookieKey: testCookieKey[:16]},
		"no_key_no_store": {Provider: base()},
		"key_and_store":   {Provider: base(), CookieKey: testCookieKey, Tickets: newMemStates(t)},
		"ttl_too_long":    {Provider: base(), CookieKey: testCookieKey, TTL: 2 * 3600e9},
		"leeway_too_long": {Provider: base(), CookieKey: testCookieKey, Leeway: 61e9},
		"bad_cookie_name": {Provider: base(), CookieKey: testCookieKey, CookieName: "a;b"},
	} {
		if _, err := oauth.New(cfg); !errors.Is(err, oauth.ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := oauth.New(oauth.Config{Provider: base(), CookieKey: testCookieKey}); err != nil {
		t.Fatalf("Google: %v", err)
	}
}

// fakeGitHub serves GitHub's token endpoint and user APIs.
func fakeGitHub(t *testing.T, emails []map[string]any) *httptest.Server {
	mux := http.NewServeMux()
	var mu sync.Mutex
	verifiers := map[string]string{}
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		defer mu.Unlock()
		if r.PostForm.Get("code") != "gh-code" || r.PostForm.Get("client_secret") != "gh-secret" || r.PostForm.Get("code_verifier") == "" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"error":"bad_verification_code"}`))
			return
		}
		verifiers["gh-token"] = r.PostForm.Get("code_verifier")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"gh-token","token_type":"bearer","scope":"read:user,user:email"}`))
	})
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer gh-token" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /api/user", auth(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"id": 583231, "login": "octocat", "name": "The Octocat",
			"email": "public@example.com", "avatar_url": "https://avatars.example/u/583231"})
	}))
	mux.HandleFunc("GET /api/user/emails", auth(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(emails)
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestGitHub(t *testing.T) {
	cases := []struct {
		name         string
		emails       []map[string]any
		wantEmail    string
		wantVerified bool
	}{
		{"primary_verified", []map[string]any{
			{"email": "other@example.com", "primary": false, "verified": true},
			{"email": "octo@example.com", "primary": true, "verified": true}}, "octo@example.com", true},
		{"primary_unverified", []map[string]any{
			{"email": "octo@example.com", "primary": true, "verified": false},
			{"email": "other@example.com", "primary": false, "verified": true}}, "public@example.com", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gh := fakeGitHub(t, c.emails)
			p := oauth.GitHub(oauth.GitHubConfig{
				ClientConfig: oauth.ClientConfig{ClientID: "gh-id", ClientSecret: "gh-secret", RedirectURL: "https://app.example.com/gh/cb"},
				AuthURL:      gh.URL + "/login/oauth/authorize", TokenURL: gh.URL + "/login/oauth/access_token", APIURL: gh.URL + "/api",
			})
			flow, err := oauth.New(oauth.Config{Provider: p, CookieKey: testCookieKey})
			if err != nil {
				t.Fatal(err)
			}
			e := &env{flow: flow, p: p}
			authURL, ck := e.begin(t, "/")
			q := authURL.Query()
			if q.Get("code_challenge_method") != "S256" || q.Has("nonce") || q.Get("scope") != "read:user user:email" {
				t.Fatalf("authorize query %v", q)
			}
			cb := "https://app.example.com/gh/cb?" + url.Values{"code": {"gh-code"}, "state": {q.Get("state")}}.Encode()
			res, _, err := e.callback(t, cb, ck)
			if err != nil {
				t.Fatal(err)
			}
			id := res.Identity
			if id.Issuer != "https://github.com" || id.Subject != "583231" || id.Email != c.wantEmail ||
				id.EmailVerified != c.wantVerified || id.Name != "The Octocat" || id.Picture != "https://avatars.example/u/583231" {
				t.Fatalf("identity %+v", id)
			}
		})
	}
}

// Many concurrent logins through one Flow (run with -race).
func TestConcurrentLogins(t *testing.T) {
	for _, mode := range []string{"cookie", "store"} {
		t.Run(mode, func(t *testing.T) {
			o := envOpts{}
			if mode == "store" {
				o.store = newMemStates(t)
			}
			e := newEnv(t, o)
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := e.login(t, "/x"); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
		})
	}
}

// The provider rotates its signing key: the flow's JWKS (jwt's remote key
// set) refetches on the unknown kid, at most once per minute (the fetch in
// Start counts).
func TestKeyRotation(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func() { mu.Lock(); now = now.Add(61 * time.Second); mu.Unlock() }
	e := newEnv(t, envOpts{cfg: func(c *oauth.Config) { c.Now = clock }})
	if _, err := e.login(t, ""); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		if err := e.fake.RotateKey(); err != nil {
			t.Fatal(err)
		}
		_, err := e.login(t, "")
		wantIDTokenCheck(t, err, "signature") // refetch rate-limited
		advance()
		if _, err := e.login(t, ""); err != nil {
			t.Fatalf("round %d, after the refetch interval: %v", round, err)
		}
	}
}

// TestDiscoverRefusesRedirectToAnotherHost: the issuer's discovery document
// must come from the issuer's host; a redirect elsewhere (a document naming
// the right issuer but the attacker's jwks_uri) is refused unread.
func TestDiscoverRefusesRedirectToAnotherHost(t *testing.T) {
	var issuer string
	var evilHits int
	var mu sync.Mutex
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		evilHits++
		mu.Unlock()
		base := "http://" + r.Host
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "authorization_endpoint": base + "/a",
			"token_endpoint": base + "/t", "jwks_uri": base + "/k"})
	}))
	defer evil.Close()
	srv := httptest.NewServer(http.RedirectHandler(evil.URL+"/.well-known/openid-configuration", http.StatusFound))
	defer srv.Close()
	issuer = srv.URL
	for name, hc := range map[string]*http.Client{"default client": nil, "caller's client": {}} {
		_, err := oauth.Discover(t.Context(), oauth.OIDCConfig{Issuer: issuer, ClientID: "c", RedirectURL: redirectURL, HTTPClient: hc})
		if !errors.Is(err, oauth.ErrDiscovery) {
			t.Errorf("%s: err %v, want ErrDiscovery", name, err)
		}
	}
	if evilHits != 0 {
		t.Errorf("redirect target fetched %d times", evilHits)
	}
}
