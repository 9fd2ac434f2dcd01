package memstore

import (
	"context"
	"slices"
	"sync"

	"github.com/authkit-go/authkit/rbac"
)

// RoleAssignments is an in-memory [rbac.Store]: which roles each subject
// holds, globally (tenant "") and per tenant. Role definitions live in the
// compiled [rbac.Policy], not here. Assign and Revoke take effect on the
// next [rbac.Store.RolesOf] call, so with [rbac.LoadSubject] per request a
// revoked role applies on the next request (ASVS 8.3.2). Safe for
// concurrent use.
type RoleAssignments struct {
	mu sync.RWMutex
	m  map[roleKey][]string // sorted, no duplicates
}

type roleKey struct{ subject, tenant string }

// newRoleAssignments returns an empty [RoleAssignments].
func newRoleAssignments() *RoleAssignments {
	return &RoleAssignments{m: map[roleKey][]string{}}
}

var _ rbac.Store = (*RoleAssignments)(nil)

// RolesOf implements [rbac.Store]. It returns a sorted copy.
func (s *RoleAssignments) RolesOf(ctx context.Context, subjectID, tenant string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.m[roleKey{subjectID, tenant}]), nil
}

// Assign gives subjectID the role in tenant ("" for a global role).
// Assigning a role already held is a no-op. The role name is not checked
// against any policy: roles the policy does not define grant nothing.
func (s *RoleAssignments) Assign(ctx context.Context, subjectID, tenant, role string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := roleKey{subjectID, tenant}
	roles := s.m[k]
	i, found := slices.BinarySearch(roles, role)
	if !found {
		s.m[k] = slices.Insert(slices.Clone(roles), i, role)
	}
	return nil
}

// Revoke removes the role from subjectID in tenant. Revoking a role not
// held returns nil.
func (s *RoleAssignments) Revoke(ctx context.Context, subjectID, tenant, role string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := roleKey{subjectID, tenant}
	roles := s.m[k]
	i, found := slices.BinarySearch(roles, role)
	if !found {
		return nil
	}
	if len(roles) == 1 {
		delete(s.m, k)
		return nil
	}
	s.m[k] = slices.Delete(slices.Clone(roles), i, i+1)
	return nil
}

// RevokeAll removes every role subjectID holds, in every tenant (for
// example when the account is disabled).
func (s *RoleAssignments) RevokeAll(ctx context.Context, subjectID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.m {
		if k.subject == subjectID {
			delete(s.m, k)
		}
	}
	return nil
}
