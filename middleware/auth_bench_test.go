package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/rbac"
)

// BenchmarkAuth measures, in one run, the bare handler, the ES256 verify call
// alone and the middleware chains: overhead = chain - verify_only - bare.
func BenchmarkAuth(b *testing.B) {
	iss, v, a := newAuthFixtureV(b)
	tok, _, err := iss.Issue(context.Background(), jwt.AccessTokenRequest{Subject: "u1", Roles: []string{"admin"}})
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
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	run := func(b *testing.B, h http.Handler) {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: "access_token", Value: tok})
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
		if w.Code != 204 {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, bare) })
	b.Run("verify_only", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RequireAuth_ES256_cookie", func(b *testing.B) { run(b, a.RequireAuth(bare)) })
	b.Run("RequireAuth+RequirePermission", func(b *testing.B) {
		run(b, a.RequireAuth(middleware.RequirePermission(authz, "admin:stats", nil)(bare)))
	})
}
