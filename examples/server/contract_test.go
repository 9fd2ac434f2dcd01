package main

// The HTTP contract of the example server (examples/README.md), row by row through
// the real server on a loopback port: exact status codes, JSON bodies and
// cookie attributes. Clients in other languages exercise the same contract.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
)

const (
	pw1 = "correct horse battery staple"
	pw2 = "another long passphrase 2026"
)

// jsonEq asserts that body is exactly the JSON value want.
func jsonEq(t *testing.T, resp *http.Response, body, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%s %s: body is not JSON: %q", resp.Request.Method, resp.Request.URL.Path, body)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad want %q", want)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("%s %s: body %s, want %s", resp.Request.Method, resp.Request.URL.Path, body, want)
	}
}

// errCode asserts {"error": code} (extra members such as "reason" allowed).
func errCode(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	wantStatus(t, resp, body, status)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil || m["error"] != code {
		t.Fatalf("%s %s: body %s, want error %q", resp.Request.Method, resp.Request.URL.Path, body, code)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
}

// The token cookies' names: __Host-access_token can only be set by this
// host (Path=/, no Domain); __Secure-refresh_token only over HTTPS, and a
// request carrying two of either is refused.
const (
	accessName  = authkit.AccessCookie
	refreshName = authkit.RefreshCookie
)

type cookieWant struct {
	path     string
	sameSite http.SameSite
}

var (
	accessCookie  = cookieWant{"/", http.SameSiteLaxMode}
	refreshCookie = cookieWant{"/auth", http.SameSiteStrictMode}
)

// wantCookie asserts a Set-Cookie that sets name with the contract's
// attributes and returns its value.
func wantCookie(t *testing.T, resp *http.Response, name string, w cookieWant) string {
	t.Helper()
	c := setCookie(t, resp, name)
	if c == nil {
		t.Fatalf("%s %s: no Set-Cookie %s; headers %v", resp.Request.Method, resp.Request.URL.Path, name, resp.Header.Values("Set-Cookie"))
	}
	raw := rawSetCookie(resp, name)
	if !c.HttpOnly || !c.Secure || c.SameSite != w.sameSite || c.Path != w.path || c.MaxAge <= 0 || c.Value == "" || c.Domain != "" {
		t.Fatalf("cookie %s: %q, want HttpOnly, Secure, SameSite=%v, Path=%s, Max-Age>0, no Domain", name, raw, w.sameSite, w.path)
	}
	return c.Value
}

// wantCleared asserts a Set-Cookie that clears name (Max-Age=0, same path).
func wantCleared(t *testing.T, resp *http.Response, name string, w cookieWant) {
	t.Helper()
	raw := rawSetCookie(resp, name)
	c := setCookie(t, resp, name)
	if c == nil || c.MaxAge >= 0 || !strings.Contains(raw, "Max-Age=0") || c.Path != w.path || c.Value != "" {
		t.Fatalf("%s %s: cookie %s not cleared: %q", resp.Request.Method, resp.Request.URL.Path, name, raw)
	}
}

func wantNoCookies(t *testing.T, resp *http.Response) {
	t.Helper()
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("%s %s: unexpected Set-Cookie %v", resp.Request.Method, resp.Request.URL.Path, sc)
	}
}

// apiClient is a non-browser JSON client that carries the token cookies by
// hand (no jar), so every assertion sees exactly what was sent.
type apiClient struct {
	t       *testing.T
	ts      *testServer
	c       *http.Client
	access  string
	refresh string
	device  string // the device cookie of an earlier sign-in
}

func newAPI(t *testing.T, ts *testServer) *apiClient {
	c := newClient(t)
	c.Jar = nil // the token cookies are sent by hand, exactly once
	return &apiClient{t: t, ts: ts, c: c}
}

func (a *apiClient) cookieHeader() map[string]string {
	var parts []string
	if a.access != "" {
		parts = append(parts, accessName+"="+a.access)
	}
	if a.refresh != "" {
		// The browser holds the binding cookie set with the refresh cookie.
		sum := sha256.Sum256([]byte("authkit refresh binding\x00" + a.refresh))
		parts = append(parts, refreshName+"="+a.refresh,
			authkit.RefreshBindingCookie+"="+base64.RawURLEncoding.EncodeToString(sum[:]))
	}
	if a.device != "" {
		parts = append(parts, authkit.DeviceCookie+"="+a.device)
	}
	if len(parts) == 0 {
		return nil
	}
	return map[string]string{"Cookie": strings.Join(parts, "; ")}
}

func (a *apiClient) post(path string, body any) (*http.Response, string) {
	a.t.Helper()
	return postJSON(a.t, a.c, a.ts.url+path, body, a.cookieHeader())
}

func (a *apiClient) get(path string) (*http.Response, string) {
	a.t.Helper()
	return do(a.t, a.c, http.MethodGet, a.ts.url+path, nil, a.cookieHeader())
}

// take records the token cookies of a successful response.
func (a *apiClient) take(resp *http.Response) {
	a.t.Helper()
	a.access = wantCookie(a.t, resp, accessName, accessCookie)
	a.refresh = wantCookie(a.t, resp, refreshName, refreshCookie)
	if c := setCookie(a.t, resp, authkit.DeviceCookie); c != nil && c.Value != "" {
		a.device = c.Value
	}
}

type userResp struct {
	ID    string   `json:"id"`
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

func (a *apiClient) signup(email, pw string) userResp {
	a.t.Helper()
	resp, body := a.post("/auth/signup", map[string]string{"email": email, "password": pw})
	wantStatus(a.t, resp, body, http.StatusCreated)
	var u userResp
	if err := json.Unmarshal([]byte(body), &u); err != nil || u.ID == "" {
		a.t.Fatalf("signup body %s", body)
	}
	return u
}

func (a *apiClient) login(email, pw string) (*http.Response, string) {
	a.t.Helper()
	return a.post("/auth/login", map[string]string{"email": email, "password": pw})
}

// loginOK logs in (no MFA) and keeps the cookies.
func (a *apiClient) loginOK(email, pw string) userResp {
	a.t.Helper()
	resp, body := a.login(email, pw)
	wantStatus(a.t, resp, body, 200)
	a.take(resp)
	var r struct {
		User userResp `json:"user"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.User.ID == "" {
		a.t.Fatalf("login body %s", body)
	}
	return r.User
}

func userJSONString(u userResp) string {
	b, _ := json.Marshal(u)
	return string(b)
}

func TestContractSignup(t *testing.T) {
	ts := newTestServer(t, nil)
	a := newAPI(t, ts)

	resp, body := a.post("/auth/signup", map[string]string{"email": "Bob@Example.com ", "password": pw1})
	wantStatus(t, resp, body, http.StatusCreated)
	var u userResp
	_ = json.Unmarshal([]byte(body), &u)
	jsonEq(t, resp, body, userJSONString(userResp{ID: u.ID, Email: "bob@example.com", Roles: []string{"viewer"}}))
	wantNoCookies(t, resp)

	resp, body = a.post("/auth/signup", map[string]string{"email": "admin@example.com", "password": pw1})
	wantStatus(t, resp, body, http.StatusCreated)
	_ = json.Unmarshal([]byte(body), &u)
	if !reflect.DeepEqual(u.Roles, []string{"admin"}) {
		t.Fatalf("-admin-email account roles %v", u.Roles)
	}

	for _, tc := range []struct {
		name, email, pw string
		status          int
		code            string
	}{
		{"weak_password_short", "c@example.com", "short", 400, "weak_password"},
		{"weak_password_common", "c@example.com", "password1234", 400, "weak_password"},
		{"weak_password_is_email", "carol.long@example.com", "carol.long@example.com", 400, "weak_password"},
		{"invalid_email", "not-an-email", pw1, 400, "invalid_email"},
		{"invalid_email_empty", "", pw1, 400, "invalid_email"},
		{"email_taken", "BOB@example.com", pw2, 409, "email_taken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := a.post("/auth/signup", map[string]string{"email": tc.email, "password": tc.pw})
			errCode(t, resp, body, tc.status, tc.code)
			wantNoCookies(t, resp)
		})
	}

	t.Run("429_rate_limited_per_ip", func(t *testing.T) {
		var last *http.Response
		var lastBody string
		for i := range 40 {
			last, lastBody = a.post("/auth/signup", map[string]string{"email": fmt.Sprintf("flood%d@example.com", i), "password": pw1})
			if last.StatusCode == http.StatusTooManyRequests {
				break
			}
			wantStatus(t, last, lastBody, http.StatusCreated)
		}
		errCode(t, last, lastBody, http.StatusTooManyRequests, "rate_limited")
		if s, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
		}
	})
}

func TestContractLogin(t *testing.T) {
	ts := newTestServer(t, nil)
	a := newAPI(t, ts)
	u := a.signup("dora@example.com", pw1)

	t.Run("200_cookies", func(t *testing.T) {
		resp, body := a.login("  Dora@EXAMPLE.com", pw1)
		wantStatus(t, resp, body, 200)
		jsonEq(t, resp, body, `{"user":`+userJSONString(u)+`}`)
		a.take(resp)
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Fatalf("Cache-Control %q", cc)
		}
		resp, body = a.get("/api/me")
		wantStatus(t, resp, body, 200)
		jsonEq(t, resp, body, userJSONString(u))
		// Bearer works as well as the cookie.
		resp, body = do(t, a.c, http.MethodGet, ts.url+"/api/me", nil, map[string]string{"Authorization": "Bearer " + a.access})
		wantStatus(t, resp, body, 200)
	})

	t.Run("401_same_for_unknown_user", func(t *testing.T) {
		wrong, wbody := a.login("dora@example.com", "not the password at all")
		errCode(t, wrong, wbody, 401, "invalid_credentials")
		unknown, ubody := a.login("nobody@example.com", "not the password at all")
		errCode(t, unknown, ubody, 401, "invalid_credentials")
		if wbody != ubody {
			t.Fatalf("bodies differ: %q vs %q", wbody, ubody)
		}
		for _, r := range []*http.Response{wrong, unknown} {
			r.Header.Del("Date")
		}
		if !reflect.DeepEqual(wrong.Header, unknown.Header) {
			t.Fatalf("headers differ:\n%v\n%v", wrong.Header, unknown.Header)
		}
		wantNoCookies(t, wrong)
	})

	t.Run("429_rate_limited_retry_after", func(t *testing.T) {
		// A browser that never signed in: a's device cookie exempts it.
		b := newAPI(t, ts)
		for _, login := range []string{"dora@example.com", "ghost@example.com"} {
			var resp *http.Response
			var body string
			for i := range 12 {
				resp, body = b.login(login, fmt.Sprintf("wrong password %d", i))
				if resp.StatusCode == http.StatusTooManyRequests {
					break
				}
				errCode(t, resp, body, 401, "invalid_credentials")
			}
			errCode(t, resp, body, http.StatusTooManyRequests, "rate_limited")
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 15*60 {
				t.Fatalf("%s: Retry-After %q", login, resp.Header.Get("Retry-After"))
			}
			// Even the right password waits: the lock is per login name,
			// except for a browser that signed in to it before.
			if login == "dora@example.com" {
				resp, body = b.login(login, pw1)
				errCode(t, resp, body, http.StatusTooManyRequests, "rate_limited")
				resp, body = a.login(login, pw1)
				wantStatus(t, resp, body, 200)
			}
		}
		// The lock is temporary.
		ts.clock.Add(16 * time.Minute)
		a.loginOK("dora@example.com", pw1)
	})

	t.Run("cross_site_post_403", func(t *testing.T) {
		for _, h := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site"},
			{"Sec-Fetch-Site": "same-site"},
			{"Origin": "https://evil.example"},
		} {
			resp, body := postJSON(t, a.c, ts.url+"/auth/login", map[string]string{"email": "dora@example.com", "password": pw1}, h)
			errCode(t, resp, body, http.StatusForbidden, "forbidden")
			wantNoCookies(t, resp)
		}
		resp, body := postJSON(t, a.c, ts.url+"/auth/login", map[string]string{"email": "dora@example.com", "password": pw1},
			map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": ts.url})
		wantStatus(t, resp, body, 200)
	})
}

func TestContractAPI(t *testing.T) {
	ts := newTestServer(t, nil)
	a := newAPI(t, ts)
	a.signup("erin@example.com", pw1)
	admin := newAPI(t, ts)
	admin.signup("admin@example.com", pw1)

	resp, body := a.get("/api/me")
	errCode(t, resp, body, 401, "unauthenticated")
	resp, body = do(t, a.c, http.MethodGet, ts.url+"/api/me", nil, map[string]string{"Authorization": "Bearer not.a.token"})
	errCode(t, resp, body, 401, "unauthenticated")
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
	}
	resp, body = a.get("/api/admin/stats")
	errCode(t, resp, body, 401, "unauthenticated")

	a.loginOK("erin@example.com", pw1)
	resp, body = a.get("/api/admin/stats")
	errCode(t, resp, body, http.StatusForbidden, "forbidden")

	admin.loginOK("admin@example.com", pw1)
	resp, body = admin.get("/api/admin/stats")
	wantStatus(t, resp, body, 200)
	var st statsJSON
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Users != 2 {
		t.Fatalf("stats %s", body)
	}

	// An expired access token is refused.
	ts.clock.Add(16 * time.Minute)
	resp, body = a.get("/api/me")
	errCode(t, resp, body, 401, "unauthenticated")

	t.Run("jwks_public_only", func(t *testing.T) {
		resp, body := get(t, a.c, ts.url+"/.well-known/jwks.json")
		wantStatus(t, resp, body, 200)
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal([]byte(body), &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("jwks %s", body)
		}
		k := set.Keys[0]
		if k["kid"] != ts.app.KeyID() || k["alg"] != "ES256" {
			t.Fatalf("jwks key %v", k)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Fatalf("jwks publishes private member %q", private)
			}
		}
	})
}

func TestContractRefreshLogout(t *testing.T) {
	ts := newTestServer(t, nil)
	a := newAPI(t, ts)
	u := a.signup("fay@example.com", pw1)
	a.loginOK("fay@example.com", pw1)

	// Refresh rotates both cookies.
	old := a.refresh
	ts.clock.Add(time.Second)
	resp, body := a.post("/auth/refresh", nil)
	wantStatus(t, resp, body, 200)
	jsonEq(t, resp, body, `{"user":`+userJSONString(u)+`}`)
	a.take(resp)
	if a.refresh == old {
		t.Fatal("refresh token not rotated")
	}
	newest := a.refresh

	// Reuse of the rotated token after the retry window (5 s) revokes the
	// family.
	ts.clock.Add(6 * time.Second)
	a.refresh = old
	resp, body = a.post("/auth/refresh", nil)
	errCode(t, resp, body, 401, "token_reused")
	wantCleared(t, resp, accessName, accessCookie)
	wantCleared(t, resp, refreshName, refreshCookie)
	a.refresh = newest
	resp, body = a.post("/auth/refresh", nil)
	wantStatus(t, resp, body, 401) // the newest token died with its family

	a.refresh = ""
	resp, body = a.post("/auth/refresh", nil)
	errCode(t, resp, body, 401, "invalid_token")
	a.refresh = "akrt_bogus"
	resp, body = a.post("/auth/refresh", nil)
	errCode(t, resp, body, 401, "invalid_token")

	// Logout: 204, cookies cleared, refresh token revoked.
	a.loginOK("fay@example.com", pw1)
	rt := a.refresh
	resp, body = a.post("/auth/logout", nil)
	wantStatus(t, resp, body, http.StatusNoContent)
	wantCleared(t, resp, accessName, accessCookie)
	wantCleared(t, resp, refreshName, refreshCookie)
	a.access, a.refresh = "", rt
	resp, body = a.post("/auth/refresh", nil)
	errCode(t, resp, body, 401, "invalid_token")
	// Logout without cookies is idempotent.
	a.refresh = ""
	resp, body = a.post("/auth/logout", nil)
	wantStatus(t, resp, body, http.StatusNoContent)
}

func TestContractLogoutAll(t *testing.T) {
	ts := newTestServer(t, nil)
	a, b := newAPI(t, ts), newAPI(t, ts)
	a.signup("gus@example.com", pw1)
	a.loginOK("gus@example.com", pw1)
	b.loginOK("gus@example.com", pw1)
	// A UI session of the same user.
	ui := newClient(t)
	resp, body := uiLogin(t, ts, ui, "gus@example.com", pw1)
	wantRedirect(t, resp, body, "/account")

	resp, body = newAPI(t, ts).post("/auth/logout-all", nil)
	errCode(t, resp, body, 401, "unauthenticated")

	ts.clock.Add(2 * time.Second) // iat has one-second granularity
	resp, body = a.post("/auth/logout-all", nil)
	wantStatus(t, resp, body, http.StatusNoContent)
	wantCleared(t, resp, accessName, accessCookie)
	wantCleared(t, resp, refreshName, refreshCookie)

	// Per-user not-before: b's access token, issued before, is refused.
	resp, body = b.get("/api/me")
	errCode(t, resp, body, 401, "unauthenticated")
	resp, body = b.post("/auth/refresh", nil)
	wantStatus(t, resp, body, 401)
	resp, body = get(t, ui, ts.url+"/account")
	wantRedirect(t, resp, body, "/login")

	// A new login works.
	ts.clock.Add(time.Second)
	a.loginOK("gus@example.com", pw1)
	resp, body = a.get("/api/me")
	wantStatus(t, resp, body, 200)
}

func TestContractPassword(t *testing.T) {
	ts := newTestServer(t, nil)
	a, other := newAPI(t, ts), newAPI(t, ts)
	a.signup("hal@example.com", pw1)
	a.loginOK("hal@example.com", pw1)
	other.loginOK("hal@example.com", pw1)

	resp, body := newAPI(t, ts).post("/auth/password", map[string]string{"current_password": pw1, "new_password": pw2})
	errCode(t, resp, body, 401, "unauthenticated")
	resp, body = a.post("/auth/password", map[string]string{"current_password": "wrong one entirely", "new_password": pw2})
	errCode(t, resp, body, 401, "invalid_credentials")
	resp, body = a.post("/auth/password", map[string]string{"current_password": pw1, "new_password": "12345678"})
	errCode(t, resp, body, 400, "weak_password")

	ts.clock.Add(2 * time.Second)
	resp, body = a.post("/auth/password", map[string]string{"current_password": pw1, "new_password": pw2})
	wantStatus(t, resp, body, http.StatusNoContent)
	if setCookie(t, resp, accessName) != nil && setCookie(t, resp, accessName).MaxAge > 0 {
		a.take(resp) // fresh cookies for this client
		resp, body = a.get("/api/me")
		wantStatus(t, resp, body, 200)
	}
	// The other client's tokens are dead.
	resp, body = other.get("/api/me")
	errCode(t, resp, body, 401, "unauthenticated")
	resp, body = other.post("/auth/refresh", nil)
	wantStatus(t, resp, body, 401)
	// Old password refused, new one works.
	resp, body = newAPI(t, ts).login("hal@example.com", pw1)
	errCode(t, resp, body, 401, "invalid_credentials")
	newAPI(t, ts).loginOK("hal@example.com", pw2)
}

// enrollMFA enrolls and confirms TOTP through the API; it returns the secret,
// the backup codes and the time of the code used to confirm.
func enrollMFA(t *testing.T, a *apiClient) (secret string, codes []string) {
	t.Helper()
	resp, body := a.post("/auth/mfa/enroll", nil)
	wantStatus(t, resp, body, 200)
	var setup struct {
		Secret     string `json:"secret"`
		OTPAuthURL string `json:"otpauth_url"`
		QRPNG      string `json:"qr_png"`
	}
	if err := json.Unmarshal([]byte(body), &setup); err != nil || setup.Secret == "" {
		t.Fatalf("enroll body %s", body)
	}
	png, err := base64.StdEncoding.DecodeString(setup.QRPNG)
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG\r\n") {
		t.Fatalf("qr_png is not a base64 PNG")
	}
	if !strings.HasPrefix(setup.OTPAuthURL, "otpauth://totp/") || !strings.Contains(setup.OTPAuthURL, "secret="+setup.Secret) {
		t.Fatalf("otpauth_url %q", setup.OTPAuthURL)
	}
	resp, body = a.post("/auth/mfa/confirm", map[string]string{"code": "000000"})
	if totp(t, setup.Secret, a.ts.clock.Now()) != "000000" {
		errCode(t, resp, body, 401, "invalid_code")
	}
	resp, body = a.post("/auth/mfa/confirm", map[string]string{"code": totp(t, setup.Secret, a.ts.clock.Now())})
	wantStatus(t, resp, body, 200)
	var bc struct {
		BackupCodes []string `json:"backup_codes"`
	}
	if err := json.Unmarshal([]byte(body), &bc); err != nil || len(bc.BackupCodes) != 10 {
		t.Fatalf("confirm body %s", body)
	}
	return setup.Secret, bc.BackupCodes
}

func TestContractMFA(t *testing.T) {
	ts := newTestServer(t, nil)
	a := newAPI(t, ts)
	u := a.signup("ivy@example.com", pw1)

	resp, body := a.post("/auth/mfa/enroll", nil)
	errCode(t, resp, body, 401, "unauthenticated")
	a.loginOK("ivy@example.com", pw1)

	// reauth_required: the sign-in is older than 10 minutes.
	ts.clock.Add(11 * time.Minute)
	resp, body = a.post("/auth/mfa/enroll", nil)
	errCode(t, resp, body, 401, "reauth_required")
	a.loginOK("ivy@example.com", pw1)

	secret, codes := enrollMFA(t, a)
	confirmAt := ts.clock.Now()

	// Login now needs the second factor: no cookies, an mfa_token.
	c := newAPI(t, ts)
	resp, body = c.login("ivy@example.com", pw1)
	wantStatus(t, resp, body, 200)
	wantNoCookies(t, resp)
	var ch struct {
		MFARequired bool   `json:"mfa_required"`
		MFAToken    string `json:"mfa_token"`
	}
	if err := json.Unmarshal([]byte(body), &ch); err != nil || !ch.MFARequired || ch.MFAToken == "" {
		t.Fatalf("login body %s", body)
	}
	var keys map[string]any
	_ = json.Unmarshal([]byte(body), &keys)
	if len(keys) != 2 {
		t.Fatalf("MFA login body has extra members: %s", body)
	}
	// The MFA token is not an access token.
	resp, body = do(t, c.c, http.MethodGet, ts.url+"/api/me", nil, map[string]string{"Authorization": "Bearer " + ch.MFAToken})
	errCode(t, resp, body, 401, "unauthenticated")

	// The code that confirmed the enrollment is spent.
	resp, body = c.post("/auth/mfa/verify", map[string]string{"mfa_token": ch.MFAToken, "code": totp(t, secret, confirmAt)})
	errCode(t, resp, body, 401, "invalid_code")
	wantNoCookies(t, resp)
	resp, body = c.post("/auth/mfa/verify", map[string]string{"mfa_token": "mfa_bogus", "code": "123456"})
	errCode(t, resp, body, 401, "invalid_code")

	ts.clock.Add(30 * time.Second)
	code := totp(t, secret, ts.clock.Now())
	resp, body = c.post("/auth/mfa/verify", map[string]string{"mfa_token": ch.MFAToken, "code": code})
	wantStatus(t, resp, body, 200)
	jsonEq(t, resp, body, `{"user":`+userJSONString(u)+`}`)
	c.take(resp)

	// Replayed TOTP at a new login: 401 invalid_code.
	d := newAPI(t, ts)
	resp, body = d.login("ivy@example.com", pw1)
	wantStatus(t, resp, body, 200)
	_ = json.Unmarshal([]byte(body), &ch)
	resp, body = d.post("/auth/mfa/verify", map[string]string{"mfa_token": ch.MFAToken, "code": code})
	errCode(t, resp, body, 401, "invalid_code")
	// A backup code works once.
	resp, body = d.post("/auth/mfa/verify", map[string]string{"mfa_token": ch.MFAToken, "code": codes[0]})
	wantStatus(t, resp, body, 200)
	d.take(resp)
	e := newAPI(t, ts)
	_, body = e.login("ivy@example.com", pw1)
	_ = json.Unmarshal([]byte(body), &ch)
	resp, body = e.post("/auth/mfa/verify", map[string]string{"mfa_token": ch.MFAToken, "code": codes[0]})
	errCode(t, resp, body, 401, "invalid_code")

	// New backup codes (recent sign-in, current code): the old set is void.
	ts.clock.Add(30 * time.Second)
	resp, body = d.post("/auth/mfa/backup-codes", map[string]string{"code": totp(t, secret, ts.clock.Now())})
	wantStatus(t, resp, body, 200)
	var bc struct {
		BackupCodes []string `json:"backup_codes"`
	}
	if err := json.Unmarshal([]byte(body), &bc); err != nil || len(bc.BackupCodes) != 10 {
		t.Fatalf("backup-codes body %s", body)
	}
	_, body = e.login("ivy@example.com", pw1)
	_ = json.Unmarshal([]byte(body), &ch)
	resp, body = e.post("/auth/mfa/verify", map[string]string{"mfa_token": ch.MFAToken, "code": codes[1]})
	errCode(t, resp, body, 401, "invalid_code")

	// Disable needs a recent sign-in and a current code.
	ts.clock.Add(11 * time.Minute)
	resp, body = d.post("/auth/mfa/disable", map[string]string{"code": totp(t, secret, ts.clock.Now())})
	errCode(t, resp, body, 401, "reauth_required")
	f := newAPI(t, ts)
	_, body = f.login("ivy@example.com", pw1)
	_ = json.Unmarshal([]byte(body), &ch)
	resp, body = f.post("/auth/mfa/verify", map[string]string{"mfa_token": ch.MFAToken, "code": totp(t, secret, ts.clock.Now())})
	wantStatus(t, resp, body, 200)
	f.take(resp)
	resp, body = f.post("/auth/mfa/disable", map[string]string{"code": "not-a-code"})
	errCode(t, resp, body, 401, "invalid_code")
	ts.clock.Add(30 * time.Second)
	resp, body = f.post("/auth/mfa/disable", map[string]string{"code": totp(t, secret, ts.clock.Now())})
	wantStatus(t, resp, body, http.StatusNoContent)
	newAPI(t, ts).loginOK("ivy@example.com", pw1) // no second step any more
}
