package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/rbac"
)

// stubVerifier returns fixed claims for any token.
type stubVerifier struct{ claims jwt.Claims }

func (s stubVerifier) Verify(context.Context, string) (jwt.Claims, error) { return s.claims, nil }

// BenchmarkAuthOverhead isolates the guards' own cost beyond the signature
// check: the Authenticator's verifier is a stub returning
// precomputed claims, so the result is RequireAuth's extraction, Principal
// construction and context plumbing (and RequirePermission's check) alone.
// Compare with "bare" from the same run. PERF target: ≤3 µs, ≤25 allocs.
func BenchmarkAuthOverhead(b *testing.B) {
	claims := jwt.Claims{Issuer: "https://a.example", Subject: "u1", Audience: []string{"api"}, Roles: []string{"admin"},
		AMR: []string{"pwd", "otp"}, IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), ID: "jti"}
	a := &Authenticator{cookies: []string{AccessCookie, LegacyAccessCookie}, sources: []source{{name: SourceBearer, kind: SourceBearer}, {name: SourceCookie, kind: SourceCookie}},
		deny: defaultAuthDeny, errorFunc: defaultAuthError,
		v: stubVerifier{claims}}
	pol, err := rbac.New(rbac.Config{Roles: []rbac.Role{{Name: "admin", Permissions: []string{"admin:stats"}}}})
	if err != nil {
		b.Fatal(err)
	}
	authz, err := rbac.NewAuthorizer(pol)
	if err != nil {
		b.Fatal(err)
	}
	// A realistic ES256 access token length.
	tok := "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0." +
		"eyJhdWQiOlsiYXBpIl0sImV4cCI6MTc2NDIxNzYwMCwiaWF0IjoxNzY0MjE2NzAwLCJpc3MiOiJodHRwczovL2EuZXhhbXBsZSIsImp0aSI6IngiLCJyb2xlcyI6WyJhZG1pbiJdLCJzdWIiOiJ1MSJ9." +
		"MEUCIQDtY1dSb3rC3p2sYc3Qm3X0zvAqk7Vn0cC9t1xwQ0y1xgIgG4J8X7c1u0S7n0e2d3Yb1o5j1w0y9s8m6n5b4v3c2x1z0"
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	run := func(b *testing.B, h http.Handler, cookie bool) {
		r := httptest.NewRequest("GET", "/", nil)
		if cookie {
			r.AddCookie(&http.Cookie{Name: "session_hint", Value: "x"})
			r.AddCookie(&http.Cookie{Name: "access_token", Value: tok})
		} else {
			r.Header.Set("Authorization", "Bearer "+tok)
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
	b.Run("bare", func(b *testing.B) { run(b, bare, true) })
	// The floor for any middleware that hands a value to the handler through
	// the request context: one context node and one Request copy.
	b.Run("floor_WithContext", func(b *testing.B) {
		var next http.Handler = bare // an interface call, as in a real chain
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, &claims)))
		}), true)
	})
	b.Run("RequireAuth_cookie", func(b *testing.B) { run(b, a.RequireAuth(bare), true) })
	b.Run("RequireAuth_bearer", func(b *testing.B) { run(b, a.RequireAuth(bare), false) })
	b.Run("RequireAuth+RequirePermission_cookie", func(b *testing.B) {
		run(b, a.RequireAuth(RequirePermission(authz, "admin:stats", nil)(bare)), true)
	})
}
