package main

import "github.com/authkit-go/authkit/rbac"

// Roles and permissions of the example. Everyone signing up is a viewer;
// the -admin-email account and imported users with "admin" are admins.
const (
	roleViewer = "viewer"
	roleAdmin  = "admin"

	permProfileRead = "profile:read"
	permSessionsOwn = "sessions:manage"
	permAdminStats  = "admin:stats"
	permAdminUsers  = "users:read"
)

// newPolicy compiles the example's role-based access control policy:
// admin inherits everything a viewer may do.
func newPolicy() (*rbac.Authorizer, error) {
	p, err := rbac.New(rbac.Config{Roles: []rbac.Role{
		{Name: roleViewer, Permissions: []string{permProfileRead, permSessionsOwn}},
		{Name: roleAdmin, Inherits: []string{roleViewer}, Permissions: []string{permAdminStats, permAdminUsers}},
	}})
	if err != nil {
		return nil, err
	}
	return rbac.NewAuthorizer(p)
}
