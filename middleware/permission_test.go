package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/rbac"
)

func TestRequirePermission(t *testing.T) {
	iss, a := newAuthFixture(t)
	pol, err := rbac.New(rbac.Config{Roles: []rbac.Role{{Name: "admin", Permissions: []string{"admin:stats"}}, {Name: "viewer", Permissions: []string{"posts:read"}}}})
	if err != nil {
		t.Fatal(err)
	}
	authz, err := rbac.NewAuthorizer(pol)
	if err != nil {
		t.Fatal(err)
	}
	var denied []string
	h := a.RequireAuth(middleware.RequirePermission(authz, "admin:stats", func(r *http.Request, p middleware.Principal, perm string) {
		denied = append(denied, p.Subject+" "+perm)
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })))
	for _, tt := range []struct {
		role   string
		status int
	}{{"admin", 204}, {"viewer", 403}} {
		tok, _, err := iss.Issue(context.Background(), jwt.AccessTokenRequest{Subject: "u-" + tt.role, Roles: []string{tt.role}})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("%s: status %d, want %d", tt.role, w.Code, tt.status)
		}
	}
	if len(denied) != 1 || denied[0] != "u-viewer admin:stats" {
		t.Errorf("denials audited = %q, want [u-viewer admin:stats]", denied)
	}
	// Without RequireAuth in front: 401, never a pass.
	w := httptest.NewRecorder()
	middleware.RequirePermission(authz, "admin:stats", nil)(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 401 {
		t.Errorf("no principal: status %d, want 401", w.Code)
	}
}
