package authkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/password"
)

// New reports every missing required field at once, wrapped in
// ErrInvalidConfig, and takes the secure defaults for the rest.
func TestNewReportsEveryMissingField(t *testing.T) {
	_, err := authkit.New(authkit.Config{Mailer: &mailbox{}})
	if !errors.Is(err, authkit.ErrInvalidConfig) {
		t.Fatalf("New(empty) = %v, want ErrInvalidConfig", err)
	}
	for _, field := range []string{"Users", "Keys", "TokenIssuer", "RefreshStore", "Attempts", "Tickets and Config.Mailer"} {
		if !strings.Contains(err.Error(), "Config."+field) {
			t.Errorf("error does not name Config.%s: %v", field, err)
		}
	}
	for _, optional := range []string{"Hasher", "PasswordPolicy", "MFA", "Secrets", "NotBefore"} {
		if strings.Contains(err.Error(), "Config."+optional) {
			t.Errorf("error names optional Config.%s: %v", optional, err)
		}
	}
	cfg := configOf(t, func(c *authkit.Config) { c.Hasher, c.PasswordPolicy, c.MFA, c.NotBefore = nil, nil, nil, nil })
	if _, err := authkit.New(cfg); err != nil {
		t.Fatalf("New without Hasher, PasswordPolicy and NotBefore: %v", err)
	}
	for name, mutate := range map[string]func(*authkit.Config){
		"Users":        func(c *authkit.Config) { c.Users = nil },
		"Keys":         func(c *authkit.Config) { c.Keys = nil },
		"TokenIssuer":  func(c *authkit.Config) { c.TokenIssuer = "" },
		"RefreshStore": func(c *authkit.Config) { c.RefreshStore = nil },
		"Attempts":     func(c *authkit.Config) { c.Attempts = nil },
		"Mailer alone": func(c *authkit.Config) { c.Tickets = nil },
		"SignupLimit":  func(c *authkit.Config) { c.SignupLimit = authkit.Tier{Max: -1, Window: time.Minute} },
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := authkit.New(configOf(t, mutate)); !errors.Is(err, authkit.ErrInvalidConfig) {
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// configOf builds the env's config with mutate applied, without New.
func configOf(t *testing.T, mutate func(*authkit.Config)) authkit.Config {
	var got authkit.Config
	newEnv(t, func(c *authkit.Config) { got = *c })
	mutate(&got)
	return got
}

// The whole contract in one walk: signup → login → MFA enroll → logout →
// login with MFA → refresh → reuse detection → logout-all.
func TestEndToEnd(t *testing.T) { eachMount(t, testEndToEnd) }

func testEndToEnd(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	e.signup("alice@example.com")
	c := e.login("Alice@Example.com ") // canonicalized
	e.expect(c.do("GET", "/api/me", nil), http.StatusOK, "")

	secret, backup := e.enrollMFA(c)
	if len(backup) != 10 {
		t.Fatalf("%d backup codes", len(backup))
	}
	confirmCode := e.code(secret)

	r := c.post("/auth/logout", nil)
	e.expect(r, http.StatusNoContent, "")
	for _, name := range []string{authkit.AccessCookie, authkit.RefreshCookie} {
		if c.native() {
			break
		}
		if ck := r.cookies[name]; ck == nil || ck.MaxAge >= 0 || !strings.Contains(r.header.Values("Set-Cookie")[0]+r.header.Values("Set-Cookie")[1], "Max-Age=0") {
			t.Fatalf("logout did not clear %s: %v", name, r.header.Values("Set-Cookie"))
		}
	}
	if c.native() {
		// The native client's refresh token was revoked by the logout.
		e.expect(c.post("/auth/refresh", nil), http.StatusUnauthorized, "invalid_token")
	}

	// After the password step nothing is signed in.
	c = e.client()
	r = c.post("/auth/login", map[string]string{"email": "alice@example.com", "password": goodPassword})
	e.expect(r, http.StatusOK, "")
	if r.body["mfa_required"] != true || r.body["mfa_token"] == "" || len(r.cookies) != 0 {
		t.Fatalf("login with MFA enrolled answered %s with cookies %v", r.raw, r.cookies)
	}
	mfaToken := r.body["mfa_token"].(string)
	bearer := e.client()
	bearer.header.Set("Authorization", "Bearer "+mfaToken)
	e.expect(bearer.do("GET", "/api/me", nil), http.StatusUnauthorized, "unauthenticated")
	e.expect(c.do("GET", "/api/me", nil), http.StatusUnauthorized, "unauthenticated")

	// The code that confirmed the enrollment spent its time step.
	e.expect(c.post("/auth/mfa/verify", map[string]string{"mfa_token": mfaToken, "code": confirmCode}), http.StatusUnauthorized, "invalid_code")
	e.clock.Advance(30 * time.Second)
	code := e.code(secret)
	r = c.post("/auth/mfa/verify", map[string]string{"mfa_token": mfaToken, "code": code})
	e.expect(r, http.StatusOK, "")
	if r.body["user"].(map[string]any)["email"] != "alice@example.com" {
		t.Fatalf("verify body %s", r.raw)
	}
	e.expect(c.do("GET", "/api/me", nil), http.StatusOK, "")
	// The challenge is single use and the code cannot be replayed.
	e.expect(e.client().post("/auth/mfa/verify", map[string]string{"mfa_token": mfaToken, "code": code}), http.StatusUnauthorized, "invalid_code")

	// Refresh rotates; the old token replayed revokes the family.
	old := c.refreshToken()
	r = c.post("/auth/refresh", nil)
	e.expect(r, http.StatusOK, "")
	if r.refresh == "" || r.refresh == old || r.access == "" {
		t.Fatalf("refresh did not rotate: %s %v", r.raw, r.cookies)
	}
	newest := c.refreshToken()
	e.clock.Advance(6 * time.Second) // past the retry window (RefreshGrace, 5 s)
	thief := e.client()
	thief.setRefresh(old)
	r = thief.post("/auth/refresh", nil)
	e.expect(r, http.StatusUnauthorized, "token_reused")
	if ck := r.cookies[authkit.RefreshCookie]; !thief.native() && (ck == nil || ck.MaxAge >= 0) {
		t.Fatalf("reuse did not clear the cookies: %v", r.header.Values("Set-Cookie"))
	}
	victim := e.client()
	victim.setRefresh(newest)
	e.expect(victim.post("/auth/refresh", nil), http.StatusUnauthorized, "invalid_token")

	// Log out everywhere: earlier access tokens are refused.
	c2 := e.client()
	r = c2.post("/auth/login", map[string]string{"email": "alice@example.com", "password": goodPassword})
	e.clock.Advance(30 * time.Second)
	r = c2.post("/auth/mfa/verify", map[string]string{"mfa_token": r.body["mfa_token"].(string), "code": e.code(secret)})
	e.expect(r, http.StatusOK, "")
	e.clock.Advance(time.Second)
	other := e.client()
	other.copyFrom(c)
	e.expect(c2.post("/auth/logout-all", nil), http.StatusNoContent, "")
	e.clock.Advance(time.Second)
	e.expect(other.do("GET", "/api/me", nil), http.StatusUnauthorized, "unauthenticated")
	e.expect(c2.post("/auth/refresh", nil), http.StatusUnauthorized, "invalid_token")

	want := []authkit.EventType{authkit.EventSignup, authkit.EventLoginSuccess, authkit.EventMFAEnrolled,
		authkit.EventLogout, authkit.EventMFARequired, authkit.EventMFAFailure, authkit.EventMFASuccess,
		authkit.EventRefresh, authkit.EventRefreshReuse, authkit.EventLogoutAll}
	got := e.events.types()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no %s event in %v", w, got)
		}
	}
}

// The token cookies carry exactly the contract's attributes.
func TestTokenCookieAttributes(t *testing.T) {
	e := newEnv(t)
	e.signup("bob@example.com")
	r := e.client().post("/auth/login", map[string]string{"email": "bob@example.com", "password": goodPassword})
	e.expect(r, http.StatusOK, "")
	got := map[string]string{}
	for _, line := range r.header.Values("Set-Cookie") {
		name, _, _ := strings.Cut(line, "=")
		_, attrs, _ := strings.Cut(line, "; ")
		got[name] = attrs
	}
	want := map[string]string{
		"__Host-access_token":    "Path=/; Max-Age=900; HttpOnly; Secure; SameSite=Lax",
		"__Secure-refresh_token": "Path=/auth; Max-Age=604800; HttpOnly; Secure; SameSite=Strict",
		"__Host-refresh_binding": "Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Strict",
		"device_token":           "Path=/auth; Max-Age=2592000; HttpOnly; Secure; SameSite=Strict",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Set-Cookie attributes\n got %v\nwant %v", got, want)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	if r.body["user"].(map[string]any)["id"] == "" || fmt.Sprint(r.body["user"].(map[string]any)["roles"]) != "[viewer]" {
		t.Fatalf("login body %s", r.raw)
	}
}

func TestSignup(t *testing.T) { eachMount(t, testSignup) }

func testSignup(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	c := e.client()
	r := c.post("/auth/signup", map[string]string{"email": "admin@example.com", "password": goodPassword})
	e.expect(r, http.StatusCreated, "")
	if fmt.Sprint(r.body["roles"]) != "[admin]" || r.body["email"] != "admin@example.com" {
		t.Fatalf("signup body %s", r.raw)
	}
	tests := []struct {
		name, email, pw string
		status          int
		code, reason    string
	}{
		{"taken", "ADMIN@example.com", goodPassword, 409, "email_taken", ""},
		{"invalid_email", "not-an-email", goodPassword, 400, "invalid_email", ""},
		{"invalid_email_space", "a b@example.com", goodPassword, 400, "invalid_email", ""},
		{"S18_too_short", "c@example.com", "short12", 400, "weak_password", "too_short"},
		{"S18_common", "c@example.com", "password1234", 400, "weak_password", "common"},
		{"S18_context", "carol.smith@example.com", "carol.smith@example.com", 400, "weak_password", "context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.client().post("/auth/signup", map[string]string{"email": tt.email, "password": tt.pw})
			e.expect(r, tt.status, tt.code)
			if tt.reason != "" && r.body["reason"] != tt.reason {
				t.Fatalf("reason %v, want %s", r.body["reason"], tt.reason)
			}
		})
	}
}

// Sign-ups are limited per client IP (default 30 per 10 minutes).
func TestSignupLimitPerIP(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.SignupLimit = authkit.Tier{Max: 3, Window: 10 * time.Minute} })
	for i := 0; i < 3; i++ {
		e.expect(e.client().post("/auth/signup", map[string]string{"email": fmt.Sprintf("u%d@example.com", i), "password": goodPassword}), 201, "")
	}
	r := e.client().post("/auth/signup", map[string]string{"email": "u9@example.com", "password": goodPassword})
	e.expect(r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") != "600" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	e.clock.Advance(10 * time.Minute)
	e.expect(e.client().post("/auth/signup", map[string]string{"email": "u9@example.com", "password": goodPassword}), 201, "")
}

// An unknown login, a wrong password, a disabled account and an account
// without a password get byte-identical answers.
func TestLoginIdenticalResponses(t *testing.T) {
	e := newEnv(t)
	e.signup("known@example.com")
	disabled := e.signup("disabled@example.com")
	if err := e.auth.DisableUser(context.Background(), disabled, authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	if err := e.users.CreateUser(context.Background(), authkit.User{ID: "oidc-only", Email: "nopw@example.com"}); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		Status  int
		Body    string
		Headers []string
		Cookies int
	}
	var answers []answer
	for _, email := range []string{"unknown@example.com", "known@example.com", "disabled@example.com", "nopw@example.com"} {
		r := e.client().post("/auth/login", map[string]string{"email": email, "password": "wrong password 123"})
		var hs []string
		for k, v := range r.header {
			if k != "Date" {
				hs = append(hs, k+": "+strings.Join(v, ","))
			}
		}
		slices.Sort(hs)
		answers = append(answers, answer{r.status, r.raw, hs, len(r.cookies)})
	}
	for i := 1; i < len(answers); i++ {
		if fmt.Sprint(answers[i]) != fmt.Sprint(answers[0]) {
			t.Fatalf("answer %d differs:\n%v\n%v", i, answers[i], answers[0])
		}
	}
	if answers[0].Status != 401 || !strings.Contains(answers[0].Body, `"invalid_credentials"`) {
		t.Fatalf("answer %v", answers[0])
	}
}

// The unknown-login path and the wrong-password path each run exactly
// one argon2id computation at the current parameters. Measured by the
// memory argon2id must allocate (m KiB per computation), not by time.
func TestLoginOneArgon2Each(t *testing.T) {
	const m = 8 << 10 // KiB
	e := newEnv(t, func(c *authkit.Config) {
		h, err := password.New(password.Config{Params: password.Params{Memory: m, Iterations: 1, Parallelism: 1}, InsecureAllowWeakParams: true})
		if err != nil {
			t.Fatal(err)
		}
		c.Hasher = h
	})
	e.signup("known@example.com")
	ctx := context.Background()
	work := func(login string) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := e.auth.Login(ctx, login, "wrong password 123", authkit.Client{IP: "192.0.2.1"})
		runtime.ReadMemStats(&after)
		if !errors.Is(err, authkit.ErrInvalidCredentials) {
			t.Fatalf("Login(%s) = %v", login, err)
		}
		return float64(after.TotalAlloc-before.TotalAlloc) / float64(m<<10)
	}
	for _, login := range []string{"unknown@example.com", "known@example.com"} {
		if n := work(login); n < 1 || n >= 2 {
			t.Errorf("login %s allocated %.2f× the argon2id memory; want exactly one computation", login, n)
		}
	}
}

// The login throttle through HTTP: the sixth try within a minute gets 429 with Retry-After,
// whatever the password; the lock ends by itself.
func TestLoginLockout(t *testing.T) {
	e := newEnv(t)
	e.signup("carol@example.com")
	for i := 0; i < 5; i++ {
		e.expect(e.client().post("/auth/login", map[string]string{"email": "carol@example.com", "password": "nope nope nope"}), 401, "invalid_credentials")
	}
	r := e.client().post("/auth/login", map[string]string{"email": "carol@example.com", "password": goodPassword})
	e.expect(r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") != "60" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// The same for a login that does not exist (counts are per login name).
	for i := 0; i < 5; i++ {
		e.expect(e.client().post("/auth/login", map[string]string{"email": "ghost@example.com", "password": "nope nope nope"}), 401, "invalid_credentials")
	}
	e.expect(e.client().post("/auth/login", map[string]string{"email": "ghost@example.com", "password": "x"}), 429, "rate_limited")
	e.clock.Advance(time.Minute)
	e.login("carol@example.com")
	if !slices.Contains(e.events.types(), authkit.EventLockout) {
		t.Fatal("no lockout event")
	}
}

// Atomic failure counting through HTTP: 40 concurrent wrong passwords for one account: at most
// the tier limit reach the password check, the rest are refused.
func TestLoginConcurrent(t *testing.T) {
	e := newEnv(t)
	e.signup("dave@example.com")
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Go(func() {
			r := e.client().post("/auth/login", map[string]string{"email": "dave@example.com", "password": "wrong wrong wrong"})
			mu.Lock()
			counts[r.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[401] < 1 || counts[401] > 5 || counts[401]+counts[429] != 40 {
		t.Fatalf("statuses %v; want ≤5 × 401 and the rest 429", counts)
	}
}

// Imported hashes (other argon2id parameters, bcrypt) are upgraded at the
// next login.
func TestRehashOnLogin(t *testing.T) {
	e := newEnv(t)
	old, err := argon2id.CreateHash(goodPassword, &argon2id.Params{Memory: 32, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.users.CreateUser(context.Background(), authkit.User{ID: "imp", Email: "imported@example.com", PasswordHash: old, Roles: []string{"viewer"}}); err != nil {
		t.Fatal(err)
	}
	e.login("imported@example.com")
	u, _, _ := e.users.UserByID(context.Background(), "imp")
	if u.PasswordHash == old || !strings.Contains(u.PasswordHash, "m=64,t=1,p=1") {
		t.Fatalf("hash not upgraded: %s", u.PasswordHash)
	}
	if !slices.Contains(e.events.types(), authkit.EventPasswordRehash) {
		t.Fatal("no rehash event")
	}
	e.login("imported@example.com")
}

// A password change needs the current password, ends every
// other session and gives this client fresh tokens.
func TestChangePassword(t *testing.T) { eachMount(t, testChangePassword) }

func testChangePassword(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	e.signup("erin@example.com")
	c := e.login("erin@example.com")
	other := e.login("erin@example.com")
	e.expect(c.post("/auth/password", map[string]string{"current_password": "wrong wrong wrong", "new_password": "another fine password"}), 401, "invalid_credentials")
	e.expect(c.post("/auth/password", map[string]string{"current_password": goodPassword, "new_password": "short"}), 400, "weak_password")
	e.clock.Advance(time.Second)
	r := c.post("/auth/password", map[string]string{"current_password": goodPassword, "new_password": "another fine password"})
	want := http.StatusNoContent
	if m.delivery != authkit.DeliverCookies {
		want = http.StatusOK // the fresh tokens are in the body
	}
	e.expect(r, want, "")
	if r.access == "" || r.refresh == "" {
		t.Fatal("no fresh tokens after a password change")
	}
	e.clock.Advance(time.Second)
	e.expect(c.do("GET", "/api/me", nil), 200, "")
	e.expect(other.do("GET", "/api/me", nil), 401, "unauthenticated")
	e.expect(other.post("/auth/refresh", nil), 401, "invalid_token")
	e.expect(e.client().post("/auth/login", map[string]string{"email": "erin@example.com", "password": goodPassword}), 401, "invalid_credentials")
	e.expect(e.client().post("/auth/login", map[string]string{"email": "erin@example.com", "password": "another fine password"}), 200, "")
	e.expect(e.client().post("/auth/password", map[string]string{"current_password": goodPassword, "new_password": "x"}), 401, "unauthenticated")
}

// Sensitive changes need a sign-in within 10 minutes; refreshing does not
// renew it.
func TestReauthRequired(t *testing.T) { eachMount(t, testReauthRequired) }

func testReauthRequired(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	e.signup("frank@example.com")
	c := e.login("frank@example.com")
	e.clock.Advance(11 * time.Minute)
	e.expect(c.post("/auth/refresh", nil), 200, "")
	e.expect(c.post("/auth/mfa/enroll", nil), http.StatusUnauthorized, "reauth_required")
	c = e.login("frank@example.com")
	e.expect(c.post("/auth/mfa/enroll", nil), http.StatusOK, "")
}

// Disabling, regenerating backup codes, and signing in with a backup code.
func TestMFAManagement(t *testing.T) { eachMount(t, testMFAManagement) }

func testMFAManagement(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	e.signup("gina@example.com")
	c := e.login("gina@example.com")
	secret, backup := e.enrollMFA(c)
	e.clock.Advance(30 * time.Second)
	r := c.post("/auth/mfa/backup-codes", map[string]string{"code": e.code(secret)})
	e.expect(r, http.StatusOK, "")
	fresh := r.body["backup_codes"].([]any)
	// The old set is void; a new code signs in once.
	login := func(code string) resp {
		cl := e.client()
		r := cl.post("/auth/login", map[string]string{"email": "gina@example.com", "password": goodPassword})
		return cl.post("/auth/mfa/verify", map[string]string{"mfa_token": r.body["mfa_token"].(string), "code": code})
	}
	e.expect(login(backup[0]), 401, "invalid_code")
	e.expect(login(fresh[0].(string)), 200, "")
	e.expect(login(fresh[0].(string)), 401, "invalid_code")
	e.clock.Advance(30 * time.Second)
	e.expect(c.post("/auth/mfa/disable", map[string]string{"code": "000000"}), 401, "invalid_code")
	e.expect(c.post("/auth/mfa/disable", map[string]string{"code": e.code(secret)}), 204, "")
	e.login("gina@example.com") // no second factor any more
}

// CSRF through the handlers: a cross-site POST is refused before it can sign
// anyone in; removing the CSRF layer would let it through.
func TestCrossSitePOST(t *testing.T) { eachMount(t, testCrossSitePOST) }

func testCrossSitePOST(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	e.signup("hank@example.com")
	c := e.client()
	c.header.Set("Sec-Fetch-Site", "cross-site")
	r := c.post("/auth/login", map[string]string{"email": "hank@example.com", "password": goodPassword})
	e.expect(r, http.StatusForbidden, "forbidden")
	if len(r.cookies) != 0 {
		t.Fatal("cross-site login set cookies")
	}
	c.header.Set("Sec-Fetch-Site", "same-origin")
	e.expect(c.post("/auth/login", map[string]string{"email": "hank@example.com", "password": goodPassword}), 200, "")
}

// Unauthenticated calls to the authenticated endpoints get 401 with
// WWW-Authenticate (RequireAuth is in front of them).
func TestAuthenticatedEndpointsRequireAuth(t *testing.T) {
	eachMount(t, testAuthenticatedEndpointsRequireAuth)
}

func testAuthenticatedEndpointsRequireAuth(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	for _, p := range []string{"/auth/logout-all", "/auth/password", "/auth/mfa/enroll", "/auth/mfa/confirm", "/auth/mfa/disable", "/auth/mfa/backup-codes"} {
		r := e.client().post(p, map[string]string{})
		e.expect(r, http.StatusUnauthorized, "unauthenticated")
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("%s: WWW-Authenticate %q", p, r.header.Get("WWW-Authenticate"))
		}
	}
}

func TestRequestErrors(t *testing.T) { eachMount(t, testRequestErrors) }

func testRequestErrors(t *testing.T, m mount) {
	e := newEnvAt(t, m, func(c *authkit.Config) { c.MaxBodyBytes = 1024 })
	e.expect(e.client().do("GET", "/auth/login", nil), http.StatusMethodNotAllowed, "method_not_allowed")
	e.expect(e.client().post("/auth/nope", nil), http.StatusNotFound, "not_found")
	e.expect(e.client().post("/auth/login", nil), http.StatusUnsupportedMediaType, "unsupported_media_type")
	e.expect(e.client().post("/auth/login", map[string]string{}), http.StatusUnauthorized, "invalid_credentials")
	e.expect(e.client().post("/auth/login", map[string]string{"email": strings.Repeat("a", 2048)}), http.StatusRequestEntityTooLarge, "too_large")
	e.expect(e.client().post("/auth/refresh", nil), http.StatusUnauthorized, "invalid_token")
	e.expect(e.client().post("/auth/logout", nil), http.StatusNoContent, "")
}

// Reset tokens are single use, expiring and stored hashed; a reset ends
// every session and does not skip MFA.
func TestPasswordReset(t *testing.T) { eachMount(t, testPasswordReset) }

func testPasswordReset(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	e.signup("ivy@example.com")
	c := e.login("ivy@example.com")
	secret, _ := e.enrollMFA(c)

	e.expect(e.client().post("/auth/password/forgot", map[string]string{"email": "nobody@example.com"}), http.StatusAccepted, "")
	if e.lastMail().To != "" {
		t.Fatal("mail sent for an unknown address")
	}
	e.expect(e.client().post("/auth/password/forgot", map[string]string{"email": "IVY@example.com"}), http.StatusAccepted, "")
	mail := e.lastMail()
	if mail.To != "ivy@example.com" || mail.Purpose != authkit.PurposePasswordReset || len(mail.Token) < 43 {
		t.Fatalf("mail %+v", mail)
	}
	e.expect(e.client().post("/auth/password/reset", map[string]string{"token": mail.Token, "new_password": "x"}), 400, "weak_password")
	e.expect(e.client().post("/auth/password/reset", map[string]string{"token": mail.Token + "x", "new_password": "a brand new password"}), 401, "invalid_token")
	e.expect(e.client().post("/auth/password/reset", map[string]string{"token": mail.Token, "new_password": "a brand new password"}), 204, "")
	e.expect(e.client().post("/auth/password/reset", map[string]string{"token": mail.Token, "new_password": "another new password"}), 401, "invalid_token")
	// Other sessions ended.
	e.expect(c.post("/auth/refresh", nil), 401, "invalid_token")
	// MFA still required.
	r := e.client().post("/auth/login", map[string]string{"email": "ivy@example.com", "password": "a brand new password"})
	if r.body["mfa_required"] != true {
		t.Fatalf("reset skipped MFA: %s", r.raw)
	}
	e.clock.Advance(30 * time.Second)
	e.expect(e.client().post("/auth/mfa/verify", map[string]string{"mfa_token": r.body["mfa_token"].(string), "code": e.code(secret)}), 200, "")

	// Expiry.
	e.expect(e.client().post("/auth/password/forgot", map[string]string{"email": "ivy@example.com"}), http.StatusAccepted, "")
	tok := e.lastMail().Token
	e.clock.Advance(31 * time.Minute)
	e.expect(e.client().post("/auth/password/reset", map[string]string{"token": tok, "new_password": "yet another password"}), 401, "invalid_token")

	// Throttled per address.
	for i := 0; i < 3; i++ {
		e.client().post("/auth/password/forgot", map[string]string{"email": "ivy@example.com"})
	}
	e.expect(e.client().post("/auth/password/forgot", map[string]string{"email": "ivy@example.com"}), 429, "rate_limited")
}

func TestEmailVerification(t *testing.T) { eachMount(t, testEmailVerification) }

func testEmailVerification(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	id := e.signup("jo@example.com")
	c := e.login("jo@example.com")
	e.expect(c.post("/auth/email/verify-request", nil), http.StatusAccepted, "")
	tok := e.lastMail().Token
	if e.lastMail().Purpose != authkit.PurposeVerifyEmail {
		t.Fatal("wrong purpose")
	}
	// A verification token is no reset token.
	e.expect(e.client().post("/auth/password/reset", map[string]string{"token": tok, "new_password": "a brand new password"}), 401, "invalid_token")
	e.expect(c.post("/auth/email/verify-request", nil), http.StatusAccepted, "")
	tok = e.lastMail().Token
	e.expect(e.client().post("/auth/email/verify", map[string]string{"token": tok}), 204, "")
	u, _, _ := e.users.UserByID(context.Background(), id)
	if !u.EmailVerified {
		t.Fatal("email not verified")
	}
	e.expect(e.client().post("/auth/email/verify", map[string]string{"token": tok}), 401, "invalid_token")
}

// ASVS 7.4.2: disabling an account ends its tokens at once.
func TestDisableUser(t *testing.T) { eachMount(t, testDisableUser) }

func testDisableUser(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	id := e.signup("kim@example.com")
	c := e.login("kim@example.com")
	e.clock.Advance(time.Second)
	if err := e.auth.DisableUser(context.Background(), id, authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	e.expect(c.do("GET", "/api/me", nil), 401, "unauthenticated")
	e.expect(c.post("/auth/refresh", nil), 401, "invalid_token")
	e.expect(e.client().post("/auth/login", map[string]string{"email": "kim@example.com", "password": goodPassword}), 401, "invalid_credentials")
}

// Audit events carry no password, code or token, in the hook or in
// the slog output.
func TestAuditNoSecrets(t *testing.T) { eachMount(t, testAuditNoSecrets) }

func testAuditNoSecrets(t *testing.T, m mount) {
	var logBuf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logBuf, mu: &mu}, nil))
	var hook eventLog
	e := newEnvAt(t, m, func(c *authkit.Config) {
		c.Audit = authkit.NewAuditor(authkit.AuditConfig{Logger: logger, Hook: hook.add})
	})
	e.signup("lee@example.com")
	e.client().post("/auth/login", map[string]string{"email": "lee@example.com", "password": "a wrong guess 1"})
	c := e.login("lee@example.com")
	secret, backup := e.enrollMFA(c)
	refresh := c.refreshToken()
	access := c.accessToken()
	c.post("/auth/refresh", nil)
	e.clock.Advance(6 * time.Second) // past the retry window (RefreshGrace, 5 s)
	c.setRefresh(refresh)
	c.post("/auth/refresh", nil)
	r := e.client().post("/auth/login", map[string]string{"email": "lee@example.com", "password": goodPassword})
	mfaToken := r.body["mfa_token"].(string)
	e.client().post("/auth/mfa/verify", map[string]string{"mfa_token": mfaToken, "code": "123456"})

	events, _ := json.Marshal(hook.ev)
	mu.Lock()
	all := string(events) + logBuf.String()
	mu.Unlock()
	for _, secretValue := range []string{goodPassword, "a wrong guess 1", secret, backup[0], refresh, access, mfaToken, "123456"} {
		if strings.Contains(all, secretValue) {
			t.Errorf("audit output contains a secret %q", secretValue)
		}
	}
	e.client().post("/auth/logout-all", nil) // no credentials: audited as access.denied
	events, _ = json.Marshal(hook.ev)
	mu.Lock()
	all = string(events) + logBuf.String()
	mu.Unlock()
	for _, want := range []authkit.EventType{authkit.EventLoginFailure, authkit.EventLoginSuccess, authkit.EventRefreshReuse, authkit.EventMFAFailure, authkit.EventAccessDenied} {
		if !strings.Contains(all, `"`+string(want)+`"`) {
			t.Errorf("%s not audited", want)
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Without Config.NotBefore the refresh store keeps the per-user not-before:
// log out everywhere still refuses the access tokens issued before it.
func TestLogoutAllRefusesOldAccessTokensWithTheDefaultNotBefore(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.NotBefore = nil })
	e.signup("nb@example.com")
	c := e.login("nb@example.com")
	old := c.accessToken()
	if _, err := e.auth.Verifier().Verify(context.Background(), old); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	e.clock.Advance(time.Second)
	e.expect(c.post("/auth/logout-all", nil), http.StatusNoContent, "")
	if _, err := e.auth.Verifier().Verify(context.Background(), old); err == nil {
		t.Fatal("access token issued before log out everywhere still verifies")
	}
}
