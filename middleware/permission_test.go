package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/rbac"
)

func mustAuthorizer(t testing.TB, cfg rbac.Config) *rbac.Authorizer {
	t.Helper()
	pol, err := rbac.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	authz, err := rbac.NewAuthorizer(pol)
	if err != nil {
		t.Fatal(err)
	}
	return authz
}

// denials collects onDeny calls.
type denials struct{ got []string }

func (d *denials) hook(r *http.Request, err error) {
	pe, ok := errors.AsType[*middleware.PermissionError](err)
	if !ok || !errors.Is(err, middleware.ErrForbidden) {
		panic("onDeny without a *PermissionError")
	}
	d.got = append(d.got, pe.Principal.Subject+" "+pe.Permission)
}

func TestRequirePermission(t *testing.T) {
	f := newKeyFixture(t)
	a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: f.verifier(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	authz := mustAuthorizer(t, rbac.Config{Roles: []rbac.Role{
		{Name: "admin", Inherits: []string{"viewer"}, Permissions: []string{"admin:stats"}},
		{Name: "viewer", Permissions: []string{"posts:read"}}}})
	var d denials
	h := &recordPrincipal{}
	chain := a.RequireAuth(middleware.RequirePermission(authz, "admin:stats", d.hook)(h))
	for _, tt := range []struct {
		name   string
		roles  []string
		status int
		body   string
		denied string
	}{
		{"admin_allowed", []string{"admin"}, 204, "", ""},
		{"viewer_denied", []string{"viewer"}, 403, bodyForbidden, "u admin:stats"},
		{"no_roles_denied_by_default", nil, 403, bodyForbidden, "u admin:stats"},
		{"unknown_role_denied", []string{"root"}, 403, bodyForbidden, "u admin:stats"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d.got, h.reached = nil, false
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+f.token(t, jwt.AccessTokenRequest{Subject: "u", Roles: tt.roles}))
			w := httptest.NewRecorder()
			chain.ServeHTTP(w, r)
			if w.Code != tt.status || h.reached != (tt.status == 204) {
				t.Fatalf("status %d reached %v, want %d", w.Code, h.reached, tt.status)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Fatalf("body %q, want %q", w.Body.String(), tt.body)
			}
			if strings.Join(d.got, "|") != tt.denied {
				t.Fatalf("denials audited %q, want %q", d.got, tt.denied)
			}
		})
	}
	// A revoked permission applies on the next request (ASVS 8.3.2).
	pol, err := rbac.New(rbac.Config{Roles: []rbac.Role{{Name: "admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := authz.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+f.token(t, jwt.AccessTokenRequest{Subject: "u", Roles: []string{"admin"}}))
	w := httptest.NewRecorder()
	chain.ServeHTTP(w, r)
	if w.Code != 403 {
		t.Fatalf("after policy swap: status %d, want 403", w.Code)
	}
	// Without RequireAuth in front: 401, never a pass.
	w = httptest.NewRecorder()
	h.reached = false
	middleware.RequirePermission(authz, "admin:stats", nil)(h).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 401 || h.reached || w.Body.String() != bodyUnauthenticated || w.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("no principal: status %d reached %v, want 401", w.Code, h.reached)
	}
}

// Permissions are checked in the request's tenant with the roles held there
// only (ASVS 8.4.1).
func TestRequirePermissionTenant(t *testing.T) {
	f := newKeyFixture(t)
	assignments := map[string][]string{"u1/acme": {"editor"}} // u1 is an editor in acme only
	var storeDown bool
	tenantRoles := func(ctx context.Context, subject, tenant string) ([]string, error) {
		if storeDown {
			return nil, errors.New("role store down")
		}
		return assignments[subject+"/"+tenant], nil
	}
	a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: f.verifier(t, nil),
		Tenant:      func(r *http.Request) string { return r.PathValue("tenant") },
		TenantRoles: tenantRoles})
	if err != nil {
		t.Fatal(err)
	}
	authz := mustAuthorizer(t, rbac.Config{Roles: []rbac.Role{{Name: "editor", Permissions: []string{"posts:write"}},
		{Name: "staff", Permissions: []string{"posts:*"}}}})
	var d denials
	h := &recordPrincipal{}
	mux := http.NewServeMux()
	mux.Handle("POST /t/{tenant}/posts", a.RequireAuth(middleware.RequirePermission(authz, "posts:write", d.hook)(h)))
	mux.Handle("POST /posts", a.RequireAuth(middleware.RequirePermission(authz, "posts:write", d.hook)(h)))
	for _, tt := range []struct {
		name, path string
		roles      []string
		storeDown  bool
		status     int
		tenant     string
	}{
		{"tenant_role_in_own_tenant", "/t/acme/posts", nil, false, 204, "acme"},
		{"tenant_role_not_in_other_tenant", "/t/globex/posts", nil, false, 403, ""},
		{"tenant_role_not_without_tenant", "/posts", nil, false, 403, ""},
		{"global_role_everywhere", "/t/globex/posts", []string{"staff"}, false, 204, "globex"},
		{"tenant_roles_store_error_fails_closed", "/t/acme/posts", nil, true, 503, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storeDown, h.reached, h.p = tt.storeDown, false, middleware.Principal{}
			r := httptest.NewRequest("POST", tt.path, nil)
			r.Header.Set("Authorization", "Bearer "+f.token(t, jwt.AccessTokenRequest{Subject: "u1", Roles: tt.roles}))
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if w.Code != tt.status || h.reached != (tt.status == 204) {
				t.Fatalf("status %d reached %v, want %d (body %q)", w.Code, h.reached, tt.status, w.Body.String())
			}
			if h.reached && h.p.Tenant != tt.tenant {
				t.Fatalf("Principal.Tenant %q, want %q", h.p.Tenant, tt.tenant)
			}
		})
	}
}

// post is an object with an owner in a tenant.
type post struct{ ID, Owner, Tenant string }

func (p *post) RBACTenant() string { return p.Tenant }

func TestRequireObject(t *testing.T) {
	f := newKeyFixture(t)
	a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: f.verifier(t, nil),
		Tenant: func(r *http.Request) string { return r.Header.Get("X-Tenant") }})
	if err != nil {
		t.Fatal(err)
	}
	authz := mustAuthorizer(t, rbac.Config{
		Roles: []rbac.Role{{Name: "editor", Permissions: []string{"posts:edit"}}, {Name: "viewer", Permissions: []string{"posts:read"}}},
		Rules: []rbac.Rule{rbac.ObjectRule("own-posts", "posts:edit", func(_ context.Context, s rbac.Subject, p *post) bool {
			return p.Owner == s.ID
		})},
	})
	posts := map[string]*post{"1": {"1", "alice", ""}, "2": {"2", "bob", ""}, "3": {"3", "alice", "acme"}}
	var loads int
	load := func(r *http.Request) (any, string, error) {
		loads++
		id := r.PathValue("id")
		if id == "boom" {
			return nil, "", errors.New("db down")
		}
		p, ok := posts[id]
		if !ok {
			return nil, "", fmt.Errorf("post %q: %w", id, middleware.ErrObjectNotFound)
		}
		return p, p.Tenant, nil
	}
	var d denials
	var seen *post
	mux := http.NewServeMux()
	mux.Handle("PUT /posts/{id}", a.RequireAuth(middleware.RequireObject(authz, "posts:edit", load, d.hook)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen, _ = middleware.ObjectFromContext[*post](r.Context())
			if _, ok := middleware.ObjectFromContext[string](r.Context()); ok {
				t.Error("ObjectFromContext with the wrong type succeeded")
			}
			w.WriteHeader(204)
		}))))
	for _, tt := range []struct {
		name, user, tenant, id string
		roles                  []string
		status                 int
		body                   string
		loaded                 int
		denied                 string
	}{
		{"owner_allowed", "alice", "", "1", []string{"editor"}, 204, "", 1, ""},
		{"other_users_object_403", "alice", "", "2", []string{"editor"}, 403, bodyForbidden, 1, "alice posts:edit"},
		{"missing_object_404", "alice", "", "9", []string{"editor"}, 404, bodyNotFound, 1, ""},
		{"load_error_500", "alice", "", "boom", []string{"editor"}, 500, bodyInternal, 1, ""},
		{"no_permission_403_before_load", "alice", "", "9", []string{"viewer"}, 403, bodyForbidden, 0, "alice posts:edit"},
		{"tenant_object_from_no_tenant_403", "alice", "", "3", []string{"editor"}, 403, bodyForbidden, 1, "alice posts:edit"},
		{"tenant_object_from_other_tenant_403", "alice", "globex", "3", []string{"editor"}, 403, bodyForbidden, 1, "alice posts:edit"},
		{"tenant_object_in_its_tenant", "alice", "acme", "3", []string{"editor"}, 204, "", 1, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			loads, d.got, seen = 0, nil, nil
			r := httptest.NewRequest("PUT", "/posts/"+tt.id, nil)
			r.Header.Set("Authorization", "Bearer "+f.token(t, jwt.AccessTokenRequest{Subject: tt.user, Roles: tt.roles}))
			if tt.tenant != "" {
				r.Header.Set("X-Tenant", tt.tenant)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if w.Code != tt.status || loads != tt.loaded || strings.Join(d.got, "|") != tt.denied {
				t.Fatalf("status %d loads %d denied %q, want %d %d %q", w.Code, loads, d.got, tt.status, tt.loaded, tt.denied)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Fatalf("body %q, want %q", w.Body.String(), tt.body)
			}
			if (tt.status == 204) != (seen != nil && seen.ID == tt.id) {
				t.Fatalf("handler saw object %+v", seen)
			}
		})
	}
	// No Principal: 401 and the object is never loaded.
	loads = 0
	w := httptest.NewRecorder()
	middleware.RequireObject(authz, "posts:edit", load, nil)(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("PUT", "/posts/1", nil))
	if w.Code != 401 || loads != 0 || w.Body.String() != bodyUnauthenticated {
		t.Fatalf("no principal: status %d loads %d", w.Code, loads)
	}
}

// TestRequireObjectTenantCannotBeSkipped: the loader states the object's
// tenant, so an object whose TenantScoped method is unreachable (a value
// whose RBACTenant has a pointer receiver, or a type without the method)
// is still checked against the request's tenant.
func TestRequireObjectTenantCannotBeSkipped(t *testing.T) {
	f := newKeyFixture(t)
	a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: f.verifier(t, nil),
		Tenant: func(r *http.Request) string { return r.Header.Get("X-Tenant") }})
	if err != nil {
		t.Fatal(err)
	}
	authz := mustAuthorizer(t, rbac.Config{Roles: []rbac.Role{{Name: "editor", Permissions: []string{"posts:edit"}}}})
	type plain struct{ ID string } // no RBACTenant at all
	for _, tt := range []struct {
		name   string
		obj    any
		tenant string // stated by the loader
		req    string // the request's tenant
		status int
		denied string
	}{
		{"value_with_pointer_receiver_other_tenant", post{"3", "alice", "acme"}, "acme", "globex", 403, "alice posts:edit"},
		{"value_with_pointer_receiver_own_tenant_fails_closed", post{"3", "alice", "acme"}, "acme", "acme", 403, "alice posts:edit"},
		{"plain_object_other_tenant", plain{"3"}, "acme", "globex", 403, "alice posts:edit"},
		{"plain_object_stated_without_tenant_from_tenant", plain{"3"}, "", "acme", 403, "alice posts:edit"},
		{"plain_object_own_tenant", plain{"3"}, "acme", "acme", 204, ""},
		{"pointer_own_tenant", &post{"3", "alice", "acme"}, "acme", "acme", 204, ""},
		// A loader that wrongly states no tenant for a tenant's object, to
		// a caller outside any tenant: rbac's own TenantScoped check holds.
		{"pointer_stated_without_tenant_from_no_tenant", &post{"3", "alice", "acme"}, "", "", 403, "alice posts:edit"},
		{"nil_object_stated_without_tenant_from_tenant", nil, "", "acme", 403, "alice posts:edit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d denials
			load := func(*http.Request) (any, string, error) { return tt.obj, tt.tenant, nil }
			h := a.RequireAuth(middleware.RequireObject(authz, "posts:edit", load, d.hook)(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })))
			r := httptest.NewRequest("PUT", "/posts/3", nil)
			r.Header.Set("Authorization", "Bearer "+f.token(t, jwt.AccessTokenRequest{Subject: "alice", Roles: []string{"editor"}}))
			r.Header.Set("X-Tenant", tt.req)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || strings.Join(d.got, "|") != tt.denied {
				t.Fatalf("status %d denied %q, want %d %q", w.Code, d.got, tt.status, tt.denied)
			}
		})
	}
}

// checkProtected is the property every guarded route must have: a request
// without credentials never reaches the handler and gets 401.
func checkProtected(guard func(http.Handler) http.Handler) error {
	reached := false
	h := guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		if p, ok := middleware.FromContext(r.Context()); ok {
			fmt.Fprint(w, p.Subject)
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/admin/stats", nil))
	if reached || w.Code != http.StatusUnauthorized {
		return fmt.Errorf("unauthenticated request: reached=%v status=%d, want not reached and 401", reached, w.Code)
	}
	return nil
}

// TestRequireAuthProtects is the named test that fails when RequireAuth is
// removed from a guarded route; TestRequireAuthRemovalDetected proves it.
func TestRequireAuthProtects(t *testing.T) {
	_, a := newAuthFixture(t)
	if err := checkProtected(a.RequireAuth); err != nil {
		t.Fatal(err)
	}
}

func TestRequireAuthRemovalDetected(t *testing.T) {
	noGuard := func(h http.Handler) http.Handler { return h }
	if err := checkProtected(noGuard); err == nil {
		t.Fatal("checkProtected passed an unguarded handler: TestRequireAuthProtects would not notice a removed RequireAuth")
	}
	// Identify alone is not protection either.
	_, a := newAuthFixture(t)
	if err := checkProtected(a.Identify); err == nil {
		t.Fatal("checkProtected passed Identify, which lets anonymous requests through")
	}
}
