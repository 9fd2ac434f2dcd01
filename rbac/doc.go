// Package rbac is authkit's authorization: role-based access control with
// inheritance and wildcards, object-level rules, tenant isolation and an
// explanation of every decision, checked at the speed of a map lookup.
//
// Checking authentication without authorization is the most common
// access-control bug (OWASP Top 10 A01:2021 Broken Access Control). The
// package follows OWASP ASVS 5.0 V8: explicit, deny-by-default
// function-level permissions (8.2.1), object-level checks (8.2.2),
// enforcement on the server (8.3.1), changes that take effect immediately
// (8.3.2) and cross-tenant isolation (8.4.1).
//
// # Permissions and roles
//
// A permission is "resource:action" (lower-case names, see
// [ValidatePermission]). A role grants permissions and inherits the
// permissions of other roles. Grants may use wildcards: "posts:*" covers
// every action on resource "posts" (including actions the policy never
// mentions, such as "posts:archive") but never "postsx:read"; "*" covers
// everything. A [Config] of roles (and object rules) is compiled by [New]
// into an immutable [*Policy]; unknown inherited roles, inheritance cycles
// (reported as "a -> b -> a"), duplicates and malformed permissions are
// errors at that point, never at check time.
//
// # Checks
//
// Everything not granted is denied. [Policy.Can] takes the subject's role
// names; [Policy.Resolve] turns a [Subject] into a [RoleSet] once per
// request, after which [RoleSet.Can] is one table lookup and a bitset test.
// Both allocate nothing. [Policy.Authorize] adds the object-level steps: an
// object implementing [TenantScoped] must belong to the check's tenant, and
// every [Rule] registered for the permission (for example "editors may edit
// only their own posts", see [ObjectRule]) must pass; a refusal is a
// [*DeniedError] naming the step or rule, and errors.Is(err, [ErrDenied])
// holds. [Policy.Decide] returns a [Decision] saying which role (through
// which inheritance path and grant) allowed a check, or why it was denied,
// for audit logs.
//
// # Tenants
//
// A [Subject] carries global roles, which apply everywhere, and roles per
// tenant, which apply only to checks naming that tenant. A check with
// tenant "" sees global roles only. Nothing granted in one tenant is ever
// visible in another.
//
// # Changing the policy at run time
//
// An [Authorizer] holds the current policy behind an atomic pointer:
// [Authorizer.SetPolicy] or [Authorizer.ReloadJSON] swap it, and the next
// check uses the new one, so a revoked permission or role applies on the
// next request. Role assignments can come from the access token, the user
// record, or a [Store] read per request with [LoadSubject], so that revoking
// an assignment also applies on the next request. Policies are loaded from
// JSON with [ParseJSON], which is strict (unknown fields, duplicate keys and
// wrong types are errors).
//
// # Performance
//
// A check is a hash-table lookup of the permission string followed by one
// lookup per role name ([Policy.Can]) or a bitset AND ([RoleSet.Can]), with
// no allocation: about the cost of a plain map[string]map[string]bool
// lookup, and two orders of magnitude faster than casbin's Enforce (see
// bench/rbac_test.go).
package rbac
