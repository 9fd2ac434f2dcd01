package bench

import (
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/authkit-go/authkit/rbac"
)

// The RBAC model of docs/PERF.md: 3 roles, 5 permissions, 2-level inheritance
// (admin -> editor -> viewer). Every implementation is given the role name
// directly, as a check after authentication does.
const casbinRBACModel = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
`

var rbacGrants = []struct{ role, obj, act string }{
	{"viewer", "posts", "read"},
	{"editor", "posts", "write"},
	{"editor", "comments", "write"},
	{"admin", "users", "delete"},
	{"admin", "admin", "stats"},
}

var rbacInherits = [][2]string{{"editor", "viewer"}, {"admin", "editor"}}

// rbacCases: direct grant, grant inherited over two levels, denial.
var rbacCases = []struct {
	name, role, obj, act string
	want                 bool
}{
	{"direct", "viewer", "posts", "read", true},
	{"inherited", "admin", "posts", "read", true},
	{"denied", "viewer", "users", "delete", false},
}

func newCasbinRBAC(b *testing.B, cached bool) func(sub, obj, act string) (bool, error) {
	m, err := model.NewModelFromString(casbinRBACModel)
	if err != nil {
		b.Fatal(err)
	}
	var e casbin.IEnforcer
	if cached {
		ce, err := casbin.NewCachedEnforcer(m)
		if err != nil {
			b.Fatal(err)
		}
		e = ce
	} else {
		pe, err := casbin.NewEnforcer(m)
		if err != nil {
			b.Fatal(err)
		}
		e = pe
	}
	for _, g := range rbacGrants {
		if _, err := e.AddPolicy(g.role, g.obj, g.act); err != nil {
			b.Fatal(err)
		}
	}
	for _, in := range rbacInherits {
		if _, err := e.AddGroupingPolicy(in[0], in[1]); err != nil {
			b.Fatal(err)
		}
	}
	return func(sub, obj, act string) (bool, error) { return e.Enforce(sub, obj, act) }
}

// newMapRBAC is the plain-map anchor, with inheritance flattened by hand.
func newMapRBAC() map[string]map[string]bool {
	m := map[string]map[string]bool{
		"viewer": {"posts:read": true},
		"editor": {"posts:read": true, "posts:write": true, "comments:write": true},
		"admin":  {"posts:read": true, "posts:write": true, "comments:write": true, "users:delete": true, "admin:stats": true},
	}
	return m
}

func newOurRBAC(b *testing.B) *rbac.Policy {
	cfg := rbac.Config{}
	roles := map[string]*rbac.Role{}
	for _, name := range []string{"viewer", "editor", "admin"} {
		cfg.Roles = append(cfg.Roles, rbac.Role{Name: name})
	}
	for i := range cfg.Roles {
		roles[cfg.Roles[i].Name] = &cfg.Roles[i]
	}
	for _, g := range rbacGrants {
		r := roles[g.role]
		r.Permissions = append(r.Permissions, g.obj+":"+g.act)
	}
	for _, in := range rbacInherits {
		r := roles[in[0]]
		r.Inherits = append(r.Inherits, in[1])
	}
	p, err := rbac.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

var rbacSink bool

func BenchmarkRBAC(b *testing.B) {
	m := newMapRBAC()
	enforce := newCasbinRBAC(b, false)
	cachedEnforce := newCasbinRBAC(b, true)
	p := newOurRBAC(b)
	a, err := rbac.NewAuthorizer(p)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range rbacCases {
		perm := c.obj + ":" + c.act
		roles := []string{c.role}
		// Verify every implementation agrees before timing it.
		if got, _ := enforce(c.role, c.obj, c.act); got != c.want {
			b.Fatalf("casbin %s = %v", c.name, got)
		}
		if m[c.role][perm] != c.want || p.Can(roles, perm) != c.want || p.Resolve(rbac.Subject{Roles: roles}, "").Can(perm) != c.want {
			b.Fatalf("map/rbac disagree on %s", c.name)
		}
		b.Run("case="+c.name+"/impl=map", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rbacSink = m[c.role][perm]
			}
		})
		b.Run("case="+c.name+"/impl=casbin", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rbacSink, _ = enforce(c.role, c.obj, c.act)
			}
		})
		b.Run("case="+c.name+"/impl=casbin-cached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rbacSink, _ = cachedEnforce(c.role, c.obj, c.act)
			}
		})
		b.Run("case="+c.name+"/impl=authkit-Can", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rbacSink = p.Can(roles, perm)
			}
		})
		rs := p.Resolve(rbac.Subject{Roles: roles}, "")
		b.Run("case="+c.name+"/impl=authkit-RoleSet", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rbacSink = rs.Can(perm)
			}
		})
		b.Run("case="+c.name+"/impl=authkit-Authorizer", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rbacSink = a.Can(roles, perm)
			}
		})
	}
}
