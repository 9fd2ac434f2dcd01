package main

import (
	"errors"
	"net/http"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
)

// apiRoutes serves /api/me and /api/admin/stats behind the access-token
// guard: a token from "Authorization: Bearer" or the __Host-access_token
// cookie, then, for the admin route, the admin:stats permission.
func (a *App) apiRoutes() (http.Handler, error) {
	authn, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: a.verifier})
	if err != nil {
		return nil, err
	}
	requireStats := middleware.RequirePermission(a.authz, permAdminStats, a.auditDenied)
	mux := http.NewServeMux()
	mux.Handle("GET /api/me", authn.RequireAuth(http.HandlerFunc(a.handleMe)))
	mux.Handle("GET /api/admin/stats", authn.RequireAuth(requireStats(http.HandlerFunc(a.handleStats))))
	// Step-up routes: a sign-in from the last five minutes (RFC 9470
	// challenge otherwise; see stepup.go).
	recent, err := a.stepUp.Require(sensitive)
	if err != nil {
		return nil, err
	}
	mux.Handle("POST /api/account/email", authn.RequireAuth(recent(http.HandlerFunc(a.handleChangeEmail))))
	mux.Handle("POST /api/account/delete", authn.RequireAuth(recent(http.HandlerFunc(a.handleDeleteAccount))))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		middleware.WriteError(w, http.StatusNotFound, "not_found")
	})
	// The token cookie is SameSite=Lax; unsafe methods are also refused
	// cross-origin.
	return middleware.SecureHeaders(http.NewCrossOriginProtection().Handler(mux)), nil
}

// handleMe answers GET /api/me with the signed-in user, read fresh from the
// user store (so a role change shows at once).
func (a *App) handleMe(w http.ResponseWriter, r *http.Request) {
	p, ok := middleware.FromContext(r.Context())
	if !ok {
		middleware.WriteError(w, http.StatusUnauthorized, "unauthenticated")
		return
	}
	u, found, err := a.accounts.UserByID(r.Context(), p.Subject)
	if err != nil {
		a.unavailable(w, "api/me: user store", err)
		return
	}
	if !found || u.Disabled {
		middleware.WriteError(w, http.StatusUnauthorized, "unauthenticated")
		return
	}
	writeJSON(w, http.StatusOK, userJSON{ID: u.ID, Email: u.Email, Roles: nonNil(u.Roles)})
}

// auditDenied records a permission denial (ASVS 16.3.2).
func (a *App) auditDenied(r *http.Request, err error) {
	pe, ok := errors.AsType[*middleware.PermissionError](err)
	if !ok {
		return
	}
	a.audit.Emit(r.Context(), authkit.Event{Type: authkit.EventAccessDenied, UserID: pe.Principal.Subject, IP: a.ip(r),
		UserAgent: r.UserAgent(), Outcome: authkit.OutcomeFailure, Reason: pe.Permission})
}

// handleStats answers GET /api/admin/stats.
func (a *App) handleStats(w http.ResponseWriter, r *http.Request) {
	s, err := a.stats(r)
	if err != nil {
		a.unavailable(w, "api/admin/stats: user store", err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// unavailable answers a store failure the way the /auth endpoints do: 503
// unavailable with Retry-After, logged, never echoed (500 is for bugs).
func (a *App) unavailable(w http.ResponseWriter, what string, err error) {
	a.log.Error(what, "err", err)
	w.Header().Set("Retry-After", retryAfterSeconds)
	middleware.WriteError(w, http.StatusServiceUnavailable, middleware.CodeUnavailable)
}

// apiFail answers an unexpected error of a JSON endpoint: 500
// internal_error for a bug (isBug), otherwise a failing dependency: 503.
func (a *App) apiFail(w http.ResponseWriter, what string, err error) {
	if isBug(err) {
		a.log.Error(what, "err", err, "bug", true)
		middleware.WriteError(w, http.StatusInternalServerError, middleware.CodeInternal)
		return
	}
	a.unavailable(w, what, err)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
