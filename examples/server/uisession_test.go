package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/oauth/oauthtest"
	"github.com/authkit-go/authkit/store/memstore"
)

// An OIDC sign-in sets the API token cookies as well as the UI session;
// signing out of the UI must end that refresh-token family too (it would
// otherwise stay valid for its 30-day lifetime) and clear the cookies.
func TestUISignOutRevokesAPITokenFamily(t *testing.T) {
	ts, p := newOIDCServer(t, oauthtest.User{Subject: "sub-9", Email: "sol@example.com", EmailVerified: true}, "")
	c := newClient(t)
	resp, body := oidcSignIn(t, ts, p, c)
	wantStatus(t, resp, body, http.StatusFound)
	refresh := wantCookie(t, resp, refreshName, refreshCookie)

	resp, body = uiPost(t, ts, c, signOutPath, nil)
	wantRedirect(t, resp, body, "/login")
	wantCleared(t, resp, accessName, accessCookie)
	wantCleared(t, resp, refreshName, refreshCookie)

	resp, body = postJSON(t, newClient(t), ts.url+nativePrefix+"/refresh", map[string]string{"refresh_token": refresh}, nil)
	errCode(t, resp, body, http.StatusUnauthorized, "invalid_token")
	resp, body = get(t, c, ts.url+"/account")
	wantRedirect(t, resp, body, "/login")
}

// Anonymous visitors get no stored session: rendering the public pages
// stores nothing and sets no session cookie. The forms' CSRF token is bound
// to a __Host-csrf value instead, and forged posts are still refused.
func TestAnonymousPagesStoreNoSession(t *testing.T) {
	ts := newTestServer(t, nil)
	sessions := ts.app.st.sessions.(*memstore.Sessions)
	c := newClient(t)
	var page string
	for _, path := range []string{"/", "/login", "/signup", "/no-such-page"} {
		resp, body := get(t, c, ts.url+path)
		if raw := rawSetCookie(resp, "__Host-session"); raw != "" {
			t.Fatalf("GET %s set a session cookie: %s", path, raw)
		}
		if path == "/login" {
			page = body
		}
	}
	if n := sessions.Len(); n != 0 {
		t.Fatalf("anonymous page renders stored %d sessions", n)
	}
	tok := csrfToken(t, page)
	newAPI(t, ts).signup("ana@example.com", pw1)
	form := url.Values{"csrf_token": {tok}, "email": {"ana@example.com"}, "password": {pw1}}

	// A cross-site form post is refused (net/http.CrossOriginProtection).
	resp, body := do(t, c, http.MethodPost, ts.url+"/login", strings.NewReader(form.Encode()), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"})
	wantStatus(t, resp, body, http.StatusForbidden)

	// A browser without Fetch Metadata needs the token, bound to its own
	// __Host-csrf value: another visitor's token, or none, is refused.
	noFM := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	other := newClient(t)
	resp, body = do(t, other, http.MethodPost, ts.url+"/login", strings.NewReader(form.Encode()), noFM)
	wantStatus(t, resp, body, http.StatusForbidden)
	_, otherPage := get(t, other, ts.url+"/login")
	forged := url.Values{"csrf_token": {csrfToken(t, otherPage)}, "email": {"ana@example.com"}, "password": {pw1}}
	resp, body = do(t, c, http.MethodPost, ts.url+"/login", strings.NewReader(forged.Encode()), noFM)
	wantStatus(t, resp, body, http.StatusForbidden)
	if n := sessions.Len(); n != 0 {
		t.Fatalf("refused posts stored %d sessions", n)
	}
	// Its own token signs in.
	resp, body = do(t, c, http.MethodPost, ts.url+"/login", strings.NewReader(form.Encode()), noFM)
	wantRedirect(t, resp, body, "/account")
	if n := sessions.Len(); n != 1 {
		t.Fatalf("sessions after sign-in: %d, want 1", n)
	}
}

// Memory mode drops expired records on a timer: a session whose lifetime
// ended is removed without any request touching it.
func TestMemoryModePurgesExpiredSessions(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.PurgeInterval = 5 * time.Millisecond })
	sessions := ts.app.st.sessions.(*memstore.Sessions)
	c := newClient(t)
	resp, body := uiSignup(t, ts, c, "pat@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiLogin(t, ts, c, "pat@example.com", uiPassword)
	wantRedirect(t, resp, body, "/account")
	if n := sessions.Len(); n == 0 {
		t.Fatal("no session stored after sign-in")
	}
	ts.clock.Add(31 * 24 * time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for sessions.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("expired sessions still stored: %d", sessions.Len())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
