package rbac

import (
	"context"
	"fmt"
)

// Store holds role assignments: which roles a subject holds, globally and
// per tenant. Role definitions are not stored: they are compiled into an
// immutable [Policy]. Implementations must be safe for concurrent use;
// store/memstore.RoleAssignments is the in-memory one.
type Store interface {
	// RolesOf returns the roles subjectID holds in tenant, or its global
	// roles when tenant is "". An unknown subject or tenant yields no roles
	// and a nil error; err is reserved for system failures, and callers
	// deny on it (fail closed). The returned slice belongs to the caller.
	RolesOf(ctx context.Context, subjectID, tenant string) ([]string, error)
}

// LoadSubject builds the [Subject] for subjectID from st: its global roles
// and its roles in each of tenants (usually the one tenant of the request).
// Reading assignments per request means a revoked assignment applies from
// the next request on (ASVS 8.3.2). On error it returns the zero Subject,
// which no policy grants anything.
func LoadSubject(ctx context.Context, st Store, subjectID string, tenants ...string) (Subject, error) {
	if st == nil {
		return Subject{}, fmt.Errorf("rbac: LoadSubject: nil Store")
	}
	global, err := st.RolesOf(ctx, subjectID, "")
	if err != nil {
		return Subject{}, fmt.Errorf("rbac: loading roles of subject: %w", err)
	}
	s := Subject{ID: subjectID, Roles: global}
	for _, t := range tenants {
		if t == "" {
			continue
		}
		roles, err := st.RolesOf(ctx, subjectID, t)
		if err != nil {
			return Subject{}, fmt.Errorf("rbac: loading roles of subject in tenant: %w", err)
		}
		if s.TenantRoles == nil {
			s.TenantRoles = make(map[string][]string, len(tenants))
		}
		s.TenantRoles[t] = roles
	}
	return s, nil
}
