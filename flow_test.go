package authkit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/store/memstore"
)

// A request that cannot get a hashing slot within Config.HashWait gives up
// with ErrBusy (which the HTTP layer answers 503 + Retry-After) instead of
// queueing without bound, and its per-IP reservation is returned.
func TestLoginGivesUpWaitingForTheHashingCap(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) {
		h, err := password.New(password.Config{Params: password.Params{Memory: 8 << 10, Iterations: 1, Parallelism: 1},
			MaxConcurrent: 1, InsecureAllowWeakParams: true})
		if err != nil {
			t.Fatal(err)
		}
		c.Hasher = h
		c.HashWait = time.Millisecond
		c.Lockout.IPMax = 100
	})
	ctx := context.Background()
	var busy, checked atomic.Int64
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			_, err := e.auth.Login(ctx, fmt.Sprintf("u%d@example.com", i), wrongPassword, authkit.Client{IP: "192.0.2.1"})
			switch {
			case errors.Is(err, authkit.ErrBusy):
				busy.Add(1)
			case errors.Is(err, authkit.ErrInvalidCredentials):
				checked.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if busy.Load() == 0 || checked.Load() == 0 {
		t.Fatalf("%d busy, %d checked; want both", busy.Load(), checked.Load())
	}
	// Only the checked attempts spent the IP's budget.
	left := 0
	for i := range 200 {
		at, err := e.auth.Lockout().Begin(ctx, fmt.Sprintf("v%d@example.com", i), "192.0.2.1", "")
		if errors.Is(err, authkit.ErrThrottled) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_ = at.Fail(ctx)
		left++
	}
	if want := 100 - int(checked.Load()); left != want {
		t.Fatalf("%d attempts left of the IP budget after %d checked, %d busy; want %d", left, checked.Load(), busy.Load(), want)
	}
}

// blockingUsers is a user store whose reads hang until their context ends,
// like a blackholed database.
type blockingUsers struct{ *memstore.Users }

func (b blockingUsers) UserByLogin(ctx context.Context, _ string) (authkit.User, bool, error) {
	<-ctx.Done()
	return authkit.User{}, false, ctx.Err()
}

func (b blockingUsers) UserByID(ctx context.Context, _ string) (authkit.User, bool, error) {
	<-ctx.Done()
	return authkit.User{}, false, ctx.Err()
}

type blockingAttempts struct{ authkit.AttemptStore }

func (b blockingAttempts) Incr(ctx context.Context, _ string, _ time.Duration) (int, time.Time, error) {
	<-ctx.Done()
	return 0, time.Time{}, ctx.Err()
}

type blockingRefresh struct{ jwt.RefreshStore }

func (b blockingRefresh) Rotate(ctx context.Context, _ jwt.Rotation) (jwt.RotateResult, error) {
	<-ctx.Done()
	return jwt.RotateResult{}, ctx.Err()
}

// Every store call made for a request runs under Config.StoreTimeout: a
// store that never answers fails the request with ErrStoreTimeout instead
// of hanging it, and a shorter deadline of the request itself wins.
func TestStoreCallsRunUnderADeadline(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*authkit.Config)
		call   func(e *env, ctx context.Context) error
	}{
		{"login, user store", func(c *authkit.Config) { c.Users = blockingUsers{c.Users.(*memstore.Users)} },
			func(e *env, ctx context.Context) error {
				_, err := e.auth.Login(ctx, "a@example.com", wrongPassword, authkit.Client{IP: "192.0.2.1"})
				return err
			}},
		{"login, attempt store", func(c *authkit.Config) { c.Attempts = blockingAttempts{c.Attempts} },
			func(e *env, ctx context.Context) error {
				_, err := e.auth.Login(ctx, "a@example.com", wrongPassword, authkit.Client{IP: "192.0.2.1"})
				return err
			}},
		{"refresh, refresh store", func(c *authkit.Config) { c.RefreshStore = blockingRefresh{c.RefreshStore} },
			func(e *env, ctx context.Context) error {
				_, _, err := e.auth.Refresh(ctx, "rt_"+string(make([]byte, 0)), authkit.Client{})
				if errors.Is(err, authkit.ErrInvalidToken) { // malformed: no store call
					_, _, err = e.auth.Refresh(ctx, jwt.RefreshTokenPrefix+"000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", authkit.Client{})
				}
				return err
			}},
		{"reset request, attempt store", func(c *authkit.Config) { c.Attempts = blockingAttempts{c.Attempts} },
			func(e *env, ctx context.Context) error {
				return e.auth.RequestPasswordReset(ctx, "a@example.com", authkit.Client{IP: "192.0.2.1"})
			}},
		{"change password, user store", func(c *authkit.Config) { c.Users = blockingUsers{c.Users.(*memstore.Users)} },
			func(e *env, ctx context.Context) error {
				_, err := e.auth.ChangePassword(ctx, "u1", goodPassword, "another good password", authkit.Client{})
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.mutate, func(c *authkit.Config) { c.StoreTimeout = 20 * time.Millisecond })
			err := tt.call(e, context.Background())
			if !errors.Is(err, authkit.ErrStoreTimeout) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v; want ErrStoreTimeout", err)
			}
			// The request's own shorter deadline wins over a long StoreTimeout.
			e2 := newEnv(t, tt.mutate, func(c *authkit.Config) { c.StoreTimeout = time.Hour })
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if err := tt.call(e2, ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v; want the request's deadline", err)
			}
		})
	}
}

// resetLinks requests n reset mails for login and returns their tokens.
func (e *env) resetLinks(login string, n int) []string {
	e.t.Helper()
	var toks []string
	for range n {
		if err := e.auth.RequestPasswordReset(context.Background(), login, authkit.Client{IP: "192.0.2.1"}); err != nil {
			e.t.Fatal(err)
		}
		toks = append(toks, e.lastMail().Token)
	}
	return toks
}

// Completing a reset spends every other reset link of the account; so does
// changing the password.
func TestCompletedResetSpendsEveryOutstandingLink(t *testing.T) {
	e := newEnv(t)
	id := e.signup("ivy@example.com")
	ctx := context.Background()
	links := e.resetLinks("ivy@example.com", 2)
	if links[0] == links[1] {
		t.Fatal("one token for two requests")
	}
	if err := e.auth.ResetPassword(ctx, links[1], "a brand new password", authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.ResetPassword(ctx, links[0], "an attacker's password", authkit.Client{}); !errors.Is(err, authkit.ErrInvalidToken) {
		t.Fatalf("older link after a completed reset: %v, want ErrInvalidToken", err)
	}
	old := e.resetLinks("ivy@example.com", 1)[0]
	if _, err := e.auth.ChangePassword(ctx, id, "a brand new password", "yet another password", authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.ResetPassword(ctx, old, "an attacker's password", authkit.Client{}); !errors.Is(err, authkit.ErrInvalidToken) {
		t.Fatalf("link after a password change: %v, want ErrInvalidToken", err)
	}
	if _, err := e.auth.Login(ctx, "ivy@example.com", "yet another password", authkit.Client{}); err != nil {
		t.Fatalf("login with the changed password: %v", err)
	}
}

// mfaUser signs up login, enrolls TOTP through the HTTP contract and
// returns the user id and the secret.
func (e *env) mfaUser(login string) (string, string) {
	e.t.Helper()
	id := e.signup(login)
	secret, _ := e.enrollMFA(e.login(login))
	return id, secret
}

// When the MFA enrollment is lost (evicted, restored from an older backup)
// while the user record says MFA is on, password login is refused with
// ErrMFAStateLost and audited, never downgraded to password only.
func TestLostMFAEnrollmentFailsClosed(t *testing.T) {
	var m *mfa.MFA
	e := newEnv(t, func(c *authkit.Config) { m = c.MFA })
	ctx := context.Background()
	id, secret := e.mfaUser("max@example.com")
	if u, _, _ := e.users.UserByID(ctx, id); !u.MFAEnabled {
		t.Fatal("confirming MFA did not set User.MFAEnabled")
	}
	e.clock.Advance(time.Minute)
	// Behind the flow's back: the enrollment disappears from the MFA store.
	if err := m.Disable(ctx, id, e.code(secret)); err != nil {
		t.Fatal(err)
	}
	res, err := e.auth.Login(ctx, "max@example.com", goodPassword, authkit.Client{IP: "192.0.2.1"})
	if !errors.Is(err, authkit.ErrMFAStateLost) || res.User.ID != "" || res.Device.Value != "" {
		t.Fatalf("login without the enrollment = %+v, %v; want ErrMFAStateLost", res, err)
	}
	ev := e.events.last(authkit.EventMFAStateLost)
	if ev.UserID != id || ev.Outcome != authkit.OutcomeFailure {
		t.Fatalf("audit event %+v", ev)
	}
}

// Disabling MFA through the flow clears the flag, so the account signs in
// with its password again; an account enrolled before the flag existed gets
// it at its next login.
func TestMFAFlagFollowsTheEnrollment(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, secret := e.mfaUser("nia@example.com")
	e.clock.Advance(time.Minute)
	if err := e.auth.DisableMFA(ctx, id, e.clock.Now(), e.code(secret), authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	if u, _, _ := e.users.UserByID(ctx, id); u.MFAEnabled {
		t.Fatal("DisableMFA left User.MFAEnabled set")
	}
	if res, err := e.auth.Login(ctx, "nia@example.com", goodPassword, authkit.Client{}); err != nil || res.MFARequired() {
		t.Fatalf("login after disabling MFA = %+v, %v", res, err)
	}

	id2, _ := e.mfaUser("old@example.com")
	if err := e.users.UpdateUser(ctx, id2, func(u *authkit.User) { u.MFAEnabled = false }); err != nil {
		t.Fatal(err)
	}
	if res, err := e.auth.Login(ctx, "old@example.com", goodPassword, authkit.Client{}); err != nil || !res.MFARequired() {
		t.Fatalf("enrolled account without the flag = %+v, %v; want the MFA step", res, err)
	}
	if u, _, _ := e.users.UserByID(ctx, id2); !u.MFAEnabled {
		t.Fatal("login did not set the flag of an enrolled account")
	}
}

// noUpdateUsers hides memstore's UpdateUser.
type noUpdateUsers struct{ authkit.UserStore }

func TestNewRequiresAUserFlagForMFA(t *testing.T) {
	cfg := configOf(t, func(c *authkit.Config) { c.Users = noUpdateUsers{c.Users} })
	if _, err := authkit.New(cfg); err == nil {
		t.Fatal("New accepted MFA over a store that cannot keep User.MFAEnabled")
	}
	cfg.UnsafeMFAWithoutUserFlag = true
	if _, err := authkit.New(cfg); err != nil {
		t.Fatalf("with the explicit opt-out: %v", err)
	}
}

func (l *eventLog) last(t authkit.EventType) authkit.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.ev) - 1; i >= 0; i-- {
		if l.ev[i].Type == t {
			return l.ev[i]
		}
	}
	return authkit.Event{}
}

// allEventTypes lists every audit event type the root package defines.
var allEventTypes = []authkit.EventType{
	authkit.EventSignup, authkit.EventLoginSuccess, authkit.EventLoginFailure, authkit.EventLockout,
	authkit.EventMFARequired, authkit.EventMFASuccess, authkit.EventMFAFailure, authkit.EventMFAEnrolled,
	authkit.EventMFADisabled, authkit.EventBackupCodesNew, authkit.EventRefresh, authkit.EventRefreshReuse,
	authkit.EventLogout, authkit.EventLogoutAll, authkit.EventSessionRevoked, authkit.EventPasswordChanged,
	authkit.EventPasswordRehash, authkit.EventAccessDenied, authkit.EventMFAStateLost, authkit.EventMailSent,
	authkit.EventMailFailed,
}

// Every audit event about an account names it: the walk triggers every
// event type for a known account and checks each event's UserID.
func TestEveryAuditEventAboutAUserNamesTheUser(t *testing.T) {
	var m *mfa.MFA
	var fail bool
	var mailer *mailbox
	e := newEnv(t, func(c *authkit.Config) {
		m = c.MFA
		mailer = c.Mailer.(*mailbox)
		c.Mailer = mailerFunc(func(ctx context.Context, msg authkit.Mail) error {
			if fail {
				return errors.New("smtp: down")
			}
			return mailer.Send(ctx, msg)
		})
		c.MailAttempts, c.MailRetryDelay = 1, time.Second
	})
	ctx := context.Background()
	cl := authkit.Client{IP: "192.0.2.1", UserAgent: "test"}
	id := e.signup("walk@example.com")
	_, _ = e.auth.Signup(ctx, "walk@example.com", goodPassword, cl) // signup failure: email taken

	// Login failures up to the lock, then a throttled attempt.
	for range 6 {
		_, _ = e.auth.Login(ctx, "walk@example.com", wrongPassword, cl)
	}
	e.clock.Advance(16 * time.Minute)

	// Rehash on login: store a hash with other parameters.
	h, err := password.New(password.Config{Params: password.Params{Memory: 32, Iterations: 2, Parallelism: 1}, InsecureAllowWeakParams: true})
	if err != nil {
		t.Fatal(err)
	}
	old, err := h.Hash(ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.users.SetPasswordHash(ctx, id, old); err != nil {
		t.Fatal(err)
	}
	c := e.login("walk@example.com")
	secret, _ := e.enrollMFA(c)
	e.clock.Advance(time.Minute)
	if _, err := e.auth.RegenerateBackupCodes(ctx, id, e.clock.Now(), e.code(secret), cl); err != nil {
		t.Fatal(err)
	}
	// MFA step: a wrong code on a live challenge, then the right one.
	res, err := e.auth.Login(ctx, "walk@example.com", goodPassword, cl)
	if err != nil || !res.MFARequired() {
		t.Fatalf("%+v %v", res, err)
	}
	_, _ = e.auth.VerifyMFA(ctx, res.MFAToken, "000000", cl)
	e.clock.Advance(time.Minute)
	u, err := e.auth.VerifyMFA(ctx, res.MFAToken, e.code(secret), cl)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.auth.IssueTokens(ctx, u, []string{authkit.AMRPassword, authkit.AMROTP})
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := e.auth.Refresh(ctx, tok.Refresh, cl)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, _, err := e.auth.Refresh(ctx, tok.Refresh, cl); !errors.Is(err, authkit.ErrTokenReused) {
		t.Fatalf("reuse: %v", err)
	}
	_ = next
	tok, err = e.auth.IssueTokens(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.auth.Logout(ctx, tok.Refresh, cl); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.LogoutAll(ctx, id, cl); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.EndSessions(ctx, id, cl); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := e.auth.DisableMFA(ctx, id, e.clock.Now(), e.code(secret), cl); err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.ChangePassword(ctx, id, goodPassword, "walk a brand new path", cl); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.RequestPasswordReset(ctx, "walk@example.com", cl); err != nil {
		t.Fatal(err)
	}
	e.auth.ProcessMail(ctx)
	fail = true
	if err := e.auth.RequestPasswordReset(ctx, "walk@example.com", cl); err != nil {
		t.Fatal(err)
	}
	e.auth.ProcessMail(ctx)
	// Lost MFA state.
	fail = false
	e.clock.Advance(time.Minute)
	secret2, _ := e.enrollMFA(e.loginWith("walk@example.com", "walk a brand new path"))
	e.clock.Advance(time.Minute)
	if err := m.Disable(ctx, id, e.code(secret2)); err != nil {
		t.Fatal(err)
	}
	_, _ = e.auth.Login(ctx, "walk@example.com", "walk a brand new path", cl)
	if err := e.auth.DisableUser(ctx, id, cl); err != nil {
		t.Fatal(err)
	}
	e.client().post("/auth/logout-all", nil) // access.denied: no credentials, no user

	seen := map[authkit.EventType]bool{}
	e.events.mu.Lock()
	defer e.events.mu.Unlock()
	for _, ev := range e.events.ev {
		seen[ev.Type] = true
		if ev.Type == authkit.EventAccessDenied {
			continue
		}
		if ev.UserID != id {
			t.Errorf("%s (%s, %s) names user %q; want %q", ev.Type, ev.Outcome, ev.Reason, ev.UserID, id)
		}
	}
	for _, typ := range allEventTypes {
		if !seen[typ] {
			t.Errorf("the walk did not produce %s", typ)
		}
	}
	if len(allEventTypes) != len(slices.Compact(slices.Sorted(slices.Values(allEventTypes)))) {
		t.Fatal("duplicate event type in the list")
	}
}

type mailerFunc func(context.Context, authkit.Mail) error

func (f mailerFunc) Send(ctx context.Context, m authkit.Mail) error { return f(ctx, m) }

// loginWith signs login in through the HTTP contract with pw.
func (e *env) loginWith(login, pw string) *client {
	e.t.Helper()
	c := e.client()
	r := c.post("/auth/login", map[string]string{"email": login, "password": pw})
	e.expect(r, 200, "")
	return c
}

func TestNewValidatesLoginFlowSettings(t *testing.T) {
	bad := map[string]func(*authkit.Config){
		"short DeviceKey":    func(c *authkit.Config) { c.DeviceKey = make([]byte, 31) },
		"negative HashWait":  func(c *authkit.Config) { c.HashWait = -time.Second },
		"negative timeout":   func(c *authkit.Config) { c.StoreTimeout = -time.Second },
		"MailAttempts > 10":  func(c *authkit.Config) { c.MailAttempts = 11 },
		"negative MailQueue": func(c *authkit.Config) { c.MailQueue = -1 },
		"IPv6 prefix 0..128": func(c *authkit.Config) { c.Lockout.IPv6KeyPrefix = 200 },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := authkit.New(configOf(t, mutate)); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

// Two Auths sharing Config.DeviceKey trust each other's device tokens.
func TestSharedDeviceKeyTrustsAcrossInstances(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	withKey := func(c *authkit.Config) { c.DeviceKey = key }
	a, b := newEnv(t, withKey), newEnv(t, withKey)
	a.signup("alice@example.com")
	b.signup("alice@example.com")
	d := a.signIn("alice@example.com", "192.0.2.1", "")
	for i := range 10 {
		_ = loginErr(b, "alice@example.com", wrongPassword, fmt.Sprintf("198.51.100.%d", i), "")
	}
	b.signIn("alice@example.com", "192.0.2.1", d.Value)
}

// flakyMFAStore fails its reads while down is set, like an unreachable or
// evicting MFA store.
type flakyMFAStore struct {
	mfa.Store
	down *atomic.Bool
}

func (f flakyMFAStore) Get(ctx context.Context, userID string) (mfa.Enrollment, bool, error) {
	if f.down.Load() {
		return mfa.Enrollment{}, false, errors.New("redis: connection refused")
	}
	return f.Store.Get(ctx, userID)
}

// An MFA enrollment that cannot be read, for an account whose record says
// MFA is on, refuses the login with ErrMFAStateLost (wrapping the store's
// error) and an audit event; an account without MFA fails closed too.
func TestUnreadableMFAEnrollmentFailsClosed(t *testing.T) {
	var down atomic.Bool
	e := newEnv(t, func(c *authkit.Config) {
		box, err := mfa.NewSecretBox(mfa.SecretBoxConfig{Keys: map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)}, ActiveKeyID: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		st := memtest.New(t, c.Now)
		c.MFA, err = mfa.New(mfa.Config{
			Issuer: "authkit-test", Store: flakyMFAStore{st.MFA(), &down}, Replay: st.TOTPReplay(),
			Tickets: st.Tickets(), Throttle: c.Attempts, Box: box,
			BackupKey: bytes.Repeat([]byte{9}, 32), Now: c.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	id, _ := e.mfaUser("oz@example.com")
	e.signup("plain@example.com")
	down.Store(true)
	_, err := e.auth.Login(ctx, "oz@example.com", goodPassword, authkit.Client{})
	if !errors.Is(err, authkit.ErrMFAStateLost) || err.Error() == authkit.ErrMFAStateLost.Error() {
		t.Fatalf("login with the MFA store down = %v; want ErrMFAStateLost wrapping the store error", err)
	}
	if ev := e.events.last(authkit.EventMFAStateLost); ev.UserID != id || ev.Reason != "enrollment_unreadable" {
		t.Fatalf("audit %+v", ev)
	}
	if res, err := e.auth.Login(ctx, "plain@example.com", goodPassword, authkit.Client{}); err == nil || res.User.ID != "" {
		t.Fatalf("account without MFA, store down = %+v, %v; want a refusal", res, err)
	}
}
