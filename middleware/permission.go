package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/authkit-go/authkit/rbac"
)

// ErrObjectNotFound is returned (possibly wrapped) by the load function of
// [RequireObject] when the requested object does not exist; the request then
// answers 404 {"error":"not_found"}. Any other load error answers 500.
var ErrObjectNotFound = errors.New("middleware: object not found")

// ErrForbidden is satisfied by every denial of [RequirePermission] and
// [RequireObject]; the concrete error is a [*PermissionError].
var ErrForbidden = errors.New("middleware: forbidden")

// PermissionError is a denial by [RequirePermission] or [RequireObject],
// passed to their audit hook. errors.Is(err, ErrForbidden) holds; Err is
// the cause for logs: an [*rbac.DeniedError] (with its Decision), or a
// tenant mismatch from RequireObject. Never send Error() to a client.
type PermissionError struct {
	Principal  Principal
	Permission string
	// ObjectTenant is the tenant the loader of RequireObject stated for
	// the object; "" for RequirePermission.
	ObjectTenant string
	Err          error
}

// Error implements error.
func (e *PermissionError) Error() string {
	return fmt.Sprintf("middleware: forbidden (%q for %q in tenant %q): %v", e.Permission, e.Principal.Subject, e.Principal.Tenant, e.Err)
}

// Unwrap returns ErrForbidden and the cause.
func (e *PermissionError) Unwrap() []error { return []error{ErrForbidden, e.Err} }

// errTenantMismatch is the cause of a RequireObject denial for an object of
// another tenant.
var errTenantMismatch = errors.New("middleware: object belongs to another tenant")

// RequirePermission returns middleware that lets a request through only when
// the Principal put in the context by [Authenticator.RequireAuth] (which must
// run first) holds perm under authz's current policy, in the Principal's
// tenant ([Principal.Tenant], with its global roles and [Principal.TenantRoles]),
// deny by default (ASVS 8.2.1, 8.4.1). A missing Principal answers 401
// {"error":"unauthenticated"}; a denial, or any error from the authorizer,
// answers 403 {"error":"forbidden"}. onDeny, if non-nil, is the audit hook
// called for each denial with a [*PermissionError] (ASVS 16.3.2); it has
// the package's audit-hook shape, see [AuditFunc].
//
// For a permission that has object-level rules use [RequireObject]: without
// an object those rules deny.
func RequirePermission(authz *rbac.Authorizer, perm string, onDeny AuditFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pc := principalFrom(r.Context())
			if pc == nil {
				writeNoPrincipal(w)
				return
			}
			if err := authz.Authorize(r.Context(), pc.subject(), pc.p.Tenant, perm, nil); err != nil {
				if onDeny != nil {
					onDeny(r, &PermissionError{Principal: pc.p, Permission: perm, Err: err})
				}
				WriteError(w, http.StatusForbidden, CodeForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// LoadObject loads the object a request targets (typically by a path value)
// for [RequireObject] and states the tenant it belongs to: "" for an object
// outside any tenant. The tenant is part of the answer, not discovered from
// the object's methods, so no receiver or wrapper detail can skip the
// tenant check. A missing object is an error satisfying [ErrObjectNotFound].
type LoadObject func(r *http.Request) (obj any, tenant string, err error)

// RequireObject is [RequirePermission] for one object (ASVS 8.2.2, OWASP API1
// Broken Object Level Authorization). After the Principal's roles are found
// to grant perm in its tenant, load fetches the object the request targets
// and states its tenant; an object whose tenant is not exactly
// [Principal.Tenant] is refused (ASVS 8.4.1), and then
// [rbac.Authorizer.Authorize] runs the policy's object-level rules for perm
// (and its own check of [rbac.TenantScoped] objects). On success the object
// is available to the handler through [ObjectFromContext], so the handler
// acts on exactly the object that was checked.
//
// Responses: no Principal, 401 {"error":"unauthenticated"}; roles lacking
// perm, an object of another tenant or an object rule refusing, 403
// {"error":"forbidden"} (onDeny is called with a [*PermissionError]); load
// returning an error satisfying [ErrObjectNotFound], 404
// {"error":"not_found"}; any other load error, 500 {"error":"internal_error"}
// (fail closed).
//
// 403 or 404: the role check comes before load, so a caller without the
// permission gets 403 whether or not the object exists and learns nothing.
// A caller with the permission learns whether an id exists: another user's
// object answers 403, a missing one 404. To hide existence as well (OWASP
// recommends it for guessable ids), let load return ErrObjectNotFound for
// objects the caller may not see, e.g. by querying with the owner or tenant
// in the WHERE clause; both cases then answer 404.
func RequireObject(authz *rbac.Authorizer, perm string, load LoadObject, onDeny AuditFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pc := principalFrom(r.Context())
			if pc == nil {
				writeNoPrincipal(w)
				return
			}
			deny := func(tenant string, err error) {
				if onDeny != nil {
					onDeny(r, &PermissionError{Principal: pc.p, Permission: perm, ObjectTenant: tenant, Err: err})
				}
				WriteError(w, http.StatusForbidden, CodeForbidden)
			}
			if !authz.Resolve(pc.subject(), pc.p.Tenant).Can(perm) {
				deny("", &rbac.DeniedError{Decision: authz.Decide(r.Context(), pc.subject(), pc.p.Tenant, perm, nil)})
				return
			}
			obj, tenant, err := load(r)
			if err != nil {
				if errors.Is(err, ErrObjectNotFound) {
					WriteError(w, http.StatusNotFound, CodeNotFound)
					return
				}
				WriteError(w, http.StatusInternalServerError, CodeInternal)
				return
			}
			if tenant != pc.p.Tenant {
				deny(tenant, errTenantMismatch)
				return
			}
			if err := authz.Authorize(r.Context(), pc.subject(), pc.p.Tenant, perm, obj); err != nil {
				deny(tenant, err)
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
