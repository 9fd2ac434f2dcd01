package main

import (
	"encoding/json"
	"log"
	"net/http"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/rbac"
)

// routes protects the API with authkit's middleware: RequireAuth verifies
// the bearer token against the issuer's published keys, RequirePermission
// checks this API's own policy over the token's roles, and StepUp demands a
// stronger or more recent sign-in on two routes (RFC 9470): GET /vault
// needs one made with a second factor (acr "mfa" or stronger), GET
// /reports/export one from the last five minutes. A token that falls short
// gets 401 with WWW-Authenticate: Bearer
// error="insufficient_user_authentication" and acr_values or max_age; the
// client signs in again at the issuer and retries with the new token.
func routes(v *jwt.Verifier, authz *rbac.Authorizer) (http.Handler, error) {
	authn, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: v})
	if err != nil {
		return nil, err
	}
	denied := func(r *http.Request, err error) {
		log.Printf("denied: %v", err)
	}
	stepUp, err := middleware.NewStepUp(middleware.StepUpConfig{})
	if err != nil {
		return nil, err
	}
	strong, err := stepUp.Require(middleware.Requirement{ACR: middleware.ACRMFA})
	if err != nil {
		return nil, err
	}
	recent, err := stepUp.Require(middleware.Requirement{MaxAge: 5 * time.Minute})
	if err != nil {
		return nil, err
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
	mux.Handle("GET /vault", authn.RequireAuth(strong(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"secrets": []string{"launch-codes"}})
	}))))
	mux.Handle("GET /reports/export", authn.RequireAuth(recent(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"export": "2026-q4.csv"})
	}))))
	return middleware.SecureHeaders(mux), nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
