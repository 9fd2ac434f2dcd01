package main

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/memstore"
)

// pkBrowser is a UI visitor whose "browser" is passkeytest's software
// authenticator: it calls the UI's passkey JSON endpoints the way
// static/passkey.js does (JSON body, the page's CSRF token in
// X-CSRF-Token, Fetch Metadata of a same-origin fetch).
type pkBrowser struct {
	t    *testing.T
	ts   *testServer
	c    *http.Client
	auth *passkeytest.Authenticator
}

func newPKBrowser(t *testing.T, ts *testServer) *pkBrowser {
	t.Helper()
	origins := ts.app.PasskeyOrigins()
	if len(origins) != 1 || !strings.HasPrefix(origins[0], "http://localhost:") {
		t.Fatalf("default passkey origins %q", origins)
	}
	return &pkBrowser{t: t, ts: ts, c: newClient(t), auth: passkeytest.New(origins[0])}
}

// pkResp is the body of a UI passkey endpoint.
type pkResp struct {
	Error     string          `json:"error"`
	Message   string          `json:"message"`
	Redirect  string          `json:"redirect"`
	ID        string          `json:"id"`
	Options   json.RawMessage `json:"options"`
	ExpiresAt time.Time       `json:"expires_at"`
	Signal    json.RawMessage `json:"signal"`
}

// token returns a CSRF token from the page at path.
func (b *pkBrowser) token(path string) string {
	b.t.Helper()
	_, body := get(b.t, b.c, b.ts.url+path)
	return csrfToken(b.t, body)
}

// call posts body to a passkey endpoint with token.
func (b *pkBrowser) call(path, token string, body any) (*http.Response, pkResp) {
	b.t.Helper()
	hdr := map[string]string{"Sec-Fetch-Site": "same-origin"}
	if token != "" {
		hdr["X-CSRF-Token"] = token
	}
	resp, raw := postJSON(b.t, b.c, b.ts.url+path, body, hdr)
	var out pkResp
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			b.t.Fatalf("POST %s: %v: %s", path, err, raw)
		}
	}
	return resp, out
}

func (b *pkBrowser) want(resp *http.Response, r pkResp, status int, code string) {
	b.t.Helper()
	if resp.StatusCode != status || r.Error != code {
		b.t.Fatalf("POST %s: %d %q (%s), want %d %q", resp.Request.URL.Path, resp.StatusCode, r.Error, r.Message, status, code)
	}
}

// options begins a ceremony and returns its options.
func (b *pkBrowser) options(path, token string, body any) json.RawMessage {
	b.t.Helper()
	resp, r := b.call(path, token, body)
	b.want(resp, r, http.StatusOK, "")
	if len(r.Options) == 0 || !r.ExpiresAt.Equal(b.ts.clock.Now().Add(passkey.MaxCeremonyTimeout)) {
		b.t.Fatalf("POST %s: options %s expiring %v", path, r.Options, r.ExpiresAt)
	}
	return r.Options
}

// register adds a passkey from the account page and returns its id.
func (b *pkBrowser) register(name string) []byte {
	b.t.Helper()
	return b.registerWith(b.auth, name)
}

// registerWith is register with another authenticator of the same user (an
// authenticator holds one passkey per account).
func (b *pkBrowser) registerWith(auth *passkeytest.Authenticator, name string) []byte {
	b.t.Helper()
	tok := b.token("/account")
	created, id, err := auth.Create(b.options("/account/passkeys/options", tok, nil))
	if err != nil {
		b.t.Fatal(err)
	}
	resp, r := b.call("/account/passkeys", tok, map[string]any{"name": name, "credential": json.RawMessage(created)})
	b.want(resp, r, http.StatusCreated, "")
	if r.Redirect != "/account" || r.ID != base64.RawURLEncoding.EncodeToString(id) {
		b.t.Fatalf("registration answer %+v", r)
	}
	return id
}

// signIn signs in with the "Sign in with a passkey" button.
func (b *pkBrowser) signIn() (*http.Response, pkResp) {
	b.t.Helper()
	tok := b.token("/login")
	assertion, err := b.auth.Get(b.options("/login/passkey/options", tok, map[string]bool{"conditional": false}))
	if err != nil {
		b.t.Fatal(err)
	}
	return b.call("/login/passkey", tok, map[string]any{"credential": json.RawMessage(assertion)})
}

func (b *pkBrowser) session() string {
	for _, ck := range b.c.Jar.Cookies(mustURL(b.t, b.ts.url)) {
		if ck.Name == "__Host-session" {
			return ck.Value
		}
	}
	return ""
}

// signUpAndIn creates an account through the forms and signs in with the
// password.
func (b *pkBrowser) signUpAndIn(email string) {
	b.t.Helper()
	resp, body := uiSignup(b.t, b.ts, b.c, email, uiPassword)
	wantRedirect(b.t, resp, body, "/login")
	resp, body = uiLogin(b.t, b.ts, b.c, email, uiPassword)
	wantRedirect(b.t, resp, body, "/account")
}

var passkeyNameRE = regexp.MustCompile(`<td class="passkey-name">([^<]*)<`)

// passkeyNames returns the names listed on the account page.
func (b *pkBrowser) passkeyNames() []string {
	b.t.Helper()
	resp, body := get(b.t, b.c, b.ts.url+"/account")
	wantStatus(b.t, resp, body, http.StatusOK)
	var names []string
	for _, m := range passkeyNameRE.FindAllStringSubmatch(body, -1) {
		names = append(names, html.UnescapeString(strings.TrimSpace(m[1])))
	}
	return names
}

// A passkey sign-in starts a new session: the id the visitor had before
// (here the one holding the sign-up's flash message, as one planted by an
// attacker would be) is not signed in, and the new one is.
func TestUIPasskeySignInStartsNewSession(t *testing.T) {
	ts := newTestServer(t, nil)
	b := newPKBrowser(t, ts)
	const email = "pia@example.com"
	b.signUpAndIn(email)
	b.register("Laptop")
	resp, body := uiPost(t, ts, b.c, signOutPath, nil)
	wantRedirect(t, resp, body, "/login")

	// A session before sign-in: signing up another account leaves its
	// flash message in one.
	resp, body = uiSignup(t, ts, b.c, "other@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	before := b.session()
	if before == "" {
		t.Fatal("no session before the passkey sign-in")
	}

	ts.clock.Add(time.Second)
	resp, r := b.signIn()
	b.want(resp, r, http.StatusOK, "")
	if r.Redirect != "/account" {
		t.Fatalf("redirect %q", r.Redirect)
	}
	after := setCookie(t, resp, "__Host-session")
	if after == nil || after.Value == before {
		t.Fatalf("session cookie not replaced at passkey sign-in (before %q)", before)
	}
	wantHostCookie(t, resp, "__Host-session")
	resp, body = get(t, b.c, ts.url+"/account")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, `id="account-email">`+email+`<`) {
		t.Fatalf("account page after passkey sign-in: %s", body)
	}
	old := newClient(t)
	old.Jar.SetCookies(mustURL(t, ts.url), []*http.Cookie{{Name: "__Host-session", Value: before, Path: "/"}})
	resp, body = get(t, old, ts.url+"/account")
	wantRedirect(t, resp, body, "/login")
}

// passkeyEndpoints are the UI's passkey JSON endpoints.
var passkeyEndpoints = []string{
	"/login/passkey/options", "/login/passkey", "/login/mfa/passkey/options", "/login/mfa/passkey",
	"/account/passkeys/options", "/account/passkeys", "/reauth/passkey/options", "/reauth/passkey",
}

// The JSON endpoints are behind the UI's CSRF protection like its forms: no
// token, another visitor's token, or a cross-site request never reach the
// handler (no ceremony is stored).
func TestUIPasskeyEndpointsRequireCSRF(t *testing.T) {
	ts := newTestServer(t, nil)
	tickets := ts.app.st.tickets.(*memstore.Tickets)
	b := newPKBrowser(t, ts)
	b.signUpAndIn("csrf@example.com")
	mine := b.token("/account")
	other := newPKBrowser(t, ts)
	theirs := other.token("/login")
	body := map[string]any{"conditional": true}
	for _, path := range passkeyEndpoints {
		for _, tc := range []struct {
			name  string
			token string
			site  string
		}{
			{"no token", "", "same-origin"},
			{"another visitor's token", theirs, "same-origin"},
			{"forged token", "AAAA" + mine[4:], "same-origin"},
			{"cross-site", mine, "cross-site"},
		} {
			resp, raw := postJSON(t, b.c, ts.url+path, body, map[string]string{"X-CSRF-Token": tc.token, "Sec-Fetch-Site": tc.site})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s: %d %s, want 403", path, tc.name, resp.StatusCode, raw)
			}
		}
	}
	for _, path := range []string{"/account/passkeys/rename", "/account/passkeys/remove"} {
		resp, raw := postForm(t, b.c, ts.url+path, url.Values{"id": {"AAAA"}, "name": {"x"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("form POST %s without a token: %d %s, want 403", path, resp.StatusCode, raw)
		}
	}
	if n := tickets.Len(); n != 0 {
		t.Fatalf("refused requests stored %d ceremonies", n)
	}
	// The same request with the page's token is served.
	b.options("/account/passkeys/options", mine, nil)
	if n := tickets.Len(); n != 1 {
		t.Fatalf("ceremonies stored: %d, want 1", n)
	}
}

// A ceremony begun in one browser cannot be finished in another, even with
// that browser's own valid CSRF token: the binding is derived from the
// session (or anonymous CSRF value) of the browser that began it. The
// attempt spends the challenge, so the first browser must begin again.
func TestUIPasskeyCeremonyIsBoundToTheBrowser(t *testing.T) {
	ts := newTestServer(t, nil)
	victim := newPKBrowser(t, ts)
	victim.signUpAndIn("vic@example.com")
	victim.register("Key")
	uiPost(t, ts, victim.c, signOutPath, nil)

	tok := victim.token("/login")
	assertion, err := victim.auth.Get(victim.options("/login/passkey/options", tok, map[string]bool{"conditional": true}))
	if err != nil {
		t.Fatal(err)
	}
	thief := newPKBrowser(t, ts)
	resp, r := thief.call("/login/passkey", thief.token("/login"), map[string]any{"credential": json.RawMessage(assertion)})
	thief.want(resp, r, http.StatusBadRequest, "invalid_challenge")
	resp, body := get(t, thief.c, ts.url+"/account")
	wantRedirect(t, resp, body, "/login")

	resp, r = victim.call("/login/passkey", tok, map[string]any{"credential": json.RawMessage(assertion)})
	victim.want(resp, r, http.StatusBadRequest, "invalid_challenge")
	resp, r = victim.signIn()
	victim.want(resp, r, http.StatusOK, "")
}

// Renaming and removing are plain HTML forms that work without
// JavaScript. After a removal the account page carries the Signal API
// payloads for the script, once. Removing the last passkey after a
// password sign-in needs the passkey itself: the browser is sent to
// re-authenticate, with the passkey, and the removal then succeeds.
func TestUIPasskeyRenameAndRemoveWithoutJavaScript(t *testing.T) {
	ts := newTestServer(t, nil)
	b := newPKBrowser(t, ts)
	b.signUpAndIn("ren@example.com")
	laptop := b.register("Laptop")
	ts.clock.Add(time.Second)
	phone := b.registerWith(passkeytest.New(b.auth.Origin), "Phone")
	enc := base64.RawURLEncoding.EncodeToString

	resp, body := uiPost(t, ts, b.c, "/account/passkeys/rename", url.Values{"id": {enc(laptop)}, "name": {"  Work laptop "}})
	wantRedirect(t, resp, body, "/account")
	_, body = get(t, b.c, ts.url+"/account")
	if !strings.Contains(body, `id="flash">Passkey renamed to “Work laptop”.<`) {
		t.Fatalf("no rename confirmation: %s", body)
	}
	if got := b.passkeyNames(); len(got) != 2 || got[0] != "Work laptop" || got[1] != "Phone" {
		t.Fatalf("names after rename: %q", got)
	}
	for _, tc := range []struct{ id, name, flash string }{
		{enc(phone), strings.Repeat("x", 101), "Passkey not renamed: choose a name of 1 to 100 characters."},
		{enc(phone), "bell\x07", "Passkey not renamed: choose a name of 1 to 100 characters."},
		{enc([]byte("not a credential of this user")), "Mine", "Passkey not renamed: no such passkey."},
		{"%%%", "Mine", "Passkey not renamed: no such passkey."},
	} {
		resp, body = uiPost(t, ts, b.c, "/account/passkeys/rename", url.Values{"id": {tc.id}, "name": {tc.name}})
		wantRedirect(t, resp, body, "/account")
		_, body = get(t, b.c, ts.url+"/account")
		if !strings.Contains(body, `id="flash">`+tc.flash+`<`) {
			t.Fatalf("rename %q to %q: page lacks %q: %s", tc.id, tc.name, tc.flash, body)
		}
	}
	if got := b.passkeyNames(); len(got) != 2 || got[0] != "Work laptop" || got[1] != "Phone" {
		t.Fatalf("names after refused renames: %q", got)
	}

	// Not the last passkey, no TOTP: a recent password sign-in suffices.
	resp, body = uiPost(t, ts, b.c, "/account/passkeys/remove", url.Values{"id": {enc(phone)}})
	wantRedirect(t, resp, body, "/account")
	_, body = get(t, b.c, ts.url+"/account")
	if !strings.Contains(body, `id="flash">Passkey removed.<`) {
		t.Fatalf("no removal confirmation: %s", body)
	}
	m := regexp.MustCompile(`<div id="passkey-signal" hidden data-unknown="([^"]*)" data-all-accepted="([^"]*)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no Signal API payload on the page: %s", body)
	}
	var unknown passkey.SignalUnknownCredential
	var all passkey.SignalAllAcceptedCredentials
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &unknown); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[2])), &all); err != nil {
		t.Fatal(err)
	}
	if unknown.RPID != "localhost" || unknown.CredentialID != enc(phone) {
		t.Fatalf("signalUnknownCredential payload %+v", unknown)
	}
	if all.RPID != "localhost" || len(all.AllAcceptedCredentialIDs) != 1 || all.AllAcceptedCredentialIDs[0] != enc(laptop) || all.UserID == "" {
		t.Fatalf("signalAllAcceptedCredentials payload %+v", all)
	}
	if _, body = get(t, b.c, ts.url+"/account"); strings.Contains(body, "passkey-signal") {
		t.Fatal("Signal API payload shown twice")
	}
	if got := b.passkeyNames(); len(got) != 1 || got[0] != "Work laptop" {
		t.Fatalf("names after removal: %q", got)
	}

	// The last passkey, after a password sign-in: the current factor (the
	// passkey) is due first.
	resp, body = uiPost(t, ts, b.c, "/account/passkeys/remove", url.Values{"id": {enc(laptop)}})
	wantRedirect(t, resp, body, "/reauth?return_to=%2Faccount")
	resp, page := get(t, b.c, ts.url+"/reauth?return_to=%2Faccount")
	wantStatus(t, resp, page, http.StatusOK)
	if !strings.Contains(page, "To remove your last passkey, confirm it is you with a passkey first.") || !strings.Contains(page, `id="passkey-reauth"`) {
		t.Fatalf("re-authentication page: %s", page)
	}
	if got := b.passkeyNames(); len(got) != 1 {
		t.Fatalf("names after the refused removal: %q", got)
	}
	tok := csrfToken(t, page)
	before := b.session()
	assertion, err := b.auth.Get(b.options("/reauth/passkey/options", tok, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp, r := b.call("/reauth/passkey", tok, map[string]any{"credential": json.RawMessage(assertion), "return_to": "/account"})
	b.want(resp, r, http.StatusOK, "")
	if r.Redirect != "/account" || b.session() == before {
		t.Fatalf("passkey re-authentication: redirect %q, session renewed %v", r.Redirect, b.session() != before)
	}
	resp, body = uiPost(t, ts, b.c, "/account/passkeys/remove", url.Values{"id": {enc(laptop)}})
	wantRedirect(t, resp, body, "/account")
	if got := b.passkeyNames(); len(got) != 0 {
		t.Fatalf("names after removing the last passkey: %q", got)
	}
}

// An account without a password cannot remove its last passkey, even
// signed in with it: it would have no way left to sign in.
func TestUIPasskeyLastSignInMethodIsNotRemoved(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := t.Context()
	const uid, email = "u-passwordless", "nopw@example.com"
	if err := ts.app.accounts.CreateUser(ctx, authkit.User{ID: uid, Email: email, Roles: []string{roleViewer}, CreatedAt: ts.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	b := newPKBrowser(t, ts)
	opts, err := ts.app.passkeys.BeginRegistration(ctx, "setup", passkey.User{ID: uid, Name: email})
	if err != nil {
		t.Fatal(err)
	}
	created, id, err := b.auth.Create(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.app.passkeys.FinishRegistration(ctx, "setup", uid, "Only key", created); err != nil {
		t.Fatal(err)
	}

	resp, r := b.signIn()
	b.want(resp, r, http.StatusOK, "")
	resp, body := uiPost(t, ts, b.c, "/account/passkeys/remove", url.Values{"id": {base64.RawURLEncoding.EncodeToString(id)}})
	wantRedirect(t, resp, body, "/account")
	_, body = get(t, b.c, ts.url+"/account")
	if !strings.Contains(body, `id="flash">Passkey not removed: it is your only way to sign in. Set a password or add another passkey first.<`) {
		t.Fatalf("no refusal on the page: %s", body)
	}
	if strings.Contains(body, "passkey-signal") {
		t.Fatal("Signal API payload for a passkey that was not removed")
	}
	if got := b.passkeyNames(); len(got) != 1 || got[0] != "Only key" {
		t.Fatalf("names after the refused removal: %q", got)
	}
}

// After the password of an account with TOTP, "Use a passkey" answers the
// second-factor step instead of a code; the session gets a new id.
func TestUIPasskeyAsSecondFactor(t *testing.T) {
	ts := newTestServer(t, nil)
	b := newPKBrowser(t, ts)
	const email = "two@example.com"
	b.signUpAndIn(email)
	b.register("Key")
	resp, body := uiPost(t, ts, b.c, "/account/mfa/enroll", nil)
	wantStatus(t, resp, body, http.StatusOK)
	code := totp(t, secretRE.FindStringSubmatch(body)[1], ts.clock.Now())
	resp, body = postForm(t, b.c, ts.url+"/account/mfa/confirm", url.Values{"csrf_token": {csrfToken(t, body)}, "code": {code}})
	wantStatus(t, resp, body, http.StatusOK)
	uiPost(t, ts, b.c, signOutPath, nil)

	// No second-factor step pending: nothing to answer.
	resp, r := b.call("/login/mfa/passkey/options", b.token("/login"), nil)
	b.want(resp, r, http.StatusUnauthorized, "unauthenticated")

	resp, body = uiLogin(t, ts, b.c, email, uiPassword)
	wantRedirect(t, resp, body, "/login/mfa")
	resp, page := get(t, b.c, ts.url+"/login/mfa")
	wantStatus(t, resp, page, http.StatusOK)
	if !strings.Contains(page, `id="passkey-mfa"`) {
		t.Fatalf("second-factor page lacks the passkey button: %s", page)
	}
	pending := b.session()
	tok := csrfToken(t, page)
	assertion, err := b.auth.Get(b.options("/login/mfa/passkey/options", tok, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp, r = b.call("/login/mfa/passkey", tok, map[string]any{"credential": json.RawMessage(assertion)})
	b.want(resp, r, http.StatusOK, "")
	if r.Redirect != "/account" || b.session() == pending {
		t.Fatalf("redirect %q, session renewed %v", r.Redirect, b.session() != pending)
	}
	resp, body = get(t, b.c, ts.url+"/account")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, `id="account-email">`+email+`<`) {
		t.Fatalf("account page: %s", body)
	}
	// The step is spent: the same assertion cannot answer it again.
	resp, r = b.call("/login/mfa/passkey", b.token("/account"), map[string]any{"credential": json.RawMessage(assertion)})
	b.want(resp, r, http.StatusUnauthorized, "unauthenticated")
}

// An autofill offer that sat open past its challenge's lifetime is renewed:
// the finish answers 409 challenge_expired with fresh options (still
// conditional), and the passkey signs in with those.
func TestUIPasskeyExpiredAutofillOfferIsRenewed(t *testing.T) {
	ts := newTestServer(t, nil)
	b := newPKBrowser(t, ts)
	b.signUpAndIn("late@example.com")
	b.register("Key")
	uiPost(t, ts, b.c, signOutPath, nil)

	tok := b.token("/login")
	opts := b.options("/login/passkey/options", tok, map[string]bool{"conditional": true})
	if !strings.Contains(string(opts), `"mediation":"conditional"`) {
		t.Fatalf("autofill options: %s", opts)
	}
	ts.clock.Add(passkey.MaxCeremonyTimeout + time.Second)
	assertion, err := b.auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	resp, r := b.call("/login/passkey", tok, map[string]any{"credential": json.RawMessage(assertion)})
	b.want(resp, r, http.StatusConflict, "challenge_expired")
	if !strings.Contains(string(r.Options), `"mediation":"conditional"`) || !r.ExpiresAt.Equal(ts.clock.Now().Add(passkey.MaxCeremonyTimeout)) {
		t.Fatalf("fresh options %s expiring %v", r.Options, r.ExpiresAt)
	}
	assertion, err = b.auth.Get(r.Options)
	if err != nil {
		t.Fatal(err)
	}
	resp, r = b.call("/login/passkey", tok, map[string]any{"credential": json.RawMessage(assertion)})
	b.want(resp, r, http.StatusOK, "")
}

// Adding a passkey needs a sign-in from the last 10 minutes: an older one
// is sent to re-authenticate first.
func TestUIPasskeyAddNeedsRecentSignIn(t *testing.T) {
	ts := newTestServer(t, nil)
	b := newPKBrowser(t, ts)
	b.signUpAndIn("old@example.com")
	ts.clock.Add(recentAuth + time.Minute) // past the 30 s leeway
	resp, r := b.call("/account/passkeys/options", b.token("/account"), nil)
	b.want(resp, r, http.StatusUnauthorized, "reauth_required")
	if r.Redirect != "/reauth?return_to=%2Faccount" {
		t.Fatalf("redirect %q", r.Redirect)
	}
	_, page := get(t, b.c, ts.url+"/reauth?return_to=%2Faccount")
	resp, body := postForm(t, b.c, ts.url+"/reauth", url.Values{"csrf_token": {csrfToken(t, page)}, "password": {uiPassword}, "return_to": {"/account"}})
	wantRedirect(t, resp, body, "/account")
	b.register("Key")
}

// The step-up routes (change email, delete account) accept a passkey on
// the re-authentication page.
func TestUIPasskeyReauthenticatesForStepUp(t *testing.T) {
	ts := newTestServer(t, nil)
	b := newPKBrowser(t, ts)
	b.signUpAndIn("step@example.com")
	b.register("Key")
	ts.clock.Add(stepUpMaxAge + time.Minute) // past the 30 s leeway

	resp, body := uiPost(t, ts, b.c, "/account/email", url.Values{"email": {"stepped@example.com"}})
	wantRedirect(t, resp, body, "/reauth?return_to=%2Faccount")
	_, page := get(t, b.c, ts.url+"/reauth?return_to=%2Faccount")
	if !strings.Contains(page, "or with one of your passkeys") || !strings.Contains(page, `id="passkey-reauth"`) {
		t.Fatalf("re-authentication page without the passkey: %s", page)
	}
	tok := csrfToken(t, page)
	assertion, err := b.auth.Get(b.options("/reauth/passkey/options", tok, nil))
	if err != nil {
		t.Fatal(err)
	}
	// return_to is checked as on the form: only account pages.
	resp, r := b.call("/reauth/passkey", tok, map[string]any{"credential": json.RawMessage(assertion), "return_to": "https://evil.example/"})
	b.want(resp, r, http.StatusOK, "")
	if r.Redirect != "/account" {
		t.Fatalf("redirect %q", r.Redirect)
	}
	resp, body = uiPost(t, ts, b.c, "/account/email", url.Values{"email": {"stepped@example.com"}})
	wantRedirect(t, resp, body, "/account")
	_, body = get(t, b.c, ts.url+"/account")
	if !strings.Contains(body, `id="account-email">stepped@example.com<`) {
		t.Fatalf("email not changed: %s", body)
	}
}

// The pages load the passkey script from /static under a CSP that allows
// no inline script, and the email field asks for passkey autofill.
func TestUIPasskeyScriptUnderCSP(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newClient(t)
	resp, body := get(t, c, ts.url+"/login")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Fatalf("CSP %q", csp)
	}
	if !strings.Contains(body, `<script src="/static/passkey.js" defer></script>`) || strings.Count(body, "<script") != 1 {
		t.Fatalf("login page scripts: %s", body)
	}
	if !strings.Contains(body, `autocomplete="username webauthn"`) || !strings.Contains(body, `id="passkey-signin"`) {
		t.Fatalf("login page lacks the passkey sign-in: %s", body)
	}
	resp, js := get(t, c, ts.url+"/static/passkey.js")
	wantStatus(t, resp, js, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") || !strings.Contains(js, "parseRequestOptionsFromJSON") {
		t.Fatalf("passkey.js: %s", ct)
	}
}

// A passkey the site no longer knows (removed in another browser while
// this one still offers it) is refused with the signalUnknownCredential
// payload, so the page can tell the browser to stop offering it.
func TestUIPasskeyUnknownCredentialCarriesTheSignal(t *testing.T) {
	ts := newTestServer(t, nil)
	b := newPKBrowser(t, ts)
	b.signUpAndIn("gone@example.com")
	b.registerWith(passkeytest.New(b.auth.Origin), "Other")
	id := b.register("Key")
	resp, body := uiPost(t, ts, b.c, "/account/passkeys/remove", url.Values{"id": {base64.RawURLEncoding.EncodeToString(id)}})
	wantRedirect(t, resp, body, "/account")
	uiPost(t, ts, b.c, signOutPath, nil)

	resp, r := b.signIn()
	b.want(resp, r, http.StatusUnauthorized, "unknown_credential")
	var sig struct {
		Unknown passkey.SignalUnknownCredential `json:"unknown"`
	}
	if err := json.Unmarshal(r.Signal, &sig); err != nil {
		t.Fatal(err)
	}
	if sig.Unknown.RPID != "localhost" || sig.Unknown.CredentialID != base64.RawURLEncoding.EncodeToString(id) {
		t.Fatalf("signal %+v", sig.Unknown)
	}
	resp, body = get(t, b.c, ts.url+"/account")
	wantRedirect(t, resp, body, "/login")
}
