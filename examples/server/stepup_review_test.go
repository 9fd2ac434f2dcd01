package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
)

// Wrong passwords on the re-authentication page count like wrong passwords
// at the login: after five, the right password is throttled on the page
// and at the login form of another browser.
func TestUIReauthWrongPasswordsThrottleLikeLogin(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newClient(t)
	resp, body := uiSignup(t, ts, c, "guess@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiLogin(t, ts, c, "guess@example.com", uiPassword)
	wantRedirect(t, resp, body, "/account")
	for range 5 {
		resp, body = reauthPost(t, ts, c, url.Values{"password": {"not the password at all"}})
		wantStatus(t, resp, body, http.StatusUnauthorized)
	}
	resp, body = reauthPost(t, ts, c, url.Values{"password": {uiPassword}})
	wantStatus(t, resp, body, http.StatusTooManyRequests)
	resp, body = uiLogin(t, ts, newClient(t), "guess@example.com", uiPassword)
	wantStatus(t, resp, body, http.StatusTooManyRequests)
}

// A password re-authentication of a passkey session records a password
// sign-in only: removing the last passkey then asks for the passkey again,
// as after a password login (the passkey's "hwk" must not survive).
func TestUIPasswordReauthAfterPasskeySignInDropsPasskeyFactor(t *testing.T) {
	ts := newTestServer(t, nil)
	b := newPKBrowser(t, ts)
	b.signUpAndIn("both@example.com")
	id := b.register("Key")

	other := newPKBrowser(t, ts)
	other.auth = b.auth
	resp, r := other.signIn()
	other.want(resp, r, http.StatusOK, "")
	resp, body := reauthPost(t, ts, other.c, url.Values{"password": {uiPassword}})
	wantRedirect(t, resp, body, "/account")
	resp, body = uiPost(t, ts, other.c, "/account/passkeys/remove", url.Values{"id": {base64.RawURLEncoding.EncodeToString(id)}})
	wantRedirect(t, resp, body, "/reauth?return_to=%2Faccount")
	if got := other.passkeyNames(); len(got) != 1 {
		t.Fatalf("passkeys after the refused removal: %q", got)
	}
}
