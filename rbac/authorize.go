package rbac

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
)

// Subject is who is asking: an authenticated user or service and the roles
// assigned to it. The middleware builds it once per request from the
// verified token or session (or with [LoadSubject] from a [Store]).
//
// Roles are global: they apply to checks in every tenant, including checks
// with no tenant (""). TenantRoles holds roles that apply only in one tenant
// (organization, workspace): a check in tenant "acme" considers Roles plus
// TenantRoles["acme"] and nothing else, so a role held in one tenant never
// grants anything in another (ASVS 8.4.1). A check with tenant "" considers
// Roles only; TenantRoles[""] is never read. Keep Roles empty for users whose
// every role is tenant-scoped, and reserve global roles for platform staff.
type Subject struct {
	ID          string              // stable subject id (token "sub")
	Roles       []string            // global roles
	TenantRoles map[string][]string // tenant -> roles held only there
}

// Rule is an object-level check for one permission (ASVS 8.2.2, OWASP API1
// Broken Object Level Authorization): after the subject's roles grant the
// permission, [Policy.Authorize] calls every rule registered for it, in
// registration order, and denies when one returns false. Example: "editors
// may edit only their own posts".
//
// Check must be safe for concurrent use. It receives exactly the object
// passed to Authorize (possibly nil). A rule that needs I/O should use ctx
// and return false on any failure (fail closed). A panic in Check is not
// recovered: it propagates to the caller of Authorize.
type Rule struct {
	// Name identifies the rule in errors, decisions and audit logs.
	Name string
	// Permission is the concrete permission the rule guards, e.g.
	// "posts:edit"; wildcards are not allowed.
	Permission string
	// Check returns true to allow.
	Check func(ctx context.Context, s Subject, object any) bool
}

// ObjectRule returns a [Rule] whose check receives the object as a T. An
// object that is not a T, or is nil (an untyped nil or a nil pointer, map,
// slice, func, channel or interface), is denied without calling check.
func ObjectRule[T any](name, permission string, check func(ctx context.Context, s Subject, object T) bool) Rule {
	return Rule{
		Name:       name,
		Permission: permission,
		Check: func(ctx context.Context, s Subject, object any) bool {
			v, ok := object.(T)
			if !ok || isNil(object) || check == nil {
				return false
			}
			return check(ctx, s, v)
		},
	}
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}

// TenantScoped is implemented by objects that belong to one tenant.
// [Policy.Authorize] denies access to such an object from any other tenant
// (or from a check with no tenant) before any object rule runs, so a valid
// role in tenant A never reaches tenant B's objects (ASVS 8.4.1). An object
// passed by value whose RBACTenant method has a pointer receiver is denied
// too (its scope cannot be read from the value): a receiver detail never
// skips the tenant check.
type TenantScoped interface {
	RBACTenant() string
}

var tenantScopedType = reflect.TypeFor[TenantScoped]()

// Decision explains an authorization outcome, for audit logs and
// debugging. It is returned by [Policy.Decide] and carried by
// [*DeniedError].
type Decision struct {
	Allowed    bool
	SubjectID  string
	Tenant     string // "" for a check outside any tenant
	Permission string
	// Role is the subject's role that granted the permission; Via is the
	// inheritance path from Role to the role whose Grant matched (Via[0] ==
	// Role; length 1 when Role holds Grant itself).
	Role  string
	Via   []string
	Grant string // the matching grant, e.g. "posts:*"
	// Rule names the object rule that denied, if one did.
	Rule string
	// Reason is a short human-readable explanation.
	Reason string
}

// String formats the decision on one line, e.g.
//
//	allow "posts:edit" tenant "acme" subject "u1": role "admin" via admin -> editor grant "posts:*"
func (d Decision) String() string {
	var b strings.Builder
	if d.Allowed {
		b.WriteString("allow ")
	} else {
		b.WriteString("deny ")
	}
	fmt.Fprintf(&b, "%q", truncate(d.Permission, 80))
	if d.Tenant != "" {
		fmt.Fprintf(&b, " tenant %q", truncate(d.Tenant, 80))
	}
	if d.SubjectID != "" {
		fmt.Fprintf(&b, " subject %q", truncate(d.SubjectID, 80))
	}
	b.WriteString(": ")
	b.WriteString(d.Reason)
	return b.String()
}

// Authorize decides whether s may perform perm on object in tenant ("" for
// none). It returns nil when:
//
//  1. a role of s valid in tenant grants perm (see [Subject], [Policy.Can]),
//  2. object, if it is [TenantScoped], belongs to tenant, and
//  3. every [Rule] registered for perm returns true.
//
// Otherwise it returns a [*DeniedError] (errors.Is(err, ErrDenied)) whose
// [Decision] says which step refused and, for rules, which rule. The allowed
// path does not allocate for policies of up to 64 roles (apart from what the
// rules do). Deny by default: a nil policy, an unknown permission, no roles
// or an unknown role all deny (ASVS 8.2.1, 8.2.2, 8.3.1).
func (p *Policy) Authorize(ctx context.Context, s Subject, tenant, perm string, object any) error {
	if !p.Resolve(s, tenant).Can(perm) {
		d := p.explainRoles(s, tenant, perm)
		return &DeniedError{Decision: d}
	}
	if d, denied := p.objectChecks(ctx, s, tenant, perm, object); denied {
		return &DeniedError{Decision: d}
	}
	return nil
}

// Decide is [Policy.Authorize] returning the full [Decision] for both
// outcomes: on allow it names the role, inheritance path and grant that
// matched. It allocates; use it for audit logs and debugging, and Authorize
// or [Policy.Can] on hot paths. Decide and Authorize always agree.
func (p *Policy) Decide(ctx context.Context, s Subject, tenant, perm string, object any) Decision {
	d := p.explainRoles(s, tenant, perm)
	if !d.Allowed {
		return d
	}
	if od, denied := p.objectChecks(ctx, s, tenant, perm, object); denied {
		return od
	}
	if n := len(p.rulesFor(perm)); n > 0 {
		d.Reason += fmt.Sprintf("; %d object rule(s) passed", n)
	}
	return d
}

func (p *Policy) rulesFor(perm string) []Rule {
	if p == nil || p.rules == nil {
		return nil
	}
	row, ok := p.permIdx[perm]
	if !ok {
		return nil
	}
	return p.rules[row]
}

// objectChecks runs the tenant check and the object rules; denied reports
// a refusal described by d.
func (p *Policy) objectChecks(ctx context.Context, s Subject, tenant, perm string, object any) (d Decision, denied bool) {
	if ts, ok := object.(TenantScoped); ok && !isNil(object) {
		if ot := ts.RBACTenant(); ot != tenant {
			return Decision{SubjectID: s.ID, Tenant: tenant, Permission: perm,
				Reason: fmt.Sprintf("object belongs to tenant %q, not to the tenant of the check", truncate(ot, 80))}, true
		}
	} else if !ok && object != nil && reflect.PointerTo(reflect.TypeOf(object)).Implements(tenantScopedType) {
		// Fail closed: the value's scope is only readable through a
		// pointer, so the loader lost it.
		return Decision{SubjectID: s.ID, Tenant: tenant, Permission: perm,
			Reason: fmt.Sprintf("object of type %s implements TenantScoped only through a pointer: pass a pointer", reflect.TypeOf(object))}, true
	}
	for _, r := range p.rulesFor(perm) {
		if !r.Check(ctx, s, object) {
			return Decision{SubjectID: s.ID, Tenant: tenant, Permission: perm, Rule: r.Name,
				Reason: fmt.Sprintf("object rule %q denied", r.Name)}, true
		}
	}
	return Decision{}, false
}

// explainRoles is the role step of a decision, with its explanation.
func (p *Policy) explainRoles(s Subject, tenant, perm string) Decision {
	d := Decision{SubjectID: s.ID, Tenant: tenant, Permission: perm}
	if p == nil {
		d.Reason = "no policy"
		return d
	}
	if err := ValidatePermission(perm); err != nil {
		d.Reason = strings.TrimPrefix(err.Error(), "rbac: ")
		return d
	}
	held := slices.Clone(s.Roles)
	if tenant != "" {
		held = append(held, s.TenantRoles[tenant]...)
	}
	var unknown []string
	for _, name := range held {
		id, ok := p.roleIdx[name]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		if via, grant, ok := p.findGrant(id, perm); ok {
			d.Allowed = true
			d.Role, d.Via, d.Grant = name, via, grant
			if len(via) == 1 {
				d.Reason = fmt.Sprintf("role %q grants %q", name, grant)
			} else {
				d.Reason = fmt.Sprintf("role %q inherits %q via %s, which grants %q", name, via[len(via)-1], strings.Join(via, " -> "), grant)
			}
			return d
		}
	}
	switch {
	case len(held) == 0 && tenant != "":
		d.Reason = "subject has no global roles and no roles in this tenant"
	case len(held) == 0:
		d.Reason = "subject has no roles"
	default:
		d.Reason = fmt.Sprintf("no role of %s grants it", quoteList(held))
	}
	if len(unknown) > 0 {
		d.Reason += fmt.Sprintf(" (roles not in the policy: %s)", quoteList(unknown))
	}
	return d
}

// findGrant searches role id and its ancestors breadth-first, in
// declaration order, for a grant covering perm.
func (p *Policy) findGrant(id int32, perm string) (via []string, grant string, ok bool) {
	type item struct {
		id   int32
		path []string
	}
	seen := map[int32]bool{id: true}
	queue := []item{{id, []string{p.roles[id].Name}}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		r := p.roles[it.id]
		for _, g := range r.Permissions {
			if covers(g, perm) {
				return it.path, g, true
			}
		}
		for _, parent := range r.Inherits {
			pid := p.roleIdx[parent]
			if !seen[pid] {
				seen[pid] = true
				queue = append(queue, item{pid, append(slices.Clip(it.path), parent)})
			}
		}
	}
	return nil, "", false
}

func quoteList(names []string) string {
	const maxNames = 8
	var b strings.Builder
	for i, n := range names {
		if i == maxNames {
			fmt.Fprintf(&b, ", ... (%d more)", len(names)-maxNames)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", truncate(n, 80))
	}
	return b.String()
}

// Authorizer holds the current [Policy] behind an atomic pointer so that a
// policy can be replaced at run time while requests are being checked: every
// check loads the policy once, so a role revoked or a permission removed by
// [Authorizer.SetPolicy] applies from the next check on (ASVS 8.3.2).
// All methods are safe for concurrent use.
type Authorizer struct {
	p atomic.Pointer[Policy]
}

// NewAuthorizer returns an [Authorizer] serving p. It returns [ErrNilPolicy]
// when p is nil.
func NewAuthorizer(p *Policy) (*Authorizer, error) {
	if p == nil {
		return nil, ErrNilPolicy
	}
	a := &Authorizer{}
	a.p.Store(p)
	return a, nil
}

// Policy returns the current policy.
func (a *Authorizer) Policy() *Policy { return a.p.Load() }

// SetPolicy atomically replaces the current policy; checks that start after
// it returns use p. It returns [ErrNilPolicy] (and keeps the old policy)
// when p is nil.
func (a *Authorizer) SetPolicy(p *Policy) error {
	if p == nil {
		return ErrNilPolicy
	}
	a.p.Store(p)
	return nil
}

// ReloadJSON parses a JSON policy document (see [ParseJSON]), attaches the
// current policy's object rules, builds it and swaps it in. On any error the
// current policy stays in force.
func (a *Authorizer) ReloadJSON(data []byte) error {
	cfg, err := ParseJSON(data)
	if err != nil {
		return err
	}
	cfg.Rules = a.p.Load().Config().Rules
	p, err := New(cfg)
	if err != nil {
		return err
	}
	return a.SetPolicy(p)
}

// Can is [Policy.Can] on the current policy.
func (a *Authorizer) Can(roles []string, perm string) bool { return a.p.Load().Can(roles, perm) }

// Resolve is [Policy.Resolve] on the current policy.
func (a *Authorizer) Resolve(s Subject, tenant string) RoleSet {
	return a.p.Load().Resolve(s, tenant)
}

// Authorize is [Policy.Authorize] on the current policy.
func (a *Authorizer) Authorize(ctx context.Context, s Subject, tenant, perm string, object any) error {
	return a.p.Load().Authorize(ctx, s, tenant, perm, object)
}

// Decide is [Policy.Decide] on the current policy.
func (a *Authorizer) Decide(ctx context.Context, s Subject, tenant, perm string, object any) Decision {
	return a.p.Load().Decide(ctx, s, tenant, perm, object)
}
