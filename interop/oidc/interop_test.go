package oidcinterop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/store/memstore"
)

const (
	clientID     = "authkit-web"
	clientSecret = "interop-secret-0123456789"
)

type idp struct {
	srv *httptest.Server
	st  *storage
}

// startIDP runs zitadel's OpenID provider with the in-memory storage and a
// tiny login page, on plain http loopback (allowed for loopback issuers).
func startIDP(t *testing.T, alg string, redirectURIs []string) *idp {
	t.Helper()
	var key crypto.Signer
	var err error
	switch alg {
	case "RS256":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	st := &storage{
		key: &signingKey{id: "k-" + newID()[:8], alg: jose.SignatureAlgorithm(alg), key: key},
		client: &client{id: clientID, secret: clientSecret, redirectURIs: redirectURIs, jwtAccess: true,
			loginURL: func(id string) string { return "/login?authRequestID=" + url.QueryEscape(id) }},
		users: map[string]*user{
			"alice": {id: "alice", password: "alice-pw", email: "alice@example.com", name: "Alice", emailVerified: true},
			"bob":   {id: "bob", password: "bob-pw", email: "bob@example.com", name: "Bob", emailVerified: false},
		},
		requests: map[string]*authRequest{}, codes: map[string]string{}, tokens: map[string]accessToken{},
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var cryptoKey [32]byte
	_, _ = rand.Read(cryptoKey[:])
	prov, err := op.NewProvider(&op.Config{CryptoKey: cryptoKey, CodeMethodS256: true, AuthMethodPost: true},
		st, op.StaticIssuer(srv.URL), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "login form for request %s", r.URL.Query().Get("authRequestID"))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("authRequestID")
		if err := st.login(id, r.FormValue("username"), r.FormValue("password")); err != nil {
			http.Error(w, "invalid login", http.StatusForbidden)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(prov)(r.Context(), id), http.StatusFound)
	})
	mux.Handle("/", prov)
	return &idp{srv: srv, st: st}
}

// app is a relying party built on authkit's oauth.Flow, served over TLS
// so that the browser's cookie jar keeps the Secure __Host- cookie.
type app struct {
	srv  *httptest.Server
	flow *oauth.Flow
}

func startApp(t *testing.T, newFlow func(redirectURL string) *oauth.Flow) *app {
	t.Helper()
	a := &app{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		if err := a.flow.Begin(w, r, r.URL.Query().Get("return_to")); err != nil {
			http.Error(w, "begin failed", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		res, err := a.flow.Callback(w, r)
		if err != nil {
			w.Header().Set("X-Test-Error", err.Error()) // test app only: real handlers stay vague
			http.Error(w, "sign-in failed", http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"iss": res.Identity.Issuer, "sub": res.Identity.Subject,
			"email": res.Identity.Email, "email_verified": res.Identity.EmailVerified, "name": res.Identity.Name,
			"return_to": res.ReturnTo})
	})
	a.srv = httptest.NewTLSServer(mux)
	t.Cleanup(a.srv.Close)
	a.flow = newFlow(a.srv.URL + "/callback")
	if err := a.flow.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.flow.Close() })
	return a
}

func (a *app) browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Transport: a.srv.Client().Transport}
}

// signIn drives Begin → zitadel /authorize → login form → zitadel
// /callback → the app's Callback, following redirects like a browser.
func signIn(t *testing.T, b *http.Client, a *app, i *idp, username, password string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := b.Get(a.srv.URL + "/start?return_to=" + url.QueryEscape("/welcome"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		t.Fatalf("expected the provider's login page, got %d at %s", resp.StatusCode, resp.Request.URL)
	}
	reqID := resp.Request.URL.Query().Get("authRequestID")
	resp, err = b.PostForm(i.srv.URL+"/login", url.Values{"authRequestID": {reqID}, "username": {username}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
	}
	return resp, body
}

func newCookieFlow(t *testing.T, issuer string) func(string) *oauth.Flow {
	return func(redirectURL string) *oauth.Flow {
		p, err := oauth.Discover(t.Context(), oauth.OIDCConfig{Issuer: issuer, ClientID: clientID,
			ClientSecret: clientSecret, RedirectURL: redirectURL})
		if err != nil {
			t.Fatal(err)
		}
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		f, err := oauth.New(oauth.Config{Provider: p, CookieKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
}

func TestEndToEnd(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		for _, mode := range []string{"cookie", "store"} {
			t.Run(alg+"/"+mode, func(t *testing.T) {
				var i *idp
				redirects := []string{}
				newFlow := func(redirectURL string) *oauth.Flow {
					i.st.client.redirectURIs = append(redirects, redirectURL)
					if mode == "cookie" {
						return newCookieFlow(t, i.srv.URL)(redirectURL)
					}
					p, err := oauth.Discover(t.Context(), oauth.OIDCConfig{Issuer: i.srv.URL, ClientID: clientID,
						ClientSecret: clientSecret, RedirectURL: redirectURL})
					if err != nil {
						t.Fatal(err)
					}
					st, err := memstore.New(memstore.Config{})
					if err != nil {
						t.Fatal(err)
					}
					f, err := oauth.New(oauth.Config{Provider: p, Tickets: st.Tickets()})
					if err != nil {
						t.Fatal(err)
					}
					return f
				}
				i = startIDP(t, alg, nil)
				a := startApp(t, newFlow)
				if got := a.flow.Provider().IDTokenAlgs; !slices.Equal(got, []string{alg}) {
					t.Fatalf("discovered algs %v", got)
				}

				b := a.browser(t)
				resp, id := signIn(t, b, a, i, "alice", "alice-pw")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("callback failed: %d %s", resp.StatusCode, resp.Header.Get("X-Test-Error"))
				}
				want := map[string]any{"iss": i.srv.URL, "sub": "alice", "email": "alice@example.com",
					"email_verified": true, "name": "Alice", "return_to": "/welcome"}
				for k, v := range want {
					if id[k] != v {
						t.Fatalf("identity[%s] = %v, want %v (all: %v)", k, id[k], v, id)
					}
				}

				// The same browser replays the callback: refused.
				replay, err := b.Get(resp.Request.URL.String())
				if err != nil {
					t.Fatal(err)
				}
				replay.Body.Close()
				if replay.StatusCode != http.StatusBadRequest || !strings.Contains(replay.Header.Get("X-Test-Error"), "state") {
					t.Fatalf("replayed callback: %d %q", replay.StatusCode, replay.Header.Get("X-Test-Error"))
				}

				// Unverified email at the provider is reported as such.
				_, bob := signIn(t, a.browser(t), a, i, "bob", "bob-pw")
				if bob["sub"] != "bob" || bob["email_verified"] != false {
					t.Fatalf("bob = %v", bob)
				}
			})
		}
	}
}

// A callback URL produced in one browser cannot be completed in
// another (login CSRF), and a wrong password never reaches the callback.
func TestCallbackBoundToBrowser(t *testing.T) {
	i := startIDP(t, "RS256", nil)
	a := startApp(t, func(redirectURL string) *oauth.Flow {
		i.st.client.redirectURIs = []string{redirectURL}
		return newCookieFlow(t, i.srv.URL)(redirectURL)
	})
	attacker := a.browser(t)
	noFollow := *attacker
	noFollow.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), a.srv.URL+"/callback") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := noFollow.Get(a.srv.URL + "/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reqID := resp.Request.URL.Query().Get("authRequestID")
	resp, err = noFollow.PostForm(i.srv.URL+"/login", url.Values{"authRequestID": {reqID}, "username": {"alice"}, "password": {"alice-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb := resp.Header.Get("Location")
	if !strings.HasPrefix(cb, a.srv.URL+"/callback?") {
		t.Fatalf("no callback redirect: %d %q", resp.StatusCode, cb)
	}
	victim := a.browser(t)
	if _, err := victim.Get(a.srv.URL + "/start"); err != nil { // the victim has a transaction of its own
		t.Fatal(err)
	}
	r, err := victim.Get(cb)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Header.Get("X-Test-Error"), "state") {
		t.Fatalf("foreign callback accepted: %d %q", r.StatusCode, r.Header.Get("X-Test-Error"))
	}

	wrong, _ := signIn(t, a.browser(t), a, i, "alice", "nope")
	if wrong.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong password: %d", wrong.StatusCode)
	}
}

func TestClientCredentials(t *testing.T) {
	i := startIDP(t, "RS256", []string{"https://unused.example/cb"})
	ctx := t.Context()
	p, err := oauth.Discover(ctx, oauth.OIDCConfig{Issuer: i.srv.URL, ClientID: clientID, ClientSecret: clientSecret,
		RedirectURL: "https://unused.example/cb"})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := oauth.NewClientCredentials(ctx, oauth.ClientCredentialsConfig{ClientID: clientID, ClientSecret: clientSecret,
		TokenURL: p.Endpoint.TokenURL, Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	t1, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	t2, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if t1.AccessToken == "" || t1.AccessToken != t2.AccessToken || !strings.EqualFold(t1.TokenType, "bearer") {
		t.Fatalf("tokens %+v %+v", t1, t2)
	}
	// The provider issues JWT access tokens: verify one with authkit's jwt
	// remote key set against the provider's JWKS.
	rks, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: p.JWKSURL})
	if err != nil {
		t.Fatal(err)
	}
	if err := rks.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer rks.Close()
	v, err := rks.VerifySignature(ctx, t1.AccessToken, []jwt.Algorithm{jwt.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Sub string `json:"sub"`
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(v.Payload, &claims); err != nil || claims.Sub != clientID || claims.Iss != i.srv.URL {
		t.Fatalf("claims %s (%v)", v.Payload, err)
	}

	bad, err := oauth.NewClientCredentials(ctx, oauth.ClientCredentialsConfig{ClientID: clientID, ClientSecret: "wrong",
		TokenURL: p.Endpoint.TokenURL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Token(); !errors.Is(err, oauth.ErrTokenEndpoint) {
		t.Fatalf("wrong secret: %v", err)
	}
}
