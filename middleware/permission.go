package middleware

import (
	"net/http"

	"github.com/authkit-go/authkit/rbac"
)

// RequirePermission returns middleware that lets a request through only when
// the Principal put in the context by [Authenticator.RequireAuth] (which must
// run first) holds perm under authz's current policy (deny by default, ASVS
// 8.2.1). A missing Principal answers 401 {"error":"unauthenticated"}; a
// denial, or any error from the authorizer, answers 403 {"error":"forbidden"}.
// onDeny, if non-nil, is called for each denial (audit hook).
func RequirePermission(authz *rbac.Authorizer, perm string, onDeny func(r *http.Request, p Principal, perm string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				w.Header().Set("WWW-Authenticate", "Bearer")
				WriteError(w, http.StatusUnauthorized, CodeUnauthenticated)
				return
			}
			if err := authz.Authorize(r.Context(), rbac.Subject{ID: p.Subject, Roles: p.Roles}, "", perm, nil); err != nil {
				if onDeny != nil {
					onDeny(r, p, perm)
				}
				WriteError(w, http.StatusForbidden, CodeForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
