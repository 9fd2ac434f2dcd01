package authkit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/store/memstore"
)

// Step-up routes of the end-to-end tests.
var stepUpRoutes = map[string]middleware.Requirement{
	"/api/delete": {MaxAge: 5 * time.Minute},
	"/api/pay":    {ACR: middleware.ACRMFA},
	"/api/wire":   {ACR: middleware.ACRMFA, MaxAge: 5 * time.Minute},
	"/api/always": {MaxAge: middleware.AlwaysReauthenticate},
}

// newStepUpEnv is newEnvAt whose server also serves stepUpRoutes behind
// the Auth's authenticator and a middleware.StepUp on the env's clock.
func newStepUpEnv(t *testing.T, m mount, mutate ...func(*authkit.Config)) *env {
	t.Helper()
	e := newEnvAt(t, m, mutate...)
	su, err := middleware.NewStepUp(middleware.StepUpConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h := e.auth.Handler(authkit.WithPrefix(m.prefix), authkit.WithDelivery(m.delivery))
	if m.strip {
		h = http.StripPrefix(m.prefix, h)
	}
	mux.Handle(m.prefix+"/", h)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for path, req := range stepUpRoutes {
		guard, err := su.Require(req)
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle("GET "+path, e.auth.Authenticator().RequireAuth(guard(ok)))
	}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// reauth posts body to /auth/reauth, with the client's refresh token in
// the body for a native client.
func (c *client) reauth(body map[string]any) resp {
	c.e.t.Helper()
	if c.native() {
		body["refresh_token"] = c.refresh
	}
	return c.post("/auth/reauth", body)
}

func (e *env) claims(tok string) jwt.Claims {
	e.t.Helper()
	cl, err := e.auth.Verifier().Verify(context.Background(), tok)
	if err != nil {
		e.t.Fatalf("verify access token: %v", err)
	}
	return cl
}

func (e *env) expectChallenge(r resp, want string) {
	e.t.Helper()
	e.expect(r, http.StatusUnauthorized, "insufficient_user_authentication")
	if got := r.header.Get("WWW-Authenticate"); got != want {
		e.t.Fatalf("WWW-Authenticate:\n got %s\nwant %s", got, want)
	}
}

// A stale sign-in gets the RFC 9470 challenge, a refresh does not renew
// it, and POST /reauth with the password does; the retry passes.
func TestStepUpStaleTokenReauthThenRetry(t *testing.T) {
	eachMount(t, func(t *testing.T, m mount) {
		e := newStepUpEnv(t, m)
		e.signup("stale@example.com")
		c := e.login("stale@example.com")
		e.expect(c.do("GET", "/api/delete", nil), http.StatusOK, "")
		e.clock.Advance(10 * time.Minute)
		const challenge = `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=300`
		e.expectChallenge(c.do("GET", "/api/delete", nil), challenge)
		e.expect(c.post("/auth/refresh", nil), http.StatusOK, "")
		e.expectChallenge(c.do("GET", "/api/delete", nil), challenge)
		before := c.refreshToken()
		r := c.reauth(map[string]any{"password": goodPassword, "max_age": 300})
		e.expect(r, http.StatusOK, "")
		if c.refreshToken() != before {
			t.Fatalf("re-authentication changed the refresh token")
		}
		cl := e.claims(c.accessToken())
		if !cl.AuthTime.Equal(e.clock.Now().Truncate(time.Second)) || cl.ACR != "pwd" || !slices.Equal(cl.AMR, []string{"pwd"}) {
			t.Fatalf("re-authenticated token: auth_time %v acr %q amr %v, want now, pwd, [pwd]", cl.AuthTime, cl.ACR, cl.AMR)
		}
		e.expect(c.do("GET", "/api/delete", nil), http.StatusOK, "")
	})
}

// A sign-in too weak for the route: the challenge names the levels, the
// re-authentication asks for the second factor, and the new token is "mfa".
func TestStepUpTooWeakACR(t *testing.T) {
	eachMount(t, func(t *testing.T, m mount) {
		e := newStepUpEnv(t, m)
		e.signup("weak@example.com")
		c := e.login("weak@example.com")
		secret, _ := e.enrollMFA(c)
		e.expectChallenge(c.do("GET", "/api/pay", nil),
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="mfa passkey"`)
		e.clock.Advance(time.Minute) // the confirmation spent the current TOTP step
		e.expect(c.reauth(map[string]any{"password": goodPassword, "acr_values": "mfa passkey"}), http.StatusUnauthorized, "mfa_required")
		e.expect(c.reauth(map[string]any{"password": goodPassword, "code": "000000", "acr_values": "mfa passkey"}), http.StatusUnauthorized, "invalid_code")
		e.expect(c.reauth(map[string]any{"password": "wrong password here", "code": e.code(secret), "acr_values": "mfa passkey"}),
			http.StatusUnauthorized, "invalid_credentials")
		e.expect(c.reauth(map[string]any{"password": goodPassword, "code": e.code(secret), "acr_values": "mfa passkey"}), http.StatusOK, "")
		cl := e.claims(c.accessToken())
		if cl.ACR != "mfa" || !slices.Equal(cl.AMR, []string{"pwd", "otp"}) || !cl.AuthTime.Equal(e.clock.Now().Truncate(time.Second)) {
			t.Fatalf("stepped-up token: acr %q amr %v auth_time %v", cl.ACR, cl.AMR, cl.AuthTime)
		}
		e.expect(c.do("GET", "/api/pay", nil), http.StatusOK, "")
		// A refresh keeps the stepped-up sign-in's acr.
		e.clock.Advance(time.Hour)
		e.expect(c.post("/auth/refresh", nil), http.StatusOK, "")
		e.expect(c.do("GET", "/api/pay", nil), http.StatusOK, "")
	})
}

// With MaxAge and ACR, a strong sign-in counts only while it is recent:
// once stale its acr falls back and the challenge asks for both.
func TestStepUpNeedsRecentAndStrong(t *testing.T) {
	e := newStepUpEnv(t, defaultMount)
	e.signup("wire@example.com")
	c := e.login("wire@example.com")
	secret, _ := e.enrollMFA(c)
	e.clock.Advance(time.Minute)
	e.expect(c.reauth(map[string]any{"password": goodPassword, "code": e.code(secret)}), http.StatusOK, "")
	e.expect(c.do("GET", "/api/wire", nil), http.StatusOK, "")
	e.clock.Advance(6 * time.Minute)
	e.expect(c.do("GET", "/api/pay", nil), http.StatusOK, "") // still strong enough where age does not matter
	e.expectChallenge(c.do("GET", "/api/wire", nil),
		`Bearer error="insufficient_user_authentication", error_description="A more recent authentication of the required level is required", acr_values="mfa passkey", max_age=300`)
	e.expect(c.reauth(map[string]any{"password": goodPassword, "code": e.code(secret), "acr_values": "mfa passkey", "max_age": 300}), http.StatusOK, "")
	e.expect(c.do("GET", "/api/wire", nil), http.StatusOK, "")
}

// max_age=0: every use needs a sign-in made just now (within the leeway).
func TestStepUpMaxAgeZeroAlwaysReauthenticates(t *testing.T) {
	e := newStepUpEnv(t, defaultMount)
	e.signup("always@example.com")
	c := e.login("always@example.com")
	e.expect(c.do("GET", "/api/always", nil), http.StatusOK, "")
	e.clock.Advance(middleware.DefaultStepUpLeeway + time.Second)
	const challenge = `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=0`
	e.expectChallenge(c.do("GET", "/api/always", nil), challenge)
	e.expect(c.reauth(map[string]any{"password": goodPassword, "max_age": 0}), http.StatusOK, "")
	e.expect(c.do("GET", "/api/always", nil), http.StatusOK, "")
	e.clock.Advance(middleware.DefaultStepUpLeeway + time.Second)
	e.expectChallenge(c.do("GET", "/api/always", nil), challenge)
}

// A level the flow cannot reach is refused before the password is
// checked; a malformed max_age is a bad request.
func TestReauthUnreachableLevelRefused(t *testing.T) {
	e := newStepUpEnv(t, defaultMount)
	e.signup("nomfa@example.com")
	c := e.login("nomfa@example.com")
	for _, acr := range []string{"mfa passkey", "passkey", "urn:example:loa:9"} {
		e.expect(c.reauth(map[string]any{"password": goodPassword, "acr_values": acr}), http.StatusForbidden, "insufficient_user_authentication")
	}
	e.expect(c.reauth(map[string]any{"password": goodPassword, "max_age": -1}), http.StatusBadRequest, "invalid_request")
	e.expect(c.reauth(map[string]any{"password": goodPassword, "max_age": 1.5}), http.StatusBadRequest, "invalid_request")
	e.expect(c.reauth(map[string]any{"password": goodPassword, "acr_values": "pwd mfa"}), http.StatusOK, "")
	// The refusals counted no failure: the account is not locked.
	e.expect(e.client().post("/auth/login", map[string]string{"email": "nomfa@example.com", "password": goodPassword}), http.StatusOK, "")
}

// Wrong passwords at /reauth count as failed logins: after the lockout's
// budget even the right password is throttled, at /reauth and at /login.
// A client with a device token spends that token's own budget (10) before
// the login name's (5), as at /login.
func TestReauthWrongPasswordThrottledLikeLogin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		device bool
		budget int
	}{{"without_device_token", false, 5}, {"with_device_token", true, 15}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newStepUpEnv(t, defaultMount)
			e.signup("guess@example.com")
			c := e.login("guess@example.com")
			if !tc.device {
				delete(c.cookies, authkit.DeviceCookie)
			}
			for range tc.budget {
				e.expect(c.reauth(map[string]any{"password": "not the password"}), http.StatusUnauthorized, "invalid_credentials")
			}
			e.expect(c.reauth(map[string]any{"password": goodPassword}), http.StatusTooManyRequests, "rate_limited")
			if !tc.device {
				e.expect(e.client().post("/auth/login", map[string]string{"email": "guess@example.com", "password": goodPassword}),
					http.StatusTooManyRequests, "rate_limited")
			}
		})
	}
}

// Asking for the code costs nothing: mfa_required comes before the
// password is checked or counted.
func TestReauthMFARequiredChecksNothing(t *testing.T) {
	e := newStepUpEnv(t, defaultMount)
	e.signup("ask@example.com")
	c := e.login("ask@example.com")
	e.enrollMFA(c)
	for range 8 {
		e.expect(c.reauth(map[string]any{"password": "not the password"}), http.StatusUnauthorized, "mfa_required")
	}
	r := e.client().post("/auth/login", map[string]string{"email": "ask@example.com", "password": goodPassword})
	e.expect(r, http.StatusOK, "")
	if r.body["mfa_required"] != true {
		t.Fatalf("login after mfa_required answers: %s", r.raw)
	}
}

// reauthFixture is an Auth with one user signed in by IssueTokens.
type reauthFixture struct {
	e    *env
	u    authkit.User
	toks authkit.Tokens
	at   time.Time
}

func newReauthFixture(t *testing.T, email string, amr []string, mutate ...func(*authkit.Config)) reauthFixture {
	t.Helper()
	e := newEnv(t, mutate...)
	e.signup(email)
	u, found, err := e.users.UserByLogin(context.Background(), email)
	if err != nil || !found {
		t.Fatalf("user: %v %v", found, err)
	}
	at := e.clock.Now()
	toks, err := e.auth.IssueTokens(context.Background(), u, amr)
	if err != nil {
		t.Fatal(err)
	}
	return reauthFixture{e: e, u: u, toks: toks, at: at}
}

// Every sign-in puts acr in the access token: the level its amr reaches.
func TestSignInTokensCarryACRFromAMR(t *testing.T) {
	for _, tc := range []struct {
		amr []string
		acr string
	}{
		{[]string{"pwd"}, "pwd"},
		{[]string{"pwd", "otp"}, "mfa"},
		{[]string{"hwk", "user", "mfa"}, "passkey"},
		{[]string{"hwk"}, "pwd"},
		{[]string{"fed"}, ""},
	} {
		f := newReauthFixture(t, "acr@example.com", tc.amr)
		if cl := f.e.claims(f.toks.Access); cl.ACR != tc.acr {
			t.Errorf("amr %v: acr %q, want %q", tc.amr, cl.ACR, tc.acr)
		}
	}
	e := newEnv(t)
	e.signup("login@example.com")
	c := e.login("login@example.com")
	if cl := e.claims(c.accessToken()); cl.ACR != "pwd" {
		t.Fatalf("password login: acr %q, want pwd", cl.ACR)
	}
}

// A refresh changes neither auth_time nor acr, whatever the configuration
// of the server that refreshes.
func TestRefreshKeepsAuthTimeAndACR(t *testing.T) {
	ctx := context.Background()
	var st *memstore.RefreshTokens
	f := newReauthFixture(t, "keep@example.com", []string{"pwd", "otp"}, func(c *authkit.Config) {
		st = memtest.New(t, c.Now).RefreshTokens()
		c.RefreshStore, c.NotBefore = st, st
	})
	f.e.clock.Advance(time.Hour)
	next, _, err := f.e.auth.Refresh(ctx, f.toks.Refresh, authkit.Client{})
	if err != nil {
		t.Fatal(err)
	}
	cl := f.e.claims(next.Access)
	if !cl.AuthTime.Equal(f.at.Truncate(time.Second)) || cl.ACR != "mfa" || !slices.Equal(cl.AMR, []string{"pwd", "otp"}) {
		t.Fatalf("refreshed: auth_time %v acr %q amr %v, want %v mfa [pwd otp]", cl.AuthTime, cl.ACR, cl.AMR, f.at)
	}
	other := newEnv(t, func(c *authkit.Config) {
		c.RefreshStore, c.NotBefore, c.Users = st, st, f.e.users
		c.RecentAuth, c.AccessLifetime, c.FamilyLifetime, c.RefreshLifetime = time.Minute, 5*time.Minute, 48*time.Hour, time.Hour
	})
	other.clock.Advance(2 * time.Hour)
	again, _, err := other.auth.Refresh(ctx, next.Refresh, authkit.Client{})
	if err != nil {
		t.Fatal(err)
	}
	cl = other.claims(again.Access)
	if !cl.AuthTime.Equal(f.at.Truncate(time.Second)) || cl.ACR != "mfa" {
		t.Fatalf("refreshed under another configuration: auth_time %v acr %q, want %v mfa", cl.AuthTime, cl.ACR, f.at)
	}
}

// A re-authentication keeps the refresh family: the same token, its
// expiry, and reuse detection; the family's later tokens carry the new
// sign-in. A password-only re-authentication after a sign-in with a second
// factor sets acr back to "pwd": acr is the strength of the sign-in
// auth_time dates.
func TestReauthKeepsRefreshFamily(t *testing.T) {
	ctx := context.Background()
	f := newReauthFixture(t, "family@example.com", []string{"pwd", "otp"})
	e := f.e
	e.clock.Advance(time.Hour)
	reauthAt := e.clock.Now()
	got, u, err := e.auth.Reauthenticate(ctx, f.u.ID, f.toks.Refresh, goodPassword, "", middleware.Requirement{MaxAge: time.Minute}, authkit.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != f.u.ID || got.Refresh != f.toks.Refresh || !got.RefreshExpiry.Equal(f.toks.RefreshExpiry) {
		t.Fatalf("re-authentication: user %q refresh same=%v expiry %v, want %q, the same token, %v",
			u.ID, got.Refresh == f.toks.Refresh, got.RefreshExpiry, f.u.ID, f.toks.RefreshExpiry)
	}
	want := func(what string, tok string) {
		t.Helper()
		cl := e.claims(tok)
		if !cl.AuthTime.Equal(reauthAt.Truncate(time.Second)) || cl.ACR != "pwd" || !slices.Equal(cl.AMR, []string{"pwd"}) {
			t.Fatalf("%s: auth_time %v acr %q amr %v, want %v pwd [pwd]", what, cl.AuthTime, cl.ACR, cl.AMR, reauthAt)
		}
	}
	want("re-authenticated token", got.Access)
	e.clock.Advance(time.Hour)
	next, _, err := e.auth.Refresh(ctx, f.toks.Refresh, authkit.Client{})
	if err != nil {
		t.Fatalf("the re-authenticated family's token no longer rotates: %v", err)
	}
	want("refreshed after re-authentication", next.Access)
	e.clock.Advance(time.Minute) // past the grace window
	if _, _, err := e.auth.Refresh(ctx, f.toks.Refresh, authkit.Client{}); !errors.Is(err, authkit.ErrTokenReused) {
		t.Fatalf("old token presented again: %v, want ErrTokenReused", err)
	}
	if _, _, err := e.auth.Refresh(ctx, next.Refresh, authkit.Client{}); !errors.Is(err, authkit.ErrInvalidToken) {
		t.Fatalf("newest token after reuse: %v, want ErrInvalidToken", err)
	}
}

// A revoked, rotated or missing refresh token cannot be re-authenticated;
// the password is still checked first and counted when wrong.
func TestReauthRevokedFamilyRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		end  func(f reauthFixture) string // returns the token to present
	}{
		{"logout", func(f reauthFixture) string {
			if err := f.e.auth.Logout(ctx, f.toks.Refresh, authkit.Client{}); err != nil {
				t.Fatal(err)
			}
			return f.toks.Refresh
		}},
		{"logout_all", func(f reauthFixture) string {
			if err := f.e.auth.LogoutAll(ctx, f.u.ID, authkit.Client{}); err != nil {
				t.Fatal(err)
			}
			f.e.clock.Advance(time.Second)
			return f.toks.Refresh
		}},
		{"rotated", func(f reauthFixture) string {
			if _, _, err := f.e.auth.Refresh(ctx, f.toks.Refresh, authkit.Client{}); err != nil {
				t.Fatal(err)
			}
			return f.toks.Refresh
		}},
		{"missing", func(reauthFixture) string { return "" }},
		{"garbage", func(reauthFixture) string { return "akrt_not-a-token" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newReauthFixture(t, "revoked@example.com", []string{"pwd"})
			tok := tc.end(f)
			_, _, err := f.e.auth.Reauthenticate(ctx, f.u.ID, tok, goodPassword, "", middleware.Requirement{}, authkit.Client{})
			if !errors.Is(err, authkit.ErrInvalidToken) {
				t.Fatalf("re-authentication with a %s token: %v, want ErrInvalidToken", tc.name, err)
			}
		})
	}
}

// The re-authenticated user must be the refresh family's: another user's
// token is refused and that family is left as it was; another user's
// password is simply wrong.
func TestReauthAsAnotherUserRefused(t *testing.T) {
	ctx := context.Background()
	f := newReauthFixture(t, "alice@example.com", []string{"pwd", "otp"})
	e := f.e
	e.signup("mallory@example.com")
	mallory, _, _ := e.users.UserByLogin(ctx, "mallory@example.com")
	e.clock.Advance(time.Hour)
	// Mallory, signed in, presents Alice's refresh token with her own password.
	if _, _, err := e.auth.Reauthenticate(ctx, mallory.ID, f.toks.Refresh, goodPassword, "", middleware.Requirement{}, authkit.Client{}); !errors.Is(err, authkit.ErrInvalidToken) {
		t.Fatalf("another user's refresh token: %v, want ErrInvalidToken", err)
	}
	next, _, err := e.auth.Refresh(ctx, f.toks.Refresh, authkit.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if cl := e.claims(next.Access); !cl.AuthTime.Equal(f.at.Truncate(time.Second)) || cl.ACR != "mfa" {
		t.Fatalf("Alice's family after Mallory's attempt: auth_time %v acr %q, want %v mfa", cl.AuthTime, cl.ACR, f.at)
	}
	mtoks, err := e.auth.IssueTokens(ctx, mallory, []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.users.SetPasswordHash(ctx, mallory.ID, mustHash(t, e, "mallory's own password")); err != nil {
		t.Fatal(err)
	}
	// Alice's subject with Mallory's token and Mallory's password.
	if _, _, err := e.auth.Reauthenticate(ctx, f.u.ID, mtoks.Refresh, "mallory's own password", "", middleware.Requirement{}, authkit.Client{}); !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("another user's password: %v, want ErrInvalidCredentials", err)
	}
}

func mustHash(t *testing.T, e *env, pw string) string {
	t.Helper()
	h, err := e.hasher.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Over HTTP, an access token of one user with the refresh cookie of
// another is refused.
func TestReauthEndpointRefusesAnotherUsersRefreshToken(t *testing.T) {
	eachMount(t, func(t *testing.T, m mount) {
		e := newStepUpEnv(t, m)
		e.signup("a@example.com")
		e.signup("b@example.com")
		a := e.login("a@example.com")
		b := e.login("b@example.com")
		a.setRefresh(b.refreshToken())
		e.expect(a.reauth(map[string]any{"password": goodPassword}), http.StatusUnauthorized, "invalid_token")
		e.expect(b.post("/auth/refresh", nil), http.StatusOK, "")
	})
}

// The resource server's clock may differ from the one that dated the
// re-authentication by up to the leeway, in either direction.
func TestStepUpClockSkewAfterReauth(t *testing.T) {
	ctx := context.Background()
	f := newReauthFixture(t, "skew@example.com", []string{"pwd"})
	f.e.clock.Advance(time.Hour)
	at := f.e.clock.Now()
	got, _, err := f.e.auth.Reauthenticate(ctx, f.u.ID, f.toks.Refresh, goodPassword, "", middleware.Requirement{}, authkit.Client{})
	if err != nil {
		t.Fatal(err)
	}
	cl := f.e.claims(got.Access)
	p := middleware.Principal{AuthTime: cl.AuthTime, AMR: cl.AMR, ACR: cl.ACR}
	req := middleware.Requirement{MaxAge: 5 * time.Minute}
	for _, tc := range []struct {
		offset time.Duration // resource server clock minus the auth server's
		ok     bool
	}{
		{-20 * time.Second, true}, // behind: auth_time in its future, within the leeway
		{-2 * time.Minute, false}, // far behind: a future auth_time fails closed
		{5*time.Minute + 20*time.Second, true},
		{5*time.Minute + 31*time.Second, false},
	} {
		su, err := middleware.NewStepUp(middleware.StepUpConfig{Now: func() time.Time { return at.Add(tc.offset) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := su.Check(p, req); (err == nil) != tc.ok {
			t.Errorf("resource clock %v: Check = %v, want ok=%v", tc.offset, err, tc.ok)
		}
	}
}

// Auth.Recent, behind ErrReauthRequired in MFA management, is the step-up
// rule with MaxAge = Config.RecentAuth: the same decision for every
// auth_time, and a re-authentication renews it.
func TestRecentIsStepUpMaxAge(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	su, err := middleware.NewStepUp(middleware.StepUpConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		authTime time.Time
		recent   bool
	}{
		{time.Time{}, false},
		{now, true},
		{now.Add(-10 * time.Minute), true},
		{now.Add(-10*time.Minute - middleware.DefaultStepUpLeeway), true},
		{now.Add(-10*time.Minute - middleware.DefaultStepUpLeeway - time.Second), false},
		{now.Add(20 * time.Second), true},
		{now.Add(2 * time.Minute), false},
	} {
		got := e.auth.Recent(tc.authTime)
		check := su.Check(middleware.Principal{AuthTime: tc.authTime}, middleware.Requirement{MaxAge: 10 * time.Minute}) == nil
		if got != tc.recent || got != check {
			t.Errorf("Recent(%v) = %v, StepUp.Check ok = %v, want %v", tc.authTime.Sub(now), got, check, tc.recent)
		}
	}
}

// An MFA management call refused for a stale sign-in passes after POST
// /reauth, without a new login.
func TestReauthRenewsRecentForMFAManagement(t *testing.T) {
	eachMount(t, func(t *testing.T, m mount) {
		e := newStepUpEnv(t, m)
		e.signup("mgmt@example.com")
		c := e.login("mgmt@example.com")
		e.clock.Advance(11 * time.Minute)
		e.expect(c.post("/auth/mfa/enroll", nil), http.StatusUnauthorized, "reauth_required")
		e.expect(c.reauth(map[string]any{"password": goodPassword}), http.StatusOK, "")
		e.expect(c.post("/auth/mfa/enroll", nil), http.StatusOK, "")
	})
}
