package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/rbac"
	"github.com/authkit-go/authkit/session"
)

// BenchmarkAuth measures, in one run, the bare handler, the ES256 verify call
// alone, the session middleware alone and the guard chains:
//
//	token overhead   = RequireAuth_ES256_* - verify_only - bare
//	session overhead = LoadAndSave+RequireAuth_session - LoadAndSave_only
//
// The setup uses only the public APIs of jwt, session, rbac and memstore, so
// it can be copied into the bench module for the anchor comparison.
func BenchmarkAuth(b *testing.B) {
	ctx := context.Background()
	key, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	if err != nil {
		b.Fatal(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://a.example", Audience: []string{"api"}})
	if err != nil {
		b.Fatal(err)
	}
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://a.example", Audience: []string{"api"}})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := iss.Issue(ctx, jwt.AccessTokenRequest{Subject: "u1", Roles: []string{"admin"}, AMR: []string{"pwd"}})
	if err != nil {
		b.Fatal(err)
	}
	pol, err := rbac.New(rbac.Config{Roles: []rbac.Role{{Name: "admin", Permissions: []string{"admin:stats"}}}})
	if err != nil {
		b.Fatal(err)
	}
	authz, err := rbac.NewAuthorizer(pol)
	if err != nil {
		b.Fatal(err)
	}
	sessions, err := session.New(session.Config{Store: memtest.New(b, nil).Sessions()})
	if err != nil {
		b.Fatal(err)
	}
	adminRoles := []string{"admin"}
	a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: v})
	if err != nil {
		b.Fatal(err)
	}
	sa, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Sessions: sessions, Order: []middleware.Source{middleware.SourceSession},
		Roles: func(context.Context, string) ([]string, error) { return adminRoles, nil }})
	if err != nil {
		b.Fatal(err)
	}
	// A logged-in session and its cookie.
	lw := httptest.NewRecorder()
	sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Login(r.Context(), "u1"); err != nil {
			b.Fatal(err)
		}
	})).ServeHTTP(lw, httptest.NewRequest("POST", "/login", nil))
	var sc *http.Cookie
	for _, c := range lw.Result().Cookies() {
		if c.Name == session.DefaultCookieName {
			sc = c
		}
	}
	if sc == nil {
		b.Fatal("no session cookie")
	}

	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	run := func(b *testing.B, h http.Handler, c *http.Cookie, bearer string) {
		r := httptest.NewRequest("GET", "/", nil)
		if c != nil {
			r.AddCookie(c)
		}
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
		if w.Code != 204 {
			b.Fatalf("status %d", w.Code)
		}
	}
	atCookie := &http.Cookie{Name: "access_token", Value: tok}
	b.Run("bare", func(b *testing.B) { run(b, bare, atCookie, "") })
	b.Run("verify_only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RequireAuth_ES256_cookie", func(b *testing.B) { run(b, a.RequireAuth(bare), atCookie, "") })
	b.Run("RequireAuth_ES256_bearer", func(b *testing.B) { run(b, a.RequireAuth(bare), nil, tok) })
	b.Run("RequireAuth+RequirePermission", func(b *testing.B) {
		run(b, a.RequireAuth(middleware.RequirePermission(authz, "admin:stats", nil)(bare)), atCookie, "")
	})
	b.Run("LoadAndSave_only", func(b *testing.B) { run(b, sessions.LoadAndSave(bare), sc, "") })
	b.Run("LoadAndSave+RequireAuth_session", func(b *testing.B) { run(b, sessions.LoadAndSave(sa.RequireAuth(bare)), sc, "") })
	b.Run("LoadAndSave+RequireAuth_session+RequirePermission", func(b *testing.B) {
		run(b, sessions.LoadAndSave(sa.RequireAuth(middleware.RequirePermission(authz, "admin:stats", nil)(bare))), sc, "")
	})
}
