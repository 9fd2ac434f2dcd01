package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// wantStepUpChallenge checks the RFC 9470 §3 answer to a sign-in older than
// the route's max_age.
func wantStepUpChallenge(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	errCode(t, resp, body, http.StatusUnauthorized, "insufficient_user_authentication")
	wa := resp.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(wa, `Bearer error="insufficient_user_authentication"`) || !strings.Contains(wa, "max_age=300") {
		t.Fatalf("WWW-Authenticate %q", wa)
	}
}

// The API's change-email and delete-account routes need a sign-in from the
// last five minutes: an older token (refreshed or not: refresh keeps
// auth_time) gets the RFC 9470 challenge; after signing in again the retry
// succeeds.
func TestAPIStepUpRoutes(t *testing.T) {
	ts := newTestServer(t, nil)
	a := newAPI(t, ts)
	a.signup("sam@example.com", pw1)
	a.loginOK("sam@example.com", pw1)

	ts.clock.Add(6 * time.Minute)
	resp, body := a.post("/api/account/email", map[string]string{"email": "samuel@example.com"})
	wantStepUpChallenge(t, resp, body)
	resp, body = a.post("/auth/refresh", nil)
	wantStatus(t, resp, body, http.StatusOK)
	a.take(resp)
	resp, body = a.post("/api/account/email", map[string]string{"email": "samuel@example.com"})
	wantStepUpChallenge(t, resp, body)
	resp, body = a.post("/api/account/delete", nil)
	wantStepUpChallenge(t, resp, body)

	// Sign in again and retry.
	a.loginOK("sam@example.com", pw1)
	resp, body = a.post("/api/account/email", map[string]string{"email": "Samuel@Example.com"})
	wantStatus(t, resp, body, http.StatusOK)
	var u userResp
	if err := json.Unmarshal([]byte(body), &u); err != nil || u.Email != "samuel@example.com" {
		t.Fatalf("change email answered %s", body)
	}
	resp, body = newAPI(t, ts).login("sam@example.com", pw1)
	errCode(t, resp, body, http.StatusUnauthorized, "invalid_credentials")
	other := newAPI(t, ts)
	other.signup("tia@example.com", pw1)
	resp, body = a.post("/api/account/email", map[string]string{"email": "tia@example.com"})
	errCode(t, resp, body, http.StatusConflict, "email_taken")

	resp, body = a.post("/api/account/delete", nil)
	wantStatus(t, resp, body, http.StatusNoContent)
	wantCleared(t, resp, accessName, accessCookie)
	resp, body = newAPI(t, ts).login("samuel@example.com", pw1)
	errCode(t, resp, body, http.StatusUnauthorized, "invalid_credentials")
	resp, body = a.get("/api/me")
	errCode(t, resp, body, http.StatusUnauthorized, "unauthenticated")
}

// reauthPost submits the re-authentication form.
func reauthPost(t *testing.T, ts *testServer, c *http.Client, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, page := get(t, c, ts.url+"/reauth?return_to=/account")
	wantStatus(t, resp, page, http.StatusOK)
	form.Set("csrf_token", csrfToken(t, page))
	form.Set("return_to", "/account")
	return postForm(t, c, ts.url+"/reauth", form)
}

// In the UI the same routes send an older session to /reauth, which signs
// in again (password, plus a code when MFA is on) and returns.
func TestUIStepUpRoutes(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newClient(t)
	resp, body := uiSignup(t, ts, c, "una@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiLogin(t, ts, c, "una@example.com", uiPassword)
	wantRedirect(t, resp, body, "/account")

	ts.clock.Add(6 * time.Minute)
	resp, body = uiPost(t, ts, c, "/account/email", url.Values{"email": {"ulla@example.com"}})
	wantRedirect(t, resp, body, "/reauth?return_to=%2Faccount")
	resp, body = reauthPost(t, ts, c, url.Values{"password": {"wrong password here"}})
	wantStatus(t, resp, body, http.StatusUnauthorized)
	resp, body = reauthPost(t, ts, c, url.Values{"password": {uiPassword}})
	wantRedirect(t, resp, body, "/account")
	resp, body = uiPost(t, ts, c, "/account/email", url.Values{"email": {"ulla@example.com"}})
	wantRedirect(t, resp, body, "/account")
	_, body = get(t, c, ts.url+"/account")
	if !strings.Contains(body, `id="account-email">ulla@example.com<`) {
		t.Fatalf("email not changed: %s", body)
	}

	// With TOTP on, the re-authentication asks for a code too.
	a := newAPI(t, ts)
	a.loginOK("ulla@example.com", uiPassword)
	secret, _ := enrollMFA(t, a)
	ts.clock.Add(6 * time.Minute)
	resp, body = uiPost(t, ts, c, "/account/delete", nil)
	wantRedirect(t, resp, body, "/reauth?return_to=%2Faccount")
	_, page := get(t, c, ts.url+"/reauth")
	if !strings.Contains(page, `id="reauth-code"`) {
		t.Fatal("reauth page asks for no code although MFA is on")
	}
	resp, body = reauthPost(t, ts, c, url.Values{"password": {uiPassword}, "code": {"000000"}})
	if totp(t, secret, ts.clock.Now()) != "000000" {
		wantStatus(t, resp, body, http.StatusUnauthorized)
	}
	resp, body = reauthPost(t, ts, c, url.Values{"password": {uiPassword}, "code": {totp(t, secret, ts.clock.Now())}})
	wantRedirect(t, resp, body, "/account")
	resp, body = uiPost(t, ts, c, "/account/delete", nil)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiLogin(t, ts, newClient(t), "ulla@example.com", uiPassword)
	wantStatus(t, resp, body, http.StatusUnauthorized)
}
