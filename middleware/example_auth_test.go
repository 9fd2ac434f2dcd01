package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/rbac"
)

// ExampleAuthenticator_RequireAuth guards an admin route: RequireAuth
// identifies the caller from a bearer token or the access_token cookie and
// answers 401 without one; RequirePermission then answers 403 unless the
// caller's roles grant the permission.
func ExampleAuthenticator_RequireAuth() {
	// Keys, issuer and verifier (normally set up once by the authkit root).
	key, _ := jwt.GenerateKey(jwt.ES256, nil)
	keys, _ := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	issuer, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://app.example", Audience: []string{"api"}})
	verifier, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://app.example", Audience: []string{"api"}})
	if err != nil {
		panic(err)
	}

	policy, err := rbac.New(rbac.Config{Roles: []rbac.Role{
		{Name: "viewer", Permissions: []string{"posts:read"}},
		{Name: "admin", Inherits: []string{"viewer"}, Permissions: []string{"admin:stats"}},
	}})
	if err != nil {
		panic(err)
	}
	authz, _ := rbac.NewAuthorizer(policy)

	authn, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{
		Verifier: verifier,
		OnDeny: func(r *http.Request, err error) {
			if ae, ok := errors.AsType[*middleware.AuthError](err); ok {
				fmt.Println("audit: 401", ae.Reason)
			}
		},
	})
	if err != nil {
		panic(err)
	}
	auditDenied := func(r *http.Request, err error) {
		if pe, ok := errors.AsType[*middleware.PermissionError](err); ok {
			fmt.Println("audit: 403", pe.Principal.Subject, pe.Permission)
		}
	}
	stats := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.FromContext(r.Context())
		fmt.Fprintf(w, "stats for %s via %s\n", p.Subject, p.Method)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /admin/stats", authn.RequireAuth(middleware.RequirePermission(authz, "admin:stats", auditDenied)(stats)))

	call := func(roles ...string) {
		r := httptest.NewRequest("GET", "/admin/stats", nil)
		if roles != nil {
			tok, _, err := issuer.Issue(context.Background(), jwt.AccessTokenRequest{Subject: "user-" + roles[0], Roles: roles})
			if err != nil {
				panic(err)
			}
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	call()         // no credentials
	call("viewer") // authenticated, not allowed
	call("admin")
	// Output:
	// audit: 401 missing
	// 401 {"error":"unauthenticated"}
	// audit: 403 user-viewer admin:stats
	// 403 {"error":"forbidden"}
	// 200 stats for user-admin via bearer
}
