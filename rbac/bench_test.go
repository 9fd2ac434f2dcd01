package rbac_test

import (
	"testing"

	"github.com/authkit-go/authkit/rbac"
)

// Benchmarks beside the code; bench/rbac_test.go compares with casbin.
func BenchmarkCan(b *testing.B) {
	p := mustNew(b, rbac.Config{Roles: []rbac.Role{
		{Name: "viewer", Permissions: []string{"posts:read"}},
		{Name: "editor", Inherits: []string{"viewer"}, Permissions: []string{"posts:write", "comments:write"}},
		{Name: "admin", Inherits: []string{"editor"}, Permissions: []string{"users:delete", "admin:stats"}},
	}})
	m := map[string]map[string]bool{
		"viewer": {"posts:read": true},
		"editor": {"posts:read": true, "posts:write": true, "comments:write": true},
		"admin":  {"posts:read": true, "posts:write": true, "comments:write": true, "users:delete": true, "admin:stats": true},
	}
	cases := []struct{ name, role, perm string }{
		{"direct", "viewer", "posts:read"},
		{"inherited", "admin", "posts:read"},
		{"denied", "viewer", "users:delete"},
		{"unmentioned", "admin", "billing:read"},
	}
	var sink bool
	for _, c := range cases {
		roles := []string{c.role}
		rs := p.Resolve(rbac.Subject{Roles: roles}, "")
		b.Run(c.name+"/map", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = m[c.role][c.perm]
			}
		})
		b.Run(c.name+"/Can", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = p.Can(roles, c.perm)
			}
		})
		b.Run(c.name+"/RoleSet", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = rs.Can(c.perm)
			}
		})
	}
	wild := mustNew(b, rbac.Config{Roles: []rbac.Role{{Name: "editor", Permissions: []string{"posts:*", "comments:read"}}}})
	roles := []string{"editor"}
	rs := wild.Resolve(rbac.Subject{Roles: roles}, "")
	b.Run("wildcard_unmentioned/Can", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = wild.Can(roles, "posts:archive")
		}
	})
	b.Run("wildcard_unmentioned/RoleSet", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = rs.Can("posts:archive")
		}
	})
	_ = sink
}
