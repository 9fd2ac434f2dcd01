package middleware

import (
	"context"
	"errors"
	"net/http"

	"github.com/authkit-go/authkit/rbac"
)

// CodeNotFound is the JSON error code of a 404 from [RequireObject] when the
// loader reports [ErrObjectNotFound].
const CodeNotFound = "not_found"

// ErrObjectNotFound is returned (possibly wrapped) by the load function of
// [RequireObject] when the requested object does not exist; the request then
// answers 404 {"error":"not_found"}. Any other load error answers 500.
var ErrObjectNotFound = errors.New("middleware: object not found")

// RequirePermission returns middleware that lets a request through only when
// the Principal put in the context by [Authenticator.RequireAuth] (which must
// run first) holds perm under authz's current policy, in the Principal's
// tenant ([Principal.Tenant], with its global roles and [Principal.TenantRoles]),
// deny by default (ASVS 8.2.1, 8.4.1). A missing Principal answers 401
// {"error":"unauthenticated"}; a denial, or any error from the authorizer,
// answers 403 {"error":"forbidden"}. onDeny, if non-nil, is called for each
// denial (audit hook, ASVS 16.3.2).
//
// For a permission that has object-level rules use [RequireObject]: without
// an object those rules deny.
func RequirePermission(authz *rbac.Authorizer, perm string, onDeny func(r *http.Request, p Principal, perm string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pc := principalFrom(r.Context())
			if pc == nil {
				writeNoPrincipal(w)
				return
			}
			if err := authz.Authorize(r.Context(), pc.subject(), pc.p.Tenant, perm, nil); err != nil {
				if onDeny != nil {
					onDeny(r, pc.p, perm)
				}
				WriteError(w, http.StatusForbidden, CodeForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireObject is [RequirePermission] for one object (ASVS 8.2.2, OWASP API1
// Broken Object Level Authorization). After the Principal's roles are found
// to grant perm in its tenant, load fetches the object the request targets
// (typically by a path value), and [rbac.Authorizer.Authorize] runs the
// policy's object-level rules for perm and the tenant check of
// [rbac.TenantScoped] objects. On success the object is available to the
// handler through [ObjectFromContext], so the handler acts on exactly the
// object that was checked.
//
// Responses: no Principal, 401 {"error":"unauthenticated"}; roles lacking
// perm or an object rule refusing, 403 {"error":"forbidden"} (onDeny is
// called); load returning an error satisfying [ErrObjectNotFound], 404
// {"error":"not_found"}; any other load error, 500 {"error":"internal_error"}
// (fail closed).
//
// 403 or 404: the role check comes before load, so a caller without the
// permission gets 403 whether or not the object exists and learns nothing.
// A caller with the permission learns whether an id exists: another user's
// object answers 403 (SECURITY.md S25), a missing one 404. To hide existence
// as well (OWASP recommends it for guessable ids), let load return
// ErrObjectNotFound for objects the caller may not see, e.g. by querying
// with the owner or tenant in the WHERE clause; both cases then answer 404.
func RequireObject(authz *rbac.Authorizer, perm string, load func(*http.Request) (any, error), onDeny func(r *http.Request, p Principal, perm string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pc := principalFrom(r.Context())
			if pc == nil {
				writeNoPrincipal(w)
				return
			}
			deny := func() {
				if onDeny != nil {
					onDeny(r, pc.p, perm)
				}
				WriteError(w, http.StatusForbidden, CodeForbidden)
			}
			if !authz.Resolve(pc.subject(), pc.p.Tenant).Can(perm) {
				deny()
				return
			}
			obj, err := load(r)
			if err != nil {
				if errors.Is(err, ErrObjectNotFound) {
					WriteError(w, http.StatusNotFound, CodeNotFound)
					return
				}
				WriteError(w, http.StatusInternalServerError, CodeInternal)
				return
			}
			if err := authz.Authorize(r.Context(), pc.subject(), pc.p.Tenant, perm, obj); err != nil {
				deny()
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), objectKey, objectBox{obj})))
		})
	}
}

var objectKey = &ctxKey{"object"}

type objectBox struct{ v any }

// ObjectFromContext returns the object that [RequireObject] loaded and
// authorized for this request, if it is a T.
func ObjectFromContext[T any](ctx context.Context) (T, bool) {
	b, ok := ctx.Value(objectKey).(objectBox)
	if !ok {
		var zero T
		return zero, false
	}
	v, ok := b.v.(T)
	return v, ok
}

func writeNoPrincipal(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", "Bearer")
	WriteError(w, http.StatusUnauthorized, CodeUnauthenticated)
}
