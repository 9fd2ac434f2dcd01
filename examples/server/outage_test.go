package main

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/authkit-go/authkit/oauth/oauthtest"
)

// closeUsers makes the example's SQL user table fail every call from now
// on, as a database outage does.
func closeUsers(t *testing.T, ts *testServer) {
	t.Helper()
	if err := ts.app.accounts.(*sqlAccounts).db.Close(); err != nil {
		t.Fatal(err)
	}
}

func sqliteUsers(t *testing.T) func(*Options) {
	dir := t.TempDir()
	return func(o *Options) { o.Users = "sqlite:" + filepath.Join(dir, "users.db") }
}

func wantUnavailable(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	wantStatus(t, resp, body, http.StatusServiceUnavailable)
	if resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s %s: 503 without Retry-After", resp.Request.Method, resp.Request.URL.Path)
	}
}

// The UI answers a user-store failure as the JSON endpoints do: 503 with
// Retry-After (an error page), never 500 and never a sign-in refusal.
func TestUIUserStoreOutageIs503(t *testing.T) {
	ts := newTestServer(t, sqliteUsers(t))
	c := newClient(t)
	resp, body := uiSignup(t, ts, c, "uma@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiLogin(t, ts, c, "uma@example.com", uiPassword)
	wantRedirect(t, resp, body, "/account")
	other := newClient(t)
	_, otherPage := get(t, other, ts.url+"/signup")

	closeUsers(t, ts)
	resp, body = get(t, c, ts.url+"/account")
	wantUnavailable(t, resp, body)
	resp, body = uiLogin(t, ts, newClient(t), "uma@example.com", uiPassword)
	wantUnavailable(t, resp, body)
	resp, body = postForm(t, other, ts.url+"/signup", map[string][]string{
		"csrf_token": {csrfToken(t, otherPage)}, "email": {"vic@example.com"}, "password": {uiPassword}})
	wantUnavailable(t, resp, body)
}

// The OIDC callback too: a user-store failure is 503 unavailable.
func TestOIDCUserStoreOutageIs503(t *testing.T) {
	ts, p := newOIDCServerWith(t, oauthtest.User{Subject: "sub-o", Email: "ola@example.com", EmailVerified: true}, sqliteUsers(t))
	closeUsers(t, ts)
	resp, body := oidcSignIn(t, ts, p, newClient(t))
	errCode(t, resp, body, http.StatusServiceUnavailable, "unavailable")
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	wantNoCookiesNamed(t, resp, accessName, refreshName)
}
