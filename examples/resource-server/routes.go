package main

import (
	"encoding/json"
	"log"
	"net/http"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/rbac"
)

// routes protects the API with authkit's middleware: RequireAuth verifies
// the bearer token against the issuer's published keys, RequirePermission
// checks this API's own policy over the token's roles.
func routes(v *jwt.Verifier, authz *rbac.Authorizer) (http.Handler, error) {
	authn, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: v})
	if err != nil {
		return nil, err
	}
	denied := func(r *http.Request, err error) {
		log.Printf("denied: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /hello", authn.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.FromContext(r.Context())
		writeJSON(w, map[string]any{"hello": p.Subject, "roles": p.Roles, "mfa": p.MFA})
	})))
	mux.Handle("GET /reports", authn.RequireAuth(middleware.RequirePermission(authz, "reports:read", denied)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]any{"reports": []string{"2026-q3", "2026-q4"}})
		}))))
	return middleware.SecureHeaders(mux), nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
