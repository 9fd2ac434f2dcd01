package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	akjwt "github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/rbac"
)

// BenchmarkMiddleware: one authenticated request ("Authorization: Bearer"
// access token, role viewer, permission posts:read) through
// Authenticator.RequireAuth + RequirePermission, beside the unwrapped handler
// and the signature check alone, in one run. docs/PERF.md's target is on what the
// guards add beyond the signature check: authkit − bare − raw ≤ 3 µs and
// ≤ 25 allocs. impl=verify (bare handler plus Verifier.Verify, no
// middleware) splits that into token parsing and middleware work.
func BenchmarkMiddleware(b *testing.B) {
	ctx := context.Background()
	p := newOurRBAC(b)
	authz, err := rbac.NewAuthorizer(p)
	if err != nil {
		b.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for _, c := range jwtCases(b) {
		if c.alg != akjwt.HS256 && c.alg != akjwt.ES256 {
			continue
		}
		a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: c.v})
		if err != nil {
			b.Fatal(err)
		}
		guarded := a.RequireAuth(middleware.RequirePermission(authz, "posts:read", nil)(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if pr, ok := middleware.FromContext(r.Context()); !ok || pr.Subject != "user-1" {
					b.Fatal("no principal")
				}
				handler(w, r)
			})))
		bearer := "Bearer " + c.tok
		serve := func(b *testing.B, h http.Handler, extra func() bool) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", "http://api.example.com/posts/1", nil)
				r.Header.Set("Authorization", bearer)
				w := httptest.NewRecorder()
				if extra != nil && !extra() {
					b.Fatal("signature check failed")
				}
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		}
		// The guards must deny a role without the permission, or the
		// benchmark would time a no-op.
		if tok, _, err := c.iss.Issue(ctx, akjwt.AccessTokenRequest{Subject: "user-2", Roles: []string{"nobody"}}); err == nil {
			r := httptest.NewRequest("GET", "http://api.example.com/posts/1", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			guarded.ServeHTTP(w, r)
			if w.Code != http.StatusForbidden {
				b.Fatalf("role without posts:read: status %d, want 403", w.Code)
			}
		} else {
			b.Fatal(err)
		}
		b.Run("alg="+string(c.alg)+"/impl=bare", func(b *testing.B) { serve(b, handler, nil) })
		b.Run("alg="+string(c.alg)+"/impl=raw", func(b *testing.B) { serve(b, handler, func() bool { return rawVerify(c) }) })
		b.Run("alg="+string(c.alg)+"/impl=verify", func(b *testing.B) {
			serve(b, handler, func() bool { _, err := c.v.Verify(ctx, c.tok); return err == nil })
		})
		b.Run("alg="+string(c.alg)+"/impl=authkit", func(b *testing.B) { serve(b, guarded, nil) })
	}
}
