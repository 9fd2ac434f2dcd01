package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The page /reauth returns to must stay on this site for every value an
// attacker can put in return_to: browsers drop tabs and newlines from a
// Location, so "/\t/evil.example" would be followed as //evil.example.
func TestReauthReturnToStaysOnSite(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newClient(t)
	resp, body := uiSignup(t, ts, c, "rex@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiLogin(t, ts, c, "rex@example.com", uiPassword)
	wantRedirect(t, resp, body, "/account")
	for _, rt := range []string{
		"/account/../\t/evil.example",
		"/account/..\t/\t/evil.example",
		"/account/../\n/evil.example",
		"/account/../\r/evil.example",
		"/account/..//evil.example",
		"/account/\\evil.example",
		"//evil.example",
		"https://evil.example/account",
		"/account/%2F%2Fevil.example/../..",
	} {
		resp, page := get(t, c, ts.url+"/reauth?return_to="+url.QueryEscape(rt))
		wantStatus(t, resp, page, http.StatusOK)
		form := url.Values{"csrf_token": {csrfToken(t, page)}, "return_to": {rt}, "password": {uiPassword}}
		req, err := http.NewRequest(http.MethodPost, ts.url+"/reauth", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		for _, ck := range c.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
		// The transport, not the client: the client refuses to parse a
		// Location with control characters, a browser strips them.
		resp, err = http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.Jar.SetCookies(req.URL, resp.Cookies())
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || loc != path.Clean(loc) || !strings.HasPrefix(loc, "/account") ||
			strings.ContainsFunc(loc, func(r rune) bool { return r < 0x21 || r == '\\' || r == 0x7f }) {
			t.Errorf("return_to %q: status %d, Location %q, want 303 to a clean /account path", rt, resp.StatusCode, loc)
		}
	}
}

// A login form token minted for one visitor's __Host-csrf value does not
// sign in a browser with another value (login CSRF from a browser that
// sends no Fetch Metadata), nor one without the cookie.
func TestAnonymousCSRFTokenIsBoundToTheVisitorsCookie(t *testing.T) {
	ts := newTestServer(t, nil)
	attacker := newClient(t)
	resp, body := uiSignup(t, ts, attacker, "mallory@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	attacker = newClient(t)
	_, page := get(t, attacker, ts.url+"/login")
	tok := csrfToken(t, page)

	victim := newClient(t)
	_, _ = get(t, victim, ts.url+"/login") // the victim has its own __Host-csrf
	for name, c := range map[string]*http.Client{"other cookie": victim, "no cookie": newClient(t)} {
		form := url.Values{"csrf_token": {tok}, "email": {"mallory@example.com"}, "password": {uiPassword}}
		resp, body := do(t, c, http.MethodPost, ts.url+"/login", strings.NewReader(form.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: login with another visitor's token: status %d, want 403; %s", name, resp.StatusCode, body)
		}
	}
}

// Sign-out is a state change: a cross-site form cannot sign the user out,
// nor can a request without a token from a browser without Fetch Metadata.
func TestSignOutRefusesCrossSiteRequests(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newClient(t)
	resp, body := uiSignup(t, ts, c, "sid@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiLogin(t, ts, c, "sid@example.com", uiPassword)
	wantRedirect(t, resp, body, "/account")
	for name, hdr := range map[string]map[string]string{
		"cross-site":     {"Sec-Fetch-Site": "cross-site"},
		"foreign origin": {"Origin": "https://evil.example"},
		"no token":       {},
	} {
		hdr["Content-Type"] = "application/x-www-form-urlencoded"
		resp, body := do(t, c, http.MethodPost, ts.url+signOutPath, strings.NewReader(""), hdr)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s sign-out: status %d, want 403; %s", name, resp.StatusCode, body)
		}
	}
	resp, body = get(t, c, ts.url+"/account")
	wantStatus(t, resp, body, http.StatusOK)
}

// Guessing the password through /reauth with a signed-in session is
// throttled like the login form.
func TestReauthPasswordGuessingIsThrottled(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newClient(t)
	resp, body := uiSignup(t, ts, c, "gus@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiLogin(t, ts, c, "gus@example.com", uiPassword)
	wantRedirect(t, resp, body, "/account")
	got429 := false
	for i := 0; i < 30 && !got429; i++ {
		resp, _ := reauthPost(t, ts, c, url.Values{"password": {"wrong guess number " + string(rune('a'+i))}})
		got429 = resp.StatusCode == http.StatusTooManyRequests
	}
	if !got429 {
		t.Fatal("30 wrong passwords through /reauth were never throttled")
	}
	resp, body = reauthPost(t, ts, c, url.Values{"password": {uiPassword}})
	wantStatus(t, resp, body, http.StatusTooManyRequests)
}

// With the password known, /reauth does not let a stolen session guess the
// second factor with a fresh challenge per attempt.
func TestReauthCodeGuessingIsThrottled(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newClient(t)
	resp, body := uiSignup(t, ts, c, "cody@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	a := newAPI(t, ts)
	a.loginOK("cody@example.com", uiPassword)
	secret, _ := enrollMFA(t, a)
	ts.clock.Add(31 * time.Second)
	resp, body = uiLogin(t, ts, c, "cody@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login/mfa")
	_, page := get(t, c, ts.url+"/login/mfa")
	resp, body = postForm(t, c, ts.url+"/login/mfa", url.Values{"csrf_token": {csrfToken(t, page)}, "code": {totp(t, secret, ts.clock.Now())}})
	wantRedirect(t, resp, body, "/account")
	good := totp(t, secret, ts.clock.Now().Add(30*time.Second))
	got429 := false
	for i := 0; i < 30 && !got429; i++ {
		code := fmt.Sprintf("%06d", 100000+i)
		if code == good || code == totp(t, secret, ts.clock.Now()) {
			continue
		}
		resp, _ := reauthPost(t, ts, c, url.Values{"password": {uiPassword}, "code": {code}})
		got429 = resp.StatusCode == http.StatusTooManyRequests
	}
	if !got429 {
		t.Fatal("30 wrong codes through /reauth were never throttled")
	}
	ts.clock.Add(30 * time.Second)
	resp, body = reauthPost(t, ts, c, url.Values{"password": {uiPassword}, "code": {good}})
	wantStatus(t, resp, body, http.StatusTooManyRequests)
}

// The session list's revoke form ends only the caller's own sessions: the
// id of another user's session is "already ended", and that session lives.
func TestRevokeSessionOfAnotherUserIsRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	alice, bob := newClient(t), newClient(t)
	for email, c := range map[string]*http.Client{"alice@example.com": alice, "bob@example.com": bob} {
		resp, body := uiSignup(t, ts, c, email, uiPassword)
		wantRedirect(t, resp, body, "/login")
		resp, body = uiLogin(t, ts, c, email, uiPassword)
		wantRedirect(t, resp, body, "/account")
	}
	bobUser, found, err := ts.app.accounts.UserByLogin(t.Context(), "bob@example.com")
	if err != nil || !found {
		t.Fatal(found, err)
	}
	list, err := ts.app.sessions.ListUser(t.Context(), bobUser.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("bob's sessions %v %v", list, err)
	}
	resp, body := uiPost(t, ts, alice, "/account/sessions/revoke", url.Values{"id": {list[0].ID}})
	wantRedirect(t, resp, body, "/account")
	resp, body = get(t, bob, ts.url+"/account")
	wantStatus(t, resp, body, http.StatusOK)
}

// An import line whose hash the server could never verify (argon2id
// parameters above the decoder's bounds, a bcrypt cost above the hasher's
// limit) fails start-up naming it, instead of leaving an account that can
// never sign in, or taking the server down at each sign-in attempt.
func TestImportRefusesHashesTheServerCannotVerify(t *testing.T) {
	for name, hash := range map[string]string{
		"argon2id m=4GiB": "$argon2id$v=19$m=4194304,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$" + strings.Repeat("A", 43),
		"argon2id t=1e6":  "$argon2id$v=19$m=1024,t=1000000,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + strings.Repeat("A", 43),
		"bcrypt cost 31":  "$2b$31$" + strings.Repeat("a", 53),
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "users.jsonl")
			line := fmt.Sprintf(`{"email":"hostile@example.com","password_hash":%q}`+"\n", hash)
			if err := os.WriteFile(file, []byte(line), 0o600); err != nil {
				t.Fatal(err)
			}
			params := cheapParams
			app, err := NewApp(t.Context(), Options{BaseURL: "http://127.0.0.1:1", PasswordParams: &params,
				Logger: discardLogger(), ImportFile: file})
			if err == nil {
				app.Close()
				t.Fatal("start-up accepted a hash it cannot verify")
			}
			if !strings.Contains(err.Error(), "line 1") && !strings.Contains(err.Error(), "hostile@example.com") {
				t.Fatalf("start-up error names neither line nor account: %v", err)
			}
		})
	}
}

// A malformed __Host-csrf value (an older format, a truncated cookie) is
// replaced: the page renders with a fresh value instead of failing.
func TestMalformedAnonymousCSRFCookieIsReplaced(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, v := range []string{"garbage", "", strings.Repeat("A", 44)} {
		resp, body := do(t, newClient(t), http.MethodGet, ts.url+"/login", nil, map[string]string{"Cookie": anonCSRFCookie + "=" + v})
		wantStatus(t, resp, body, http.StatusOK)
		if c := setCookie(t, resp, anonCSRFCookie); c == nil || c.Value == v {
			t.Fatalf("value %q: no fresh %s cookie", v, anonCSRFCookie)
		}
	}
}

// Deleting the account in the UI ends its API tokens on other devices and
// its other browser sessions.
func TestUIDeleteAccountEndsOtherDevices(t *testing.T) {
	ts := newTestServer(t, nil)
	c, other := newClient(t), newClient(t)
	resp, body := uiSignup(t, ts, c, "dee@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	for _, cl := range []*http.Client{c, other} {
		resp, body = uiLogin(t, ts, cl, "dee@example.com", uiPassword)
		wantRedirect(t, resp, body, "/account")
	}
	a := newAPI(t, ts)
	a.loginOK("dee@example.com", uiPassword)
	resp, body = uiPost(t, ts, c, "/account/delete", nil)
	wantRedirect(t, resp, body, "/login")
	resp, body = a.get("/api/me")
	errCode(t, resp, body, http.StatusUnauthorized, "unauthenticated")
	resp, body = a.post("/auth/refresh", nil)
	wantStatus(t, resp, body, http.StatusUnauthorized)
	resp, body = get(t, other, ts.url+"/account")
	wantRedirect(t, resp, body, "/login")
}

// Session renewals (a new id after turning MFA on) keep the sign-in time:
// they do not count as signing in again for the step-up routes.
func TestSessionRenewalDoesNotRefreshStepUp(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newClient(t)
	resp, body := uiSignup(t, ts, c, "ren@example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiLogin(t, ts, c, "ren@example.com", uiPassword)
	wantRedirect(t, resp, body, "/account")
	ts.clock.Add(8 * time.Minute)
	resp, page := uiPost(t, ts, c, "/account/mfa/enroll", nil)
	wantStatus(t, resp, page, http.StatusOK)
	m := secretRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no secret on the enrollment page: %s", page)
	}
	resp, body = postForm(t, c, ts.url+"/account/mfa/confirm", url.Values{"csrf_token": {csrfToken(t, page)}, "code": {totp(t, m[1], ts.clock.Now())}})
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = uiPost(t, ts, c, "/account/delete", nil)
	wantRedirect(t, resp, body, "/reauth?return_to=%2Faccount")
}
