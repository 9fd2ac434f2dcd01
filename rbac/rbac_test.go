package rbac_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/authkit-go/authkit/rbac"
)

func mustNew(t testing.TB, cfg rbac.Config) *rbac.Policy {
	t.Helper()
	p, err := rbac.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// blogConfig is a 3-level hierarchy: admin -> editor -> viewer.
func blogConfig() rbac.Config {
	return rbac.Config{Roles: []rbac.Role{
		{Name: "viewer", Permissions: []string{"posts:read", "comments:read"}},
		{Name: "editor", Inherits: []string{"viewer"}, Permissions: []string{"posts:write", "comments:*"}},
		{Name: "admin", Inherits: []string{"editor"}, Permissions: []string{"users:*", "admin:stats"}},
		{Name: "root", Permissions: []string{"*"}},
	}}
}

func TestValidatePermission(t *testing.T) {
	valid := []string{"*", "posts:read", "posts:*", "a:b", "org.billing:read", "a1_b-c.d:x_y-z.0", "0:0",
		strings.Repeat("a", 64) + ":" + strings.Repeat("b", 64)}
	for _, s := range valid {
		if err := rbac.ValidatePermission(s); err != nil {
			t.Errorf("ValidatePermission(%q) = %v, want nil", s, err)
		}
	}
	invalid := []struct{ in, reason string }{
		{"", "empty"},
		{"posts", `missing ":" between resource and action`},
		{"posts:read:x", `more than one ":"`},
		{"*:read", `wildcard resource "*" is not supported (use "*" alone for every permission)`},
		{"*:*", `wildcard resource "*" is not supported (use "*" alone for every permission)`},
		{":read", "resource is empty"},
		{"posts:", "action is empty"},
		{"post*:read", `resource contains "*" (only a whole action or the whole permission may be "*")`},
		{"posts:re*", `action contains "*" (only a whole action or the whole permission may be "*")`},
		{"posts:**", `action contains "*" (only a whole action or the whole permission may be "*")`},
		{"**", `missing ":" between resource and action`},
		{"Posts:read", "resource contains an upper-case letter (names are lower-case)"},
		{"posts:Read", "action contains an upper-case letter (names are lower-case)"},
		{"_posts:read", "resource must start with a letter or digit"},
		{"posts:-read", "action must start with a letter or digit"},
		{"posts :read", "resource contains a character outside [a-z0-9_.-]"},
		{"posts:read ", "action contains a character outside [a-z0-9_.-]"},
		{"posts:r\x00d", "action contains a character outside [a-z0-9_.-]"},
		{"pösts:read", "resource contains a character outside [a-z0-9_.-]"},
		{"posts/x:read", "resource contains a character outside [a-z0-9_.-]"},
		{strings.Repeat("a", 65) + ":read", "resource is longer than 64 bytes"},
		{"posts:" + strings.Repeat("b", 65), "action is longer than 64 bytes"},
	}
	for _, c := range invalid {
		err := rbac.ValidatePermission(c.in)
		var pe *rbac.PermissionError
		if !errors.As(err, &pe) || !errors.Is(err, rbac.ErrInvalidPermission) {
			t.Errorf("ValidatePermission(%q) = %v, want *PermissionError", c.in, err)
			continue
		}
		if pe.Reason != c.reason {
			t.Errorf("ValidatePermission(%q) reason = %q, want %q", c.in, pe.Reason, c.reason)
		}
	}
}

// TestWildcards is the wildcard edge-case table.
func TestWildcards(t *testing.T) {
	p := mustNew(t, rbac.Config{Roles: []rbac.Role{
		{Name: "posts-all", Permissions: []string{"posts:*"}},
		{Name: "posts-read", Permissions: []string{"posts:read"}},
		{Name: "root", Permissions: []string{"*"}},
		{Name: "other", Permissions: []string{"postsx:write", "p:*"}},
	}})
	cases := []struct {
		role, perm string
		want       bool
	}{
		{"posts-all", "posts:read", true},
		{"posts-all", "posts:delete", true},
		{"posts-all", "posts:never-mentioned", true}, // unknown but valid action
		{"posts-all", "posts:*", true},
		{"posts-all", "postsx:read", false}, // No prefix match across resources
		{"posts-all", "postsx:write", false},
		{"posts-all", "post:read", false},
		{"posts-all", "posts.sub:read", false},
		{"posts-all", "p:read", false},
		{"posts-all", "*", false},
		{"posts-all", "posts", false},
		{"posts-all", "posts:", false},
		{"posts-all", "posts:*x", false},
		{"posts-all", "Posts:read", false},
		{"posts-read", "posts:read", true},
		{"posts-read", "posts:*", false}, // holding one action is not holding all
		{"posts-read", "posts:write", false},
		{"posts-read", "*", false},
		{"root", "posts:read", true},
		{"root", "anything:at-all", true},
		{"root", "postsx:read", true},
		{"root", "*", true},
		{"root", "posts:*", true},
		{"root", "*:read", false}, // malformed is denied even for "*"
		{"root", "", false},
		{"root", "posts", false},
		{"other", "p:x", true},
		{"other", "posts:x", false},
		{"other", "postsx:write", true},
		{"other", "postsx:read", false},
		{"nobody", "posts:read", false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("S25_%s_%s", c.role, c.perm), func(t *testing.T) {
			if got := p.Can([]string{c.role}, c.perm); got != c.want {
				t.Errorf("Can(%q, %q) = %v, want %v", c.role, c.perm, got, c.want)
			}
			if got := p.Resolve(rbac.Subject{Roles: []string{c.role}}, "").Can(c.perm); got != c.want {
				t.Errorf("RoleSet.Can(%q, %q) = %v, want %v", c.role, c.perm, got, c.want)
			}
			d := p.Decide(context.Background(), rbac.Subject{Roles: []string{c.role}}, "", c.perm, nil)
			if d.Allowed != c.want {
				t.Errorf("Decide(%q, %q).Allowed = %v, want %v (%s)", c.role, c.perm, d.Allowed, c.want, d)
			}
		})
	}
}

func TestInheritance(t *testing.T) {
	p := mustNew(t, blogConfig())
	cases := []struct {
		roles []string
		perm  string
		want  bool
	}{
		{[]string{"viewer"}, "posts:read", true},
		{[]string{"viewer"}, "posts:write", false},
		{[]string{"viewer"}, "comments:delete", false},
		{[]string{"editor"}, "posts:read", true},       // inherited, 1 level
		{[]string{"editor"}, "comments:delete", true},  // own wildcard, unknown action
		{[]string{"editor"}, "users:read", false},      // parent's grant never flows down
		{[]string{"admin"}, "posts:read", true},        // inherited, 2 levels
		{[]string{"admin"}, "comments:anything", true}, // inherited wildcard
		{[]string{"admin"}, "users:delete", true},
		{[]string{"admin"}, "billing:read", false},
		{[]string{"viewer", "admin"}, "users:delete", true},
		{[]string{"ghost", "viewer"}, "posts:read", true},
		{[]string{"ghost"}, "posts:read", false},
		{nil, "posts:read", false},
	}
	for _, c := range cases {
		if got := p.Can(c.roles, c.perm); got != c.want {
			t.Errorf("Can(%q, %q) = %v, want %v", c.roles, c.perm, got, c.want)
		}
	}

	// Diamond: d inherits b and c, both inherit a.
	p2 := mustNew(t, rbac.Config{Roles: []rbac.Role{
		{Name: "a", Permissions: []string{"x:a"}},
		{Name: "b", Inherits: []string{"a"}, Permissions: []string{"x:b"}},
		{Name: "c", Inherits: []string{"a"}, Permissions: []string{"x:c"}},
		{Name: "d", Inherits: []string{"b", "c"}},
	}})
	for _, perm := range []string{"x:a", "x:b", "x:c"} {
		if !p2.Can([]string{"d"}, perm) {
			t.Errorf("diamond: d cannot %s", perm)
		}
	}
	if p2.Can([]string{"b"}, "x:c") {
		t.Error("diamond: sibling grant leaked from c to b")
	}
}

func TestManyRoles(t *testing.T) {
	// More than 64 roles exercises multi-word bitsets: a chain r0 <- r1 <- ... <- r199.
	var cfg rbac.Config
	for i := range 200 {
		r := rbac.Role{Name: fmt.Sprintf("r%d", i), Permissions: []string{fmt.Sprintf("res:p%d", i)}}
		if i > 0 {
			r.Inherits = []string{fmt.Sprintf("r%d", i-1)}
		}
		cfg.Roles = append(cfg.Roles, r)
	}
	p := mustNew(t, cfg)
	for _, c := range []struct {
		role, perm string
		want       bool
	}{
		{"r199", "res:p0", true}, {"r0", "res:p199", false}, {"r130", "res:p130", true},
		{"r130", "res:p129", true}, {"r129", "res:p130", false}, {"r70", "res:p3", true},
	} {
		if got := p.Can([]string{c.role}, c.perm); got != c.want {
			t.Errorf("Can(%s, %s) = %v, want %v", c.role, c.perm, got, c.want)
		}
		if got := p.Resolve(rbac.Subject{Roles: []string{c.role}}, "").Can(c.perm); got != c.want {
			t.Errorf("RoleSet.Can(%s, %s) = %v, want %v", c.role, c.perm, got, c.want)
		}
	}
	d := p.Decide(context.Background(), rbac.Subject{Roles: []string{"r3"}}, "", "res:p0", nil)
	if !d.Allowed || !slices.Equal(d.Via, []string{"r3", "r2", "r1", "r0"}) || d.Grant != "res:p0" {
		t.Errorf("Decide via chain = %+v", d)
	}
}

func TestNewErrors(t *testing.T) {
	okCheck := func(context.Context, rbac.Subject, any) bool { return true }
	cases := []struct {
		name string
		cfg  rbac.Config
		want []string // every message, in order
	}{
		{"S25_cycle_two", rbac.Config{Roles: []rbac.Role{
			{Name: "a", Inherits: []string{"b"}}, {Name: "b", Inherits: []string{"a"}}}},
			[]string{`rbac: invalid policy: role "a": inheritance cycle: a -> b -> a`}},
		{"S25_cycle_self", rbac.Config{Roles: []rbac.Role{{Name: "a", Inherits: []string{"a"}}}},
			[]string{`rbac: invalid policy: role "a": inheritance cycle: a -> a`}},
		{"S25_cycle_long", rbac.Config{Roles: []rbac.Role{
			{Name: "x"}, {Name: "a", Inherits: []string{"x", "b"}}, {Name: "b", Inherits: []string{"c"}},
			{Name: "c", Inherits: []string{"a"}}}},
			[]string{`rbac: invalid policy: role "a": inheritance cycle: a -> b -> c -> a`}},
		{"unknown_parent", rbac.Config{Roles: []rbac.Role{{Name: "a", Inherits: []string{"writter"}}}},
			[]string{`rbac: invalid policy: role "a": inherits unknown role "writter"`}},
		{"duplicate_role", rbac.Config{Roles: []rbac.Role{{Name: "a"}, {Name: "a"}}},
			[]string{`rbac: invalid policy: role "a": defined more than once`}},
		{"bad_role_name", rbac.Config{Roles: []rbac.Role{{Name: "Admin"}, {Name: ""}}},
			[]string{`rbac: invalid policy: role #0: name "Admin" contains an upper-case letter (names are lower-case)`,
				`rbac: invalid policy: role #1: name "" is empty`}},
		{"bad_permission", rbac.Config{Roles: []rbac.Role{{Name: "a", Permissions: []string{"posts:read", "*:read", "posts"}}}},
			[]string{`rbac: invalid policy: role "a": bad permission: invalid permission "*:read": wildcard resource "*" is not supported (use "*" alone for every permission)`,
				`rbac: invalid policy: role "a": bad permission: invalid permission "posts": missing ":" between resource and action`}},
		{"duplicate_permission", rbac.Config{Roles: []rbac.Role{{Name: "a", Permissions: []string{"p:r", "p:r"}}}},
			[]string{`rbac: invalid policy: role "a": permission "p:r" listed more than once`}},
		{"duplicate_inherit", rbac.Config{Roles: []rbac.Role{{Name: "a"}, {Name: "b", Inherits: []string{"a", "a"}}}},
			[]string{`rbac: invalid policy: role "b": inherits "a" more than once`}},
		{"rule_problems", rbac.Config{Rules: []rbac.Rule{
			{Permission: "p:r", Check: okCheck},
			{Name: "n1", Permission: "p:r"},
			{Name: "n2", Permission: "p:*", Check: okCheck},
			{Name: "n3", Permission: "*", Check: okCheck},
			{Name: "n4", Permission: "bad", Check: okCheck},
			{Name: "n5", Permission: "p:r", Check: okCheck},
			{Name: "n5", Permission: "p:r", Check: okCheck},
		}}, []string{
			`rbac: invalid policy: rule #0 has no name`,
			`rbac: invalid policy: rule "n1": has no Check func`,
			`rbac: invalid policy: rule "n2": permission "p:*" is a wildcard; a rule must name one concrete permission`,
			`rbac: invalid policy: rule "n3": permission "*" is a wildcard; a rule must name one concrete permission`,
			`rbac: invalid policy: rule "n4": bad permission: invalid permission "bad": missing ":" between resource and action`,
			`rbac: invalid policy: rule "n5": defined more than once`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := rbac.New(c.cfg)
			if p != nil || err == nil {
				t.Fatalf("New = %v, %v; want error", p, err)
			}
			if !errors.Is(err, rbac.ErrInvalidConfig) {
				t.Errorf("errors.Is(err, ErrInvalidConfig) = false for %v", err)
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, c.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, c.want)
			}
		})
	}
	// The cycle's roles are available to errors.As.
	_, err := rbac.New(rbac.Config{Roles: []rbac.Role{{Name: "a", Inherits: []string{"b"}}, {Name: "b", Inherits: []string{"a"}}}})
	var pe *rbac.PolicyError
	if !errors.As(err, &pe) || !slices.Equal(pe.Cycle, []string{"a", "b", "a"}) {
		t.Errorf("PolicyError.Cycle = %v (%v)", pe, err)
	}
	// A bad permission's cause is reachable.
	_, err = rbac.New(rbac.Config{Roles: []rbac.Role{{Name: "a", Permissions: []string{"x"}}}})
	if !errors.Is(err, rbac.ErrInvalidPermission) {
		t.Errorf("bad permission error does not wrap ErrInvalidPermission: %v", err)
	}
	if _, err := rbac.New(rbac.Config{Roles: make([]rbac.Role, rbac.MaxRoles+1)}); !errors.Is(err, rbac.ErrInvalidConfig) {
		t.Errorf("too many roles: %v", err)
	}
}

type post struct {
	ID, Author, Tenant string
}

func (p *post) RBACTenant() string { return p.Tenant }

func ownPostsRule() rbac.Rule {
	return rbac.ObjectRule("own-posts", "posts:edit", func(_ context.Context, s rbac.Subject, p *post) bool {
		return p.Author == s.ID
	})
}

// TestAuthorizationRules covers deny by default, wildcards, cycles, object rules
// and revocation (ASVS 8.2.1, 8.2.2, 8.3.2).
func TestAuthorizationRules(t *testing.T) {
	ctx := context.Background()

	t.Run("deny_by_default", func(t *testing.T) {
		empty := mustNew(t, rbac.Config{})
		var nilPolicy *rbac.Policy
		p := mustNew(t, blogConfig())
		checks := []struct {
			name string
			got  bool
		}{
			{"empty policy", empty.Can([]string{"admin"}, "posts:read")},
			{"nil policy", nilPolicy.Can([]string{"admin"}, "posts:read")},
			{"nil policy roleset", nilPolicy.Resolve(rbac.Subject{Roles: []string{"admin"}}, "").Can("posts:read")},
			{"zero roleset", rbac.RoleSet{}.Can("posts:read")},
			{"no roles", p.Can(nil, "posts:read")},
			{"unknown role", p.Can([]string{"superuser"}, "posts:read")},
			{"unmentioned permission", p.Can([]string{"admin"}, "billing:refund")},
			{"malformed permission", p.Can([]string{"admin"}, "posts")},
			{"empty permission", p.Can([]string{"admin"}, "")},
		}
		for _, c := range checks {
			if c.got {
				t.Errorf("%s: allowed, want denied", c.name)
			}
		}
		err := p.Authorize(ctx, rbac.Subject{ID: "u1"}, "", "posts:read", nil)
		if !errors.Is(err, rbac.ErrDenied) {
			t.Errorf("Authorize with no roles = %v, want ErrDenied", err)
		}
		if err := nilPolicy.Authorize(ctx, rbac.Subject{Roles: []string{"admin"}}, "", "posts:read", nil); !errors.Is(err, rbac.ErrDenied) {
			t.Errorf("nil policy Authorize = %v", err)
		}
	})

	t.Run("posts_wildcard_not_postsx", func(t *testing.T) {
		p := mustNew(t, rbac.Config{Roles: []rbac.Role{{Name: "w", Permissions: []string{"posts:*"}}}})
		if !p.Can([]string{"w"}, "posts:read") {
			t.Error("posts:* does not grant posts:read")
		}
		if p.Can([]string{"w"}, "postsx:read") {
			t.Error("posts:* grants postsx:read")
		}
		// Also when postsx:read is a permission the policy knows.
		p = mustNew(t, rbac.Config{Roles: []rbac.Role{{Name: "w", Permissions: []string{"posts:*"}}, {Name: "x", Permissions: []string{"postsx:read"}}}})
		if p.Can([]string{"w"}, "postsx:read") {
			t.Error("posts:* grants known postsx:read")
		}
	})

	t.Run("cycle_terminates", func(t *testing.T) {
		// New must return (not loop) and reject; checks are never reached.
		done := make(chan error, 1)
		go func() {
			_, err := rbac.New(rbac.Config{Roles: []rbac.Role{
				{Name: "a", Inherits: []string{"b"}, Permissions: []string{"p:a"}},
				{Name: "b", Inherits: []string{"a"}, Permissions: []string{"p:b"}},
			}})
			done <- err
		}()
		err := <-done
		if err == nil || !strings.Contains(err.Error(), "inheritance cycle: a -> b -> a") {
			t.Errorf("cycle: %v", err)
		}
		// Also through JSON.
		cfg, err := rbac.ParseJSON([]byte(`{"roles":[{"name":"a","inherits":["b"]},{"name":"b","inherits":["a"]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rbac.New(cfg); err == nil || !strings.Contains(err.Error(), "a -> b -> a") {
			t.Errorf("JSON cycle: %v", err)
		}
	})

	t.Run("other_users_object_denied", func(t *testing.T) {
		cfg := rbac.Config{Roles: []rbac.Role{{Name: "editor", Permissions: []string{"posts:edit"}}}, Rules: []rbac.Rule{ownPostsRule()}}
		p := mustNew(t, cfg)
		alice := rbac.Subject{ID: "alice", Roles: []string{"editor"}}
		// The role check alone passes for both posts: only the object rule
		// separates them, so removing it makes this test fail.
		if !p.Can(alice.Roles, "posts:edit") {
			t.Fatal("editor cannot posts:edit")
		}
		if err := p.Authorize(ctx, alice, "", "posts:edit", &post{ID: "1", Author: "alice"}); err != nil {
			t.Errorf("own post: %v", err)
		}
		err := p.Authorize(ctx, alice, "", "posts:edit", &post{ID: "2", Author: "bob"})
		var de *rbac.DeniedError
		if !errors.Is(err, rbac.ErrDenied) || !errors.As(err, &de) {
			t.Fatalf("other's post: %v, want DeniedError", err)
		}
		if de.Decision.Rule != "own-posts" || de.Decision.Allowed {
			t.Errorf("decision = %+v", de.Decision)
		}
		want := `rbac: permission denied: deny "posts:edit" subject "alice": object rule "own-posts" denied`
		if err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		// Fail closed on a missing or wrongly typed object.
		for _, obj := range []any{nil, (*post)(nil), post{Author: "alice"}, "alice"} {
			if err := p.Authorize(ctx, alice, "", "posts:edit", obj); !errors.Is(err, rbac.ErrDenied) {
				t.Errorf("object %#v: %v, want denied", obj, err)
			}
		}
	})

	t.Run("revoked_role_applies_next_check", func(t *testing.T) {
		a, err := rbac.NewAuthorizer(mustNew(t, blogConfig()))
		if err != nil {
			t.Fatal(err)
		}
		s := rbac.Subject{ID: "u", Roles: []string{"editor"}}
		if err := a.Authorize(ctx, s, "", "posts:write", nil); err != nil {
			t.Fatalf("before revoke: %v", err)
		}
		// Revoke posts:write from editor.
		cfg := blogConfig()
		cfg.Roles[1].Permissions = []string{"comments:*"}
		if err := a.SetPolicy(mustNew(t, cfg)); err != nil {
			t.Fatal(err)
		}
		if err := a.Authorize(ctx, s, "", "posts:write", nil); !errors.Is(err, rbac.ErrDenied) {
			t.Errorf("after revoke: %v, want denied", err)
		}
		if a.Can(s.Roles, "posts:write") || a.Resolve(s, "").Can("posts:write") {
			t.Error("Can after revoke: allowed")
		}
		// Remove the role entirely through JSON.
		if err := a.ReloadJSON([]byte(`{"roles":[{"name":"viewer","permissions":["posts:read"]}]}`)); err != nil {
			t.Fatal(err)
		}
		if a.Can([]string{"editor"}, "posts:read") {
			t.Error("removed role still grants")
		}
		// A bad reload keeps the current policy.
		before := a.Policy()
		if err := a.ReloadJSON([]byte(`{"roles":[{"name":"a","inherits":["a"]}]}`)); err == nil {
			t.Error("bad reload accepted")
		}
		if a.Policy() != before {
			t.Error("bad reload replaced the policy")
		}
		if err := a.SetPolicy(nil); !errors.Is(err, rbac.ErrNilPolicy) || a.Policy() != before {
			t.Errorf("SetPolicy(nil) = %v", err)
		}
	})
}

func TestReloadKeepsRules(t *testing.T) {
	cfg := rbac.Config{Roles: []rbac.Role{{Name: "editor", Permissions: []string{"posts:edit"}}}, Rules: []rbac.Rule{ownPostsRule()}}
	a, _ := rbac.NewAuthorizer(mustNew(t, cfg))
	if err := a.ReloadJSON([]byte(`{"roles":[{"name":"editor","permissions":["posts:*"]}]}`)); err != nil {
		t.Fatal(err)
	}
	err := a.Authorize(context.Background(), rbac.Subject{ID: "alice", Roles: []string{"editor"}}, "", "posts:edit", &post{Author: "bob"})
	if !errors.Is(err, rbac.ErrDenied) {
		t.Errorf("rule lost on reload: %v", err)
	}
}

// TestTenantIsolation checks ASVS 8.4.1: tenant roles never cross tenants.
func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	p := mustNew(t, rbac.Config{Roles: []rbac.Role{
		{Name: "member", Permissions: []string{"docs:read"}},
		{Name: "owner", Inherits: []string{"member"}, Permissions: []string{"docs:*", "billing:read"}},
		{Name: "support", Permissions: []string{"tickets:read"}},
	}})
	s := rbac.Subject{ID: "u1", Roles: []string{"support"}, TenantRoles: map[string][]string{
		"acme":   {"owner"},
		"globex": {"member"},
		"":       {"owner"}, // must never be read
	}}
	cases := []struct {
		tenant, perm string
		want         bool
	}{
		{"acme", "docs:delete", true},
		{"acme", "billing:read", true},
		{"globex", "docs:read", true},
		{"globex", "docs:delete", false}, // owner in acme only
		{"globex", "billing:read", false},
		{"initech", "docs:read", false}, // no roles there
		{"", "docs:read", false},        // no tenant: global roles only; TenantRoles[""] ignored
		{"", "tickets:read", true},      // global role
		{"acme", "tickets:read", true},  // global role applies in every tenant
		{"ACME", "docs:read", false},    // tenants compare exactly
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("8.4.1_%s_%s", c.tenant, c.perm), func(t *testing.T) {
			if got := p.Resolve(s, c.tenant).Can(c.perm); got != c.want {
				t.Errorf("RoleSet.Can = %v, want %v", got, c.want)
			}
			err := p.Authorize(ctx, s, c.tenant, c.perm, nil)
			if (err == nil) != c.want {
				t.Errorf("Authorize = %v, want allowed=%v", err, c.want)
			}
		})
	}
	// A tenant-scoped object from another tenant is refused even though the
	// role check passes in the check's tenant.
	doc := &post{ID: "d1", Tenant: "globex"}
	err := p.Authorize(ctx, s, "acme", "docs:read", doc)
	var de *rbac.DeniedError
	if !errors.As(err, &de) || de.Decision.Reason != `object belongs to tenant "globex", not to the tenant of the check` {
		t.Errorf("8.4.1 cross-tenant object: %v", err)
	}
	if err := p.Authorize(ctx, s, "globex", "docs:read", doc); err != nil {
		t.Errorf("same-tenant object: %v", err)
	}
	if err := p.Authorize(ctx, s, "", "tickets:read", doc); !errors.Is(err, rbac.ErrDenied) {
		t.Errorf("tenant object in a tenant-less check: %v", err)
	}
}

func TestDecide(t *testing.T) {
	ctx := context.Background()
	cfg := blogConfig()
	cfg.Rules = []rbac.Rule{rbac.ObjectRule("own-posts", "posts:write", func(_ context.Context, s rbac.Subject, p *post) bool { return p.Author == s.ID })}
	p := mustNew(t, cfg)
	cases := []struct {
		name   string
		s      rbac.Subject
		tenant string
		perm   string
		obj    any
		want   rbac.Decision
	}{
		{"direct", rbac.Subject{ID: "u", Roles: []string{"viewer"}}, "", "posts:read", nil, rbac.Decision{
			Allowed: true, SubjectID: "u", Permission: "posts:read", Role: "viewer", Via: []string{"viewer"}, Grant: "posts:read",
			Reason: `role "viewer" grants "posts:read"`}},
		{"inherited", rbac.Subject{ID: "u", Roles: []string{"admin"}}, "", "comments:purge", nil, rbac.Decision{
			Allowed: true, SubjectID: "u", Permission: "comments:purge", Role: "admin", Via: []string{"admin", "editor"}, Grant: "comments:*",
			Reason: `role "admin" inherits "editor" via admin -> editor, which grants "comments:*"`}},
		{"tenant", rbac.Subject{ID: "u", TenantRoles: map[string][]string{"t1": {"root"}}}, "t1", "x:y", nil, rbac.Decision{
			Allowed: true, SubjectID: "u", Tenant: "t1", Permission: "x:y", Role: "root", Via: []string{"root"}, Grant: "*",
			Reason: `role "root" grants "*"`}},
		{"rule_passed", rbac.Subject{ID: "u", Roles: []string{"editor"}}, "", "posts:write", &post{Author: "u"}, rbac.Decision{
			Allowed: true, SubjectID: "u", Permission: "posts:write", Role: "editor", Via: []string{"editor"}, Grant: "posts:write",
			Reason: `role "editor" grants "posts:write"; 1 object rule(s) passed`}},
		{"rule_denied", rbac.Subject{ID: "u", Roles: []string{"editor"}}, "", "posts:write", &post{Author: "v"}, rbac.Decision{
			SubjectID: "u", Permission: "posts:write", Rule: "own-posts", Reason: `object rule "own-posts" denied`}},
		{"no_role", rbac.Subject{ID: "u", Roles: []string{"viewer", "ghost"}}, "", "users:delete", nil, rbac.Decision{
			SubjectID: "u", Permission: "users:delete",
			Reason: `no role of "viewer", "ghost" grants it (roles not in the policy: "ghost")`}},
		{"no_roles", rbac.Subject{ID: "u"}, "", "users:delete", nil, rbac.Decision{
			SubjectID: "u", Permission: "users:delete", Reason: `subject has no roles`}},
		{"no_roles_tenant", rbac.Subject{ID: "u"}, "t", "users:delete", nil, rbac.Decision{
			SubjectID: "u", Tenant: "t", Permission: "users:delete", Reason: `subject has no global roles and no roles in this tenant`}},
		{"invalid", rbac.Subject{ID: "u", Roles: []string{"root"}}, "", "posts", nil, rbac.Decision{
			SubjectID: "u", Permission: "posts", Reason: `invalid permission "posts": missing ":" between resource and action`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := p.Decide(ctx, c.s, c.tenant, c.perm, c.obj)
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", c.want) {
				t.Errorf("Decide:\n got %#v\nwant %#v", got, c.want)
			}
			err := p.Authorize(ctx, c.s, c.tenant, c.perm, c.obj)
			if (err == nil) != got.Allowed {
				t.Errorf("Authorize = %v disagrees with Decide %v", err, got.Allowed)
			}
			var de *rbac.DeniedError
			if err != nil && (!errors.As(err, &de) || fmt.Sprintf("%#v", de.Decision) != fmt.Sprintf("%#v", c.want)) {
				t.Errorf("DeniedError decision = %#v", de)
			}
		})
	}
	d := p.Decide(ctx, rbac.Subject{ID: "u", Roles: []string{"admin"}}, "acme", "comments:purge", nil)
	want := `allow "comments:purge" tenant "acme" subject "u": role "admin" inherits "editor" via admin -> editor, which grants "comments:*"`
	if d.String() != want {
		t.Errorf("String = %q, want %q", d.String(), want)
	}
}

func TestRuleOrderAndAND(t *testing.T) {
	var calls []string
	mk := func(name string, ok bool) rbac.Rule {
		return rbac.Rule{Name: name, Permission: "docs:edit", Check: func(context.Context, rbac.Subject, any) bool {
			calls = append(calls, name)
			return ok
		}}
	}
	p := mustNew(t, rbac.Config{
		Roles: []rbac.Role{{Name: "r", Permissions: []string{"docs:*"}}},
		Rules: []rbac.Rule{mk("first", true), mk("second", false), mk("third", true)},
	})
	err := p.Authorize(context.Background(), rbac.Subject{Roles: []string{"r"}}, "", "docs:edit", 1)
	var de *rbac.DeniedError
	if !errors.As(err, &de) || de.Decision.Rule != "second" {
		t.Errorf("err = %v", err)
	}
	if !slices.Equal(calls, []string{"first", "second"}) {
		t.Errorf("calls = %v", calls)
	}
	// Rules are not consulted when the role check fails.
	calls = nil
	_ = p.Authorize(context.Background(), rbac.Subject{Roles: []string{"x"}}, "", "docs:edit", 1)
	if len(calls) != 0 {
		t.Errorf("rules ran for a denied role: %v", calls)
	}
	// A permission without rules is role-only.
	if err := p.Authorize(context.Background(), rbac.Subject{Roles: []string{"r"}}, "", "docs:read", nil); err != nil {
		t.Error(err)
	}
}

func TestConfigCopies(t *testing.T) {
	cfg := blogConfig()
	p := mustNew(t, cfg)
	cfg.Roles[0].Permissions[0] = "users:delete" // mutate caller's config after New
	if p.Can([]string{"viewer"}, "users:delete") || !p.Can([]string{"viewer"}, "posts:read") {
		t.Error("policy aliases the caller's Config")
	}
	got := p.Config()
	got.Roles[0].Permissions[0] = "x:y"
	if p.Config().Roles[0].Permissions[0] != "posts:read" {
		t.Error("Config() aliases the policy")
	}
	if !slices.Equal(p.Roles(), []string{"viewer", "editor", "admin", "root"}) {
		t.Errorf("Roles = %v", p.Roles())
	}
}

func TestZeroAllocs(t *testing.T) {
	p := mustNew(t, blogConfig())
	a, _ := rbac.NewAuthorizer(p)
	s := rbac.Subject{ID: "u", Roles: []string{"viewer"}, TenantRoles: map[string][]string{"t": {"admin"}}}
	rs := p.Resolve(s, "t")
	roles := []string{"admin"}
	ctx := context.Background()
	var obj any = &struct{ ID string }{"o1"} // no tenant scope: the receiver probe must not allocate
	var sink bool
	checks := map[string]func(){
		"Can/inherited":       func() { sink = p.Can(roles, "posts:read") },
		"Can/denied":          func() { sink = p.Can(roles, "billing:read") },
		"Can/unknown_wild":    func() { sink = p.Can(roles, "comments:zap") },
		"Can/malformed":       func() { sink = p.Can(roles, "nope") },
		"RoleSet.Can":         func() { sink = rs.Can("users:delete") },
		"Resolve":             func() { sink = p.Resolve(s, "t").Can("posts:read") },
		"Authorizer.Can":      func() { sink = a.Can(roles, "posts:read") },
		"Authorize/allowed":   func() { sink = p.Authorize(ctx, s, "t", "posts:write", nil) == nil },
		"Authorize/object":    func() { sink = p.Authorize(ctx, s, "t", "posts:read", obj) == nil },
		"Authorizer.Resolved": func() { sink = a.Resolve(s, "t").Can("posts:read") },
	}
	for name, f := range checks {
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocs, want 0", name, n)
		}
	}
	_ = sink
}

// TestConcurrentSwap checks under -race that checks and swaps can run
// together, and that a check after a swap sees the new policy.
func TestConcurrentSwap(t *testing.T) {
	allow := mustNew(t, rbac.Config{Roles: []rbac.Role{{Name: "r", Permissions: []string{"p:x"}}}})
	deny := mustNew(t, rbac.Config{Roles: []rbac.Role{{Name: "r"}}})
	a, _ := rbac.NewAuthorizer(allow)
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if g%8 == 0 && i%10 == 0 {
					if i%20 == 0 {
						_ = a.SetPolicy(deny)
					} else {
						_ = a.SetPolicy(allow)
					}
					continue
				}
				_ = a.Can([]string{"r"}, "p:x")
				_ = a.Authorize(context.Background(), rbac.Subject{Roles: []string{"r"}}, "", "p:x", nil)
			}
		}()
	}
	wg.Wait()
	_ = a.SetPolicy(deny)
	if a.Can([]string{"r"}, "p:x") {
		t.Error("check after swap used the old policy")
	}
}

// TestTenantScopeByValueFailsClosed: an object passed by value whose
// RBACTenant method has a pointer receiver does not implement TenantScoped;
// it must be refused, not checked as if it had no tenant.
func TestTenantScopeByValueFailsClosed(t *testing.T) {
	ctx := context.Background()
	p := mustNew(t, rbac.Config{Roles: []rbac.Role{{Name: "member", Permissions: []string{"docs:read"}}}})
	s := rbac.Subject{ID: "u1", TenantRoles: map[string][]string{"acme": {"member"}}}
	err := p.Authorize(ctx, s, "acme", "docs:read", post{ID: "d1", Tenant: "globex"})
	var de *rbac.DeniedError
	if !errors.As(err, &de) || de.Decision.Reason != "object of type rbac_test.post implements TenantScoped only through a pointer: pass a pointer" {
		t.Fatalf("value of a pointer-scoped type: %v", err)
	}
	// Even in its own tenant: the scope cannot be read, so it is refused.
	if err := p.Authorize(ctx, s, "globex", "docs:read", post{ID: "d1", Tenant: "globex"}); !errors.Is(err, rbac.ErrDenied) {
		t.Fatalf("value in its own tenant: %v", err)
	}
	if err := p.Authorize(ctx, s, "acme", "docs:read", &post{ID: "d1", Tenant: "acme"}); err != nil {
		t.Fatalf("pointer in its tenant: %v", err)
	}
}
