package rbac_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/rbac"
)

func TestParseJSON(t *testing.T) {
	cfg, err := rbac.ParseJSON([]byte(`{"roles":[
		{"name":"viewer","permissions":["posts:read"],"description":"read only"},
		{"name":"editor","inherits":["viewer"],"permissions":["posts:*"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []rbac.Role{
		{Name: "viewer", Permissions: []string{"posts:read"}},
		{Name: "editor", Inherits: []string{"viewer"}, Permissions: []string{"posts:*"}},
	}
	if fmt.Sprint(cfg.Roles) != fmt.Sprint(want) {
		t.Errorf("roles = %v, want %v", cfg.Roles, want)
	}

	bad := []struct{ in, want string }{
		{``, `rbac: invalid policy: json: unexpected end of document`},
		{`[]`, `rbac: invalid policy: json: want an object`},
		{`{"roles":{}}`, `rbac: invalid policy: json: roles: want an array`},
		{`{"roles":[],"roles":[]}`, `rbac: invalid policy: json: roles: duplicate key`},
		{`{"role":[]}`, `rbac: invalid policy: json: role: unknown field`},
		{`{"roles":[{"name":"a","inherit":["b"]}]}`, `rbac: invalid policy: json: roles[0].inherit: unknown field`},
		{`{"roles":[{"name":"a","name":"admin"}]}`, `rbac: invalid policy: json: roles[0].name: duplicate key`},
		{`{"roles":[{"permissions":[]}]}`, `rbac: invalid policy: json: roles[0]: missing "name"`},
		{`{"roles":[{"name":"a","permissions":["x:y",1]}]}`, `rbac: invalid policy: json: roles[0].permissions[1]: want a string`},
		{`{"roles":[{"name":"a","permissions":null}]}`, `rbac: invalid policy: json: roles[0].permissions: want an array`},
		{`{"roles":[{"name":null}]}`, `rbac: invalid policy: json: roles[0].name: want a string`},
		{`{"roles":[{"name":"a","inherits":[["b"]]}]}`, `rbac: invalid policy: json: roles[0].inherits[0]: want a string`},
		{`{}`, `rbac: invalid policy: json: missing "roles" (use [] for a policy that denies everything)`},
		{`{"roles":[]} {}`, `rbac: invalid policy: json: trailing data after the policy object`},
		{`{"roles":[]}]`, `rbac: invalid policy: json: trailing data after the policy object`},
		{`{"roles":[{"name":"a"]}`, `rbac: invalid policy: json: roles[0]: syntax error: invalid character ']' after object key:value pair`},
	}
	for _, c := range bad {
		_, err := rbac.ParseJSON([]byte(c.in))
		if err == nil || err.Error() != c.want || !errors.Is(err, rbac.ErrInvalidConfig) {
			t.Errorf("ParseJSON(%s)\n got %v\nwant %s", c.in, err, c.want)
		}
	}
	// A Config marshalled with encoding/json parses back to the same roles.
	p := mustNew(t, blogConfig())
	data, err := json.Marshal(p.Config())
	if err != nil {
		t.Fatal(err)
	}
	back, err := rbac.ParseJSON(data)
	if err != nil || fmt.Sprint(back.Roles) != fmt.Sprint(blogConfig().Roles) {
		t.Errorf("round trip: %v %v (%s)", back.Roles, err, data)
	}
	if cfg, err := rbac.ParseJSON([]byte(`{"roles":[]}`)); err != nil || cfg.Roles == nil || len(cfg.Roles) != 0 {
		t.Errorf("empty roles: %#v, %v", cfg, err)
	}
	big := []byte(`{"roles":[` + strings.Repeat(" ", rbac.MaxJSONSize) + `]}`)
	if _, err := rbac.ParseJSON(big); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("oversized document: %v", err)
	}
}

// reference is a deliberately naive model of the semantics: walk the
// inheritance graph for every check and match grants textually.
func reference(cfg rbac.Config, roles []string, perm string) bool {
	if rbac.ValidatePermission(perm) != nil {
		return false
	}
	defs := map[string]rbac.Role{}
	for _, r := range cfg.Roles {
		defs[r.Name] = r
	}
	seen := map[string]bool{}
	stack := slices.Clone(roles)
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		r, ok := defs[name]
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		for _, g := range r.Permissions {
			if g == "*" || g == perm ||
				(strings.HasSuffix(g, ":*") && perm != "*" && strings.HasPrefix(perm, strings.TrimSuffix(g, "*"))) {
				return true
			}
		}
		stack = append(stack, r.Inherits...)
	}
	return false
}

// checkAgainstReference compares every check form with the reference model
// for every role and a set of permissions.
func checkAgainstReference(t *testing.T, cfg rbac.Config, perms []string) {
	t.Helper()
	p, err := rbac.New(cfg)
	if err != nil {
		return
	}
	for _, r := range cfg.Roles {
		for _, perm := range perms {
			want := reference(cfg, []string{r.Name}, perm)
			if got := p.Can([]string{r.Name}, perm); got != want {
				t.Fatalf("Can(%q, %q) = %v, reference %v; policy %+v", r.Name, perm, got, want, cfg.Roles)
			}
			if got := p.Resolve(rbac.Subject{Roles: []string{r.Name}}, "").Can(perm); got != want {
				t.Fatalf("RoleSet.Can(%q, %q) = %v, reference %v", r.Name, perm, got, want)
			}
			if got := p.Decide(t.Context(), rbac.Subject{Roles: []string{r.Name}}, "", perm, nil).Allowed; got != want {
				t.Fatalf("Decide(%q, %q) = %v, reference %v", r.Name, perm, got, want)
			}
		}
	}
}

func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	resources := []string{"p", "posts", "postsx", "a.b"}
	actions := []string{"r", "w", "*", "read"}
	var allPerms []string
	for _, r := range resources {
		for _, a := range actions {
			allPerms = append(allPerms, r+":"+a)
		}
	}
	allPerms = append(allPerms, "*", "zz:unknown", "posts:zzz", "bad", "*:r")
	for range 40 {
		n := 1 + rng.IntN(72) // crosses the 64-role word boundary sometimes
		cfg := rbac.Config{}
		for i := range n {
			r := rbac.Role{Name: fmt.Sprintf("r%d", i)}
			for j := range i { // only earlier roles: acyclic
				if rng.IntN(n) < 2 {
					r.Inherits = append(r.Inherits, fmt.Sprintf("r%d", j))
				}
			}
			for _, perm := range allPerms[:len(allPerms)-4] {
				if rng.IntN(20) == 0 {
					r.Permissions = append(r.Permissions, perm)
				}
			}
			cfg.Roles = append(cfg.Roles, r)
		}
		checkAgainstReference(t, cfg, allPerms)
	}
}

// FuzzParseJSON feeds arbitrary documents to the loader: it must never
// panic, and any policy it accepts must agree with the reference model.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"roles":[{"name":"viewer","permissions":["posts:read"]},{"name":"editor","inherits":["viewer"],"permissions":["posts:*"]}]}`,
		`{"roles":[{"name":"a","inherits":["b"]},{"name":"b","inherits":["a"]}]}`,
		`{"roles":[{"name":"root","permissions":["*"]},{"name":"x","permissions":["postsx:read"]}]}`,
		`{"roles":[{"name":"a","permissions":["*:read","posts"]}]}`,
		`{"roles":[],"roles":[]}`,
		`{"roles":[{"name":"a","name":"b"}]}`,
		`{"roles":[{"name":"a","inherits":["a"]}]}`,
		`{"roles":null}`,
		`[[[[[[`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := rbac.ParseJSON(data)
		if err != nil {
			if !errors.Is(err, rbac.ErrInvalidConfig) {
				t.Fatalf("error without ErrInvalidConfig: %v", err)
			}
			return
		}
		p, err := rbac.New(cfg)
		if err != nil {
			if !errors.Is(err, rbac.ErrInvalidConfig) {
				t.Fatalf("New error without ErrInvalidConfig: %v", err)
			}
			return
		}
		perms := []string{"*", "posts:read", "postsx:read", "posts:*", "x:y"}
		for _, r := range cfg.Roles {
			perms = append(perms, r.Permissions...)
		}
		if len(perms) > 64 {
			perms = perms[:64]
		}
		checkAgainstReference(t, cfg, perms)
		_ = p
	})
}

// FuzzPermission checks the permission grammar and the wildcard matching
// for arbitrary strings.
func FuzzPermission(f *testing.F) {
	for _, s := range []string{"posts:read", "posts:*", "*", "postsx:read", "*:read", "post*:x", "posts", ":", "a:b:c", "Posts:read", "posts:re\x00ad"} {
		f.Add(s)
	}
	p, err := rbac.New(rbac.Config{Roles: []rbac.Role{
		{Name: "posts", Permissions: []string{"posts:*"}},
		{Name: "read", Permissions: []string{"posts:read"}},
		{Name: "root", Permissions: []string{"*"}},
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, perm string) {
		err := rbac.ValidatePermission(perm)
		valid := err == nil
		if !valid && !errors.Is(err, rbac.ErrInvalidPermission) {
			t.Fatalf("error %v without ErrInvalidPermission", err)
		}
		if got := p.Can([]string{"root"}, perm); got != valid {
			t.Fatalf("root Can(%q) = %v, valid = %v", perm, got, valid)
		}
		wantPosts := valid && perm != "*" && strings.HasPrefix(perm, "posts:")
		if got := p.Can([]string{"posts"}, perm); got != wantPosts {
			t.Fatalf("posts:* Can(%q) = %v, want %v", perm, got, wantPosts)
		}
		if got := p.Can([]string{"read"}, perm); got != (perm == "posts:read") {
			t.Fatalf("posts:read Can(%q) = %v", perm, got)
		}
		if valid {
			// A valid permission is accepted in a policy and granted to its holder.
			q, err := rbac.New(rbac.Config{Roles: []rbac.Role{{Name: "h", Permissions: []string{perm}}}})
			if err != nil || !q.Can([]string{"h"}, perm) {
				t.Fatalf("valid %q: New err %v or not granted", perm, err)
			}
		}
	})
}
