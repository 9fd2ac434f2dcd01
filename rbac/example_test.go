package rbac_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/authkit-go/authkit/rbac"
)

// Build a policy and check permissions by role name.
func Example() {
	p, err := rbac.New(rbac.Config{Roles: []rbac.Role{
		{Name: "viewer", Permissions: []string{"posts:read"}},
		{Name: "editor", Inherits: []string{"viewer"}, Permissions: []string{"posts:*"}},
		{Name: "admin", Inherits: []string{"editor"}, Permissions: []string{"admin:stats"}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Can([]string{"viewer"}, "posts:read"))
	fmt.Println(p.Can([]string{"viewer"}, "posts:delete"))
	fmt.Println(p.Can([]string{"admin"}, "posts:delete")) // inherited wildcard
	fmt.Println(p.Can([]string{"admin"}, "postsx:read"))  // posts:* never matches another resource
	// Output:
	// true
	// false
	// true
	// false
}

// Cycles and unknown roles are rejected when the policy is built.
func ExampleNew_errors() {
	_, err := rbac.New(rbac.Config{Roles: []rbac.Role{
		{Name: "a", Inherits: []string{"b"}},
		{Name: "b", Inherits: []string{"a", "c"}},
	}})
	fmt.Println(err)
	// Output:
	// rbac: invalid policy: role "b": inherits unknown role "c"
	// rbac: invalid policy: role "a": inheritance cycle: a -> b -> a
}

// Resolve a subject's roles once per request, then check many permissions.
func ExamplePolicy_Resolve() {
	p, _ := rbac.New(rbac.Config{Roles: []rbac.Role{
		{Name: "member", Permissions: []string{"docs:read"}},
		{Name: "owner", Inherits: []string{"member"}, Permissions: []string{"docs:*"}},
	}})
	s := rbac.Subject{ID: "u1", TenantRoles: map[string][]string{"acme": {"owner"}, "globex": {"member"}}}
	acme := p.Resolve(s, "acme")
	globex := p.Resolve(s, "globex")
	fmt.Println(acme.Can("docs:delete"), globex.Can("docs:read"), globex.Can("docs:delete"))
	fmt.Println(p.Resolve(s, "initech").Can("docs:read")) // no roles there
	// Output:
	// true true false
	// false
}

type Post struct{ ID, Author string }

// An object-level rule: editors may edit only their own posts.
func ExampleObjectRule() {
	p, _ := rbac.New(rbac.Config{
		Roles: []rbac.Role{{Name: "editor", Permissions: []string{"posts:edit"}}},
		Rules: []rbac.Rule{
			rbac.ObjectRule("own-posts", "posts:edit", func(_ context.Context, s rbac.Subject, post *Post) bool {
				return post.Author == s.ID
			}),
		},
	})
	alice := rbac.Subject{ID: "alice", Roles: []string{"editor"}}
	ctx := context.Background()
	fmt.Println(p.Authorize(ctx, alice, "", "posts:edit", &Post{ID: "1", Author: "alice"}))
	err := p.Authorize(ctx, alice, "", "posts:edit", &Post{ID: "2", Author: "bob"})
	fmt.Println(errors.Is(err, rbac.ErrDenied))
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// rbac: permission denied: deny "posts:edit" subject "alice": object rule "own-posts" denied
}

// Decide explains a decision for an audit log.
func ExamplePolicy_Decide() {
	p, _ := rbac.New(rbac.Config{Roles: []rbac.Role{
		{Name: "viewer", Permissions: []string{"posts:read"}},
		{Name: "admin", Inherits: []string{"viewer"}, Permissions: []string{"users:*"}},
	}})
	ctx := context.Background()
	s := rbac.Subject{ID: "u7", Roles: []string{"admin"}}
	fmt.Println(p.Decide(ctx, s, "", "posts:read", nil))
	fmt.Println(p.Decide(ctx, s, "", "billing:refund", nil))
	// Output:
	// allow "posts:read" subject "u7": role "admin" inherits "viewer" via admin -> viewer, which grants "posts:read"
	// deny "billing:refund" subject "u7": no role of "admin" grants it
}

// Load a policy from JSON and swap it in at run time.
func ExampleAuthorizer_ReloadJSON() {
	cfg, err := rbac.ParseJSON([]byte(`{"roles": [
		{"name": "viewer", "permissions": ["posts:read"]},
		{"name": "editor", "inherits": ["viewer"], "permissions": ["posts:write"]}
	]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := rbac.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := rbac.NewAuthorizer(p)
	fmt.Println(a.Can([]string{"editor"}, "posts:write"))

	// Revoke posts:write from editor; the next check sees it.
	err = a.ReloadJSON([]byte(`{"roles": [
		{"name": "viewer", "permissions": ["posts:read"]},
		{"name": "editor", "inherits": ["viewer"]}
	]}`))
	fmt.Println(err, a.Can([]string{"editor"}, "posts:write"))

	// A bad document is rejected with a precise error; the policy stays.
	fmt.Println(a.ReloadJSON([]byte(`{"roles": [{"name": "editor", "inherit": ["viewer"]}]}`)))
	// Output:
	// true
	// <nil> false
	// rbac: invalid policy: json: roles[0].inherit: unknown field
}
