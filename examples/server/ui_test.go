package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/internal/testenv"
)

const uiPassword = "correct horse battery staple"

// uiSignup signs up through the HTML form with its CSRF token.
func uiSignup(t *testing.T, ts *testServer, c *http.Client, email, pw string) (*http.Response, string) {
	t.Helper()
	_, page := get(t, c, ts.url+"/signup")
	return postForm(t, c, ts.url+"/signup", url.Values{"csrf_token": {csrfToken(t, page)}, "email": {email}, "password": {pw}})
}

// uiLogin submits the login form.
func uiLogin(t *testing.T, ts *testServer, c *http.Client, email, pw string) (*http.Response, string) {
	t.Helper()
	_, page := get(t, c, ts.url+"/login")
	return postForm(t, c, ts.url+"/login", url.Values{"csrf_token": {csrfToken(t, page)}, "email": {email}, "password": {pw}})
}

// uiPost posts a form from the account page with a fresh token.
func uiPost(t *testing.T, ts *testServer, c *http.Client, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	_, page := get(t, c, ts.url+"/account")
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", csrfToken(t, page))
	return postForm(t, c, ts.url+path, form)
}

var secretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)

// TestUI walks the browser UI with a cookie jar: sign-up, login, TOTP
// enrollment, logout, login with a code, sessions, admin page, CSRF.
func TestUI(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testUI(t, newTestServer(t, nil)) })
	// The same walk over the SQL stores (sessions, tokens, MFA, counters in
	// SQLite through store/sqlstore; users in the example's own SQL table).
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		testUI(t, newTestServer(t, func(o *Options) {
			o.Store = "sqlite:" + filepath.Join(dir, "auth.db")
			o.Users = "sqlite:" + filepath.Join(dir, "users.db")
			o.KeyDir = filepath.Join(dir, "keys")
		}))
	})
	// And over PostgreSQL (skipped unless AUTHKIT_TEST_POSTGRES_DSN is set;
	// required under CI=true), in a database of its own.
	t.Run("postgres", func(t *testing.T) {
		dsn := freshPostgresDB(t, testenv.Postgres(t))
		testUI(t, newTestServer(t, func(o *Options) {
			o.Store, o.Users, o.KeyDir = "postgres:"+dsn, "postgres:"+dsn, filepath.Join(t.TempDir(), "keys")
		}))
	})
	// And with sessions, tokens and counters in Redis (users in SQLite),
	// under a key prefix of its own that is deleted afterwards.
	t.Run("redis", func(t *testing.T) {
		u := testenv.Redis(t)
		prefix := freshRedisPrefix(t, u)
		dir := t.TempDir()
		testUI(t, newTestServer(t, func(o *Options) {
			o.Store, o.RedisPrefix = "redis:"+u, prefix
			o.Users = "sqlite:" + filepath.Join(dir, "users.db")
			o.KeyDir = filepath.Join(dir, "keys")
		}))
	})
}

// freshRedisPrefix returns a random key prefix and deletes its keys when
// the test ends.
func freshRedisPrefix(t *testing.T, redisURL string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "authkit-example-test-" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return
		}
		c := redis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// freshPostgresDB creates a database for one test and drops it afterwards.
func freshPostgresDB(t *testing.T, dsn string) string {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "authkit_example_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func testUI(t *testing.T, ts *testServer) {
	c := newClient(t)
	const email = "alice@example.com"

	// Anonymous visitors get no session, only the __Host-csrf value
	// their forms' tokens are bound to.
	resp, page := get(t, c, ts.url+"/signup")
	wantStatus(t, resp, page, 200)
	if raw := rawSetCookie(resp, "__Host-session"); raw != "" {
		t.Errorf("anonymous page set a session cookie: %q", raw)
	}
	wantHostCookie(t, resp, anonCSRFCookie)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}

	t.Run("form_without_token_403", func(t *testing.T) {
		resp, body := postForm(t, c, ts.url+"/signup", url.Values{"email": {email}, "password": {uiPassword}})
		wantStatus(t, resp, body, http.StatusForbidden)
	})
	t.Run("forged_token_403", func(t *testing.T) {
		resp, body := postForm(t, c, ts.url+"/signup", url.Values{"csrf_token": {"AAAA" + csrfToken(t, page)[4:]}, "email": {email}, "password": {uiPassword}})
		wantStatus(t, resp, body, http.StatusForbidden)
	})
	t.Run("cross_site_form_403", func(t *testing.T) {
		resp, body := do(t, c, http.MethodPost, ts.url+"/signup",
			strings.NewReader(url.Values{"csrf_token": {csrfToken(t, page)}, "email": {email}, "password": {uiPassword}}.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"})
		wantStatus(t, resp, body, http.StatusForbidden)
	})

	resp, body := uiSignup(t, ts, c, email, "password")
	wantStatus(t, resp, body, http.StatusBadRequest) // weak_password: blocklisted
	resp, body = uiSignup(t, ts, c, email, uiPassword)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiSignup(t, ts, c, email, uiPassword)
	wantStatus(t, resp, body, http.StatusConflict)

	resp, body = uiLogin(t, ts, c, email, "wrong password here")
	wantStatus(t, resp, body, http.StatusUnauthorized)
	before := ""
	for _, ck := range c.Jar.Cookies(mustURL(t, ts.url)) {
		if ck.Name == "__Host-session" {
			before = ck.Value
		}
	}
	resp, body = uiLogin(t, ts, c, email, uiPassword)
	wantRedirect(t, resp, body, "/account")
	if ck := setCookie(t, resp, "__Host-session"); ck == nil || ck.Value == before {
		t.Fatalf("S1_fixation: session id not rotated at login")
	}
	wantHostCookie(t, resp, "__Host-session")

	resp, body = get(t, c, ts.url+"/account")
	wantStatus(t, resp, body, 200)
	if !strings.Contains(body, email) || !strings.Contains(body, "viewer") {
		t.Fatalf("account page lacks the user: %s", body)
	}
	resp, body = get(t, c, ts.url+"/admin")
	wantStatus(t, resp, body, http.StatusForbidden)

	// TOTP enrollment: the secret is on the page; the code is computed here.
	resp, body = uiPost(t, ts, c, "/account/mfa/enroll", nil)
	wantStatus(t, resp, body, 200)
	m := secretRE.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Fatalf("enroll page lacks secret or QR image: %s", body)
	}
	secret := m[1]
	confirmCode := totp(t, secret, ts.clock.Now())
	resp, body = postForm(t, c, ts.url+"/account/mfa/confirm", url.Values{"csrf_token": {csrfToken(t, body)}, "code": {confirmCode}})
	wantStatus(t, resp, body, 200)
	if n := strings.Count(body, "<li><code>"); n != 10 {
		t.Fatalf("backup codes shown: %d, want 10", n)
	}

	resp, body = uiPost(t, ts, c, signOutPath, nil)
	wantRedirect(t, resp, body, "/login")
	if raw := rawSetCookie(resp, "__Host-session"); !strings.Contains(raw, "Max-Age=0") {
		t.Fatalf("logout cookie %q not cleared", raw)
	}

	// Login with the second factor; the code of the confirm step is spent.
	resp, body = uiLogin(t, ts, c, email, uiPassword)
	wantRedirect(t, resp, body, "/login/mfa")
	resp, body = get(t, c, ts.url+"/account")
	wantRedirect(t, resp, body, "/login") // Nothing protected while MFA is pending
	_, page = get(t, c, ts.url+"/login/mfa")
	resp, body = postForm(t, c, ts.url+"/login/mfa", url.Values{"csrf_token": {csrfToken(t, page)}, "code": {confirmCode}})
	wantStatus(t, resp, body, http.StatusUnauthorized) // Replayed code
	ts.clock.Add(30 * time.Second)
	resp, body = postForm(t, c, ts.url+"/login/mfa", url.Values{"csrf_token": {csrfToken(t, body)}, "code": {totp(t, secret, ts.clock.Now())}})
	wantRedirect(t, resp, body, "/account")

	// A second browser signs in; the first lists and revokes it.
	c2 := newClient(t)
	ts.clock.Add(30 * time.Second)
	resp, body = uiLogin(t, ts, c2, email, uiPassword)
	wantRedirect(t, resp, body, "/login/mfa")
	_, page = get(t, c2, ts.url+"/login/mfa")
	resp, body = postForm(t, c2, ts.url+"/login/mfa", url.Values{"csrf_token": {csrfToken(t, page)}, "code": {totp(t, secret, ts.clock.Now())}})
	wantRedirect(t, resp, body, "/account")

	_, body = get(t, c, ts.url+"/account")
	ids := regexp.MustCompile(`<tr class="session" data-id="([^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(ids) != 1 || strings.Count(body, `class="session current"`) != 1 {
		t.Fatalf("sessions list: want 1 other + 1 current, page: %s", body)
	}
	resp, body = postForm(t, c, ts.url+"/account/sessions/revoke", url.Values{"csrf_token": {csrfToken(t, body)}, "id": {ids[0][1]}})
	wantRedirect(t, resp, body, "/account")
	resp, body = get(t, c2, ts.url+"/account")
	wantRedirect(t, resp, body, "/login") // Revoked on the server

	// Password change ends the other sessions but keeps this one.
	ts.clock.Add(30 * time.Second)
	c3 := newClient(t)
	uiLogin(t, ts, c3, email, uiPassword)
	_, page = get(t, c3, ts.url+"/login/mfa")
	resp, body = postForm(t, c3, ts.url+"/login/mfa", url.Values{"csrf_token": {csrfToken(t, page)}, "code": {totp(t, secret, ts.clock.Now())}})
	wantRedirect(t, resp, body, "/account")
	resp, body = uiPost(t, ts, c, "/account/password", url.Values{"current_password": {uiPassword}, "new_password": {"a brand new passphrase 42"}})
	wantRedirect(t, resp, body, "/account")
	resp, body = get(t, c, ts.url+"/account")
	wantStatus(t, resp, body, 200)
	if !strings.Contains(body, "Password changed") {
		t.Fatalf("no confirmation: %s", body)
	}
	resp, body = get(t, c3, ts.url+"/account")
	wantRedirect(t, resp, body, "/login")

	// Log out everywhere ends this session too.
	resp, body = uiPost(t, ts, c, "/account/logout-all", nil)
	wantRedirect(t, resp, body, "/login")
	resp, body = get(t, c, ts.url+"/account")
	wantRedirect(t, resp, body, "/login")
}

// TestUIAdmin: the -admin-email account sees the admin page; others get 403.
func TestUIAdmin(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newClient(t)
	resp, body := uiSignup(t, ts, c, "Admin@Example.com", uiPassword)
	wantRedirect(t, resp, body, "/login")
	resp, body = uiLogin(t, ts, c, "admin@example.com", uiPassword)
	wantRedirect(t, resp, body, "/account")
	resp, body = get(t, c, ts.url+"/account")
	wantStatus(t, resp, body, 200)
	if !strings.Contains(body, `id="nav-admin"`) {
		t.Fatalf("admin link missing: %s", body)
	}
	resp, body = get(t, c, ts.url+"/admin")
	wantStatus(t, resp, body, 200)
	if !regexp.MustCompile(`id="stat-users">1<`).MatchString(body) {
		t.Fatalf("admin stats: %s", body)
	}
	// Anonymous: redirected to the login page.
	resp, body = get(t, newClient(t), ts.url+"/admin")
	wantRedirect(t, resp, body, "/login")
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// wantHostCookie checks the attributes of a __Host- cookie set by resp.
func wantHostCookie(t *testing.T, resp *http.Response, name string) {
	t.Helper()
	raw := rawSetCookie(resp, name)
	for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(raw, attr) {
			t.Errorf("cookie %s: %q lacks %s", name, raw, attr)
		}
	}
	if strings.Contains(strings.ToLower(raw), "domain=") {
		t.Errorf("cookie %s: %q has a Domain", name, raw)
	}
}
