package rbac

import (
	"errors"
	"fmt"
	"strings"
)

// ErrDenied is the sentinel every authorization refusal satisfies:
// errors.Is(err, ErrDenied). The concrete error is a [*DeniedError] that says
// which check refused (no role, tenant mismatch, or which object rule).
// Messages are for logs; a client gets a plain 403 (OWASP A01, ASVS 8.2.1).
var ErrDenied = errors.New("rbac: permission denied")

// ErrInvalidConfig is satisfied by every error [New] and [ParseJSON] return
// for a bad policy [Config]; the individual problems are [*PolicyError]
// values joined with [errors.Join]. It is the package's invalid-config
// sentinel, named like every other package's.
var ErrInvalidConfig = errors.New("rbac: invalid config")

// ErrInvalidPermission is satisfied by the [*PermissionError] that
// [ValidatePermission] returns for a malformed permission string.
var ErrInvalidPermission = errors.New("rbac: invalid permission")

// ErrNilPolicy is returned by [NewAuthorizer] and [Authorizer.SetPolicy] when
// given a nil *Policy.
var ErrNilPolicy = errors.New("rbac: nil policy")

// PermissionError reports why a permission string is malformed.
type PermissionError struct {
	Permission string // the offending string (truncated to 80 bytes)
	Reason     string // e.g. `missing ":"`, `empty action`
}

// Error implements error: `rbac: invalid permission "x": reason`.
func (e *PermissionError) Error() string {
	return fmt.Sprintf("rbac: invalid permission %q: %s", e.Permission, e.Reason)
}

// Unwrap returns [ErrInvalidPermission].
func (e *PermissionError) Unwrap() error { return ErrInvalidPermission }

// PolicyError is one problem found while building a policy: an invalid or
// duplicate role name, an unknown inherited role, an inheritance cycle, a bad
// permission or object rule. Err, when set, is the underlying cause (for
// example a [*PermissionError]).
type PolicyError struct {
	Role  string   // the role the problem belongs to, if any
	Cycle []string // for cycles: the roles in order, first == last (a -> b -> a)
	Rule  string   // for object rules: the rule's name
	Msg   string   // what is wrong
	Err   error    // optional cause
}

// Error implements error: `rbac: invalid policy: role "a": what is wrong`.
func (e *PolicyError) Error() string {
	var b strings.Builder
	b.WriteString("rbac: invalid policy: ")
	switch {
	case e.Role != "":
		fmt.Fprintf(&b, "role %q: ", e.Role)
	case e.Rule != "":
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	b.WriteString(e.Msg)
	if len(e.Cycle) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Cycle, " -> "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "rbac: "))
	}
	return b.String()
}

// Unwrap returns [ErrInvalidConfig] and the cause, so errors.Is matches both.
func (e *PolicyError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidConfig, e.Err}
	}
	return []error{ErrInvalidConfig}
}

// DeniedError is returned by [Policy.Authorize] when access is refused. It
// carries the full [Decision] for audit logs. It satisfies
// errors.Is(err, ErrDenied).
type DeniedError struct {
	Decision Decision
}

// Error implements error with the one-line form of the Decision. It is
// meant for logs: never send it to the client (respond with a plain 403).
func (e *DeniedError) Error() string {
	return "rbac: permission denied: " + e.Decision.String()
}

// Unwrap returns [ErrDenied].
func (e *DeniedError) Unwrap() error { return ErrDenied }
