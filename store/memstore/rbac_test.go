package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/rbac"
)

func TestRoleAssignments(t *testing.T) {
	ctx := context.Background()
	s := memtest.New(t, nil).RoleAssignments()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RolesOf(ctx, "u", "")
	if err != nil || got != nil {
		t.Fatalf("missing = %v, %v", got, err)
	}
	must(s.Assign(ctx, "u", "", "viewer"))
	must(s.Assign(ctx, "u", "", "admin"))
	must(s.Assign(ctx, "u", "", "viewer")) // idempotent
	must(s.Assign(ctx, "u", "acme", "owner"))
	must(s.Assign(ctx, "*", "%", `"'`)) // hostile ids stored literally
	if got, _ := s.RolesOf(ctx, "u", ""); !slices.Equal(got, []string{"admin", "viewer"}) {
		t.Errorf("global = %v", got)
	}
	if got, _ := s.RolesOf(ctx, "u", "acme"); !slices.Equal(got, []string{"owner"}) {
		t.Errorf("acme = %v", got)
	}
	if got, _ := s.RolesOf(ctx, "u", "globex"); got != nil {
		t.Errorf("8.4.1 other tenant = %v", got)
	}
	if got, _ := s.RolesOf(ctx, "*", "%"); !slices.Equal(got, []string{`"'`}) {
		t.Errorf("hostile = %v", got)
	}
	// Returned slices are copies.
	got, _ = s.RolesOf(ctx, "u", "")
	got[0] = "root"
	if again, _ := s.RolesOf(ctx, "u", ""); again[0] != "admin" {
		t.Error("RolesOf aliases internal state")
	}
	must(s.Revoke(ctx, "u", "", "admin"))
	must(s.Revoke(ctx, "u", "", "missing"))
	if got, _ := s.RolesOf(ctx, "u", ""); !slices.Equal(got, []string{"viewer"}) {
		t.Errorf("after revoke = %v", got)
	}
	must(s.RevokeAll(ctx, "u"))
	for _, tenant := range []string{"", "acme"} {
		if got, _ := s.RolesOf(ctx, "u", tenant); got != nil {
			t.Errorf("after RevokeAll %q = %v", tenant, got)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.RolesOf(cctx, "u", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled RolesOf = %v", err)
	}
	if err := s.Assign(cctx, "u", "", "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Assign = %v", err)
	}
}

// TestRoleAssignmentsRevokeNextRequest checks "a revoked role applies on the
// next request" with assignments read per request through rbac.LoadSubject.
func TestRoleAssignmentsRevokeNextRequest(t *testing.T) {
	ctx := context.Background()
	p, err := rbac.New(rbac.Config{Roles: []rbac.Role{{Name: "admin", Permissions: []string{"admin:stats"}}, {Name: "member", Permissions: []string{"docs:read"}}}})
	if err != nil {
		t.Fatal(err)
	}
	s := memtest.New(t, nil).RoleAssignments()
	_ = s.Assign(ctx, "u", "", "admin")
	_ = s.Assign(ctx, "u", "acme", "member")
	request := func(tenant, perm string) error {
		sub, err := rbac.LoadSubject(ctx, s, "u", tenant)
		if err != nil {
			return err
		}
		return p.Authorize(ctx, sub, tenant, perm, nil)
	}
	if err := request("", "admin:stats"); err != nil {
		t.Fatalf("before revoke: %v", err)
	}
	if err := request("acme", "docs:read"); err != nil {
		t.Fatalf("tenant role: %v", err)
	}
	if err := request("globex", "docs:read"); !errors.Is(err, rbac.ErrDenied) {
		t.Errorf("8.4.1 tenant role leaked to globex: %v", err)
	}
	_ = s.Revoke(ctx, "u", "", "admin")
	if err := request("", "admin:stats"); !errors.Is(err, rbac.ErrDenied) {
		t.Errorf("after revoke: %v, want denied", err)
	}
}

func TestRoleAssignmentsConcurrent(t *testing.T) {
	ctx := context.Background()
	s := memtest.New(t, nil).RoleAssignments()
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			role := fmt.Sprintf("r%d", g)
			for range 50 {
				_ = s.Assign(ctx, "u", "", role)
				_, _ = s.RolesOf(ctx, "u", "")
				_ = s.Revoke(ctx, "u", "", role)
			}
			_ = s.Assign(ctx, "u", "", role)
		}()
	}
	wg.Wait()
	if got, _ := s.RolesOf(ctx, "u", ""); len(got) != 64 {
		t.Errorf("got %d roles, want 64", len(got))
	}
}
