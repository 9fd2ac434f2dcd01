package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/store/memstore"
)

// hookUsers is a memstore.Users that runs a one-shot hook right after a
// read returned, to interleave another request with the one that read.
type hookUsers struct {
	*memstore.Users
	mu    sync.Mutex
	byLog func()
	byID  func()
}

func (h *hookUsers) take(p *func()) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := *p
	*p = nil
	return f
}

func (h *hookUsers) UserByLogin(ctx context.Context, login string) (authkit.User, bool, error) {
	u, found, err := h.Users.UserByLogin(ctx, login)
	if f := h.take(&h.byLog); f != nil {
		f()
	}
	return u, found, err
}

func (h *hookUsers) UserByID(ctx context.Context, id string) (authkit.User, bool, error) {
	u, found, err := h.Users.UserByID(ctx, id)
	if f := h.take(&h.byID); f != nil {
		f()
	}
	return u, found, err
}

func newHookEnv(t *testing.T, mutate ...func(*authkit.Config)) (*env, *hookUsers) {
	t.Helper()
	var h *hookUsers
	e := newEnv(t, append([]func(*authkit.Config){func(c *authkit.Config) {
		h = &hookUsers{Users: c.Users.(*memstore.Users)}
		c.Users = h
	}}, mutate...)...)
	return e, h
}

// A login that rehashes an outdated hash read the record before a reset
// completed: its write of the (old) password's new hash must not undo the
// reset, or whoever knew the old password keeps the account.
func TestRehashAtLoginDoesNotUndoAConcurrentReset(t *testing.T) {
	e, h := newHookEnv(t)
	ctx := context.Background()
	old, err := argon2id.CreateHash(goodPassword, &argon2id.Params{Memory: 32, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.users.CreateUser(ctx, authkit.User{ID: "imp", Email: "imported@example.com", PasswordHash: old, Roles: []string{"viewer"}}); err != nil {
		t.Fatal(err)
	}
	link := e.resetLinks("imported@example.com", 1)[0]
	h.byLog = func() {
		if err := e.auth.ResetPassword(ctx, link, "the owner's new password", authkit.Client{}); err != nil {
			t.Errorf("reset: %v", err)
		}
	}
	// The attacker's login (old password) read the record before the reset.
	_, _ = e.auth.Login(ctx, "imported@example.com", goodPassword, authkit.Client{IP: "192.0.2.66"})
	if _, err := e.auth.Login(ctx, "imported@example.com", goodPassword, authkit.Client{IP: "192.0.2.66"}); !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("old password after the reset: %v, want ErrInvalidCredentials", err)
	}
	if _, err := e.auth.Login(ctx, "imported@example.com", "the owner's new password", authkit.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatalf("new password after the reset: %v", err)
	}
}

// A reset link whose stamp was checked before a password change landed
// must not then overwrite the changed password: the change spends every
// outstanding link, whatever the interleaving.
func TestResetRacingAPasswordChangeDoesNotWin(t *testing.T) {
	t.Run("UserUpdater", func(t *testing.T) { testResetRacingAChange(t) })
	// A store without UserUpdater is read again before the write.
	t.Run("UserStore", func(t *testing.T) {
		testResetRacingAChange(t, func(c *authkit.Config) {
			c.Users = struct{ authkit.UserStore }{c.Users}
			c.UnsafeMFAWithoutUserFlag = true
		})
	})
}

func testResetRacingAChange(t *testing.T, mutate ...func(*authkit.Config)) {
	e, h := newHookEnv(t, mutate...)
	ctx := context.Background()
	id := e.signup("rae@example.com")
	link := e.resetLinks("rae@example.com", 1)[0]
	h.byID = func() { // runs inside the reset, after it read the user
		if _, err := e.auth.ChangePassword(ctx, id, goodPassword, "the owner's changed password", authkit.Client{}); err != nil {
			t.Errorf("change: %v", err)
		}
	}
	if err := e.auth.ResetPassword(ctx, link, "an attacker's password", authkit.Client{}); !errors.Is(err, authkit.ErrInvalidToken) {
		t.Errorf("reset racing a change: %v, want ErrInvalidToken", err)
	}
	if _, err := e.auth.Login(ctx, "rae@example.com", "the owner's changed password", authkit.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatalf("changed password: %v", err)
	}
}

// Without the quoted form (which sign-up refuses) an '@' cannot be part of
// a local part: "victim@example.com@attacker.example" is no address, and
// mail systems disagree on where it goes.
func TestSignupRefusesASecondAt(t *testing.T) {
	e := newEnv(t)
	for _, s := range []string{"victim@example.com@attacker.example", "a@b@example.com"} {
		if _, err := e.auth.Signup(context.Background(), s, goodPassword, authkit.Client{IP: "192.0.2.1"}); !errors.Is(err, authkit.ErrInvalidEmail) {
			t.Errorf("Signup(%q) = %v, want ErrInvalidEmail", s, err)
		}
	}
}

// "ann@example.com." names the same mailbox as "ann@example.com" (the
// root label): it is one account and one failure count, not a second
// lockout budget.
func TestCanonicalLoginDropsTheRootDot(t *testing.T) {
	for _, s := range []string{"ann@example.com.", "Ann@EXAMPLE.com.", "ann@example.com\u3002"} {
		if got, ok := authkit.CanonicalLogin(s); got != "ann@example.com" || !ok {
			t.Errorf("CanonicalLogin(%q) = %q, %v; want ann@example.com", s, got, ok)
		}
	}
	for _, s := range []string{"ann@.", "ann@example.com..", "ann@."} {
		if got, ok := authkit.CanonicalLogin(s); ok {
			t.Errorf("CanonicalLogin(%q) = %q, want refused", s, got)
		}
	}
	e := newEnv(t)
	e.signup("ann@example.com")
	for i := range 10 {
		_, err := e.auth.Login(context.Background(), "ann@example.com.", "wrong password 123", authkit.Client{IP: fmt.Sprintf("192.0.2.%d", i)})
		if i < 10 && !errors.Is(err, authkit.ErrInvalidCredentials) && !errors.Is(err, authkit.ErrThrottled) {
			t.Fatal(err)
		}
	}
	if _, err := e.auth.Login(context.Background(), "ann@example.com", goodPassword, authkit.Client{IP: "198.51.100.1"}); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("after 10 failures on the dotted name: %v, want ErrThrottled", err)
	}
}

// A caller that passes host:port (r.RemoteAddr) as Client.IP must not give
// every connection of one client a fresh per-IP budget.
func TestIPLimitIgnoresTheClientPort(t *testing.T) {
	t.Run("mapped and zoned forms", func(t *testing.T) {
		e := newEnv(t, func(c *authkit.Config) { c.Lockout.IPMax = 3 })
		checked := 0
		for i, ip := range []string{"192.0.2.44", "::ffff:192.0.2.44", "[::ffff:192.0.2.44]:443", "192.0.2.44:80", "fe80::1%eth0", "fe80::2%eth1", "[fe80::3%eth0]:80", "fe80::4"} {
			_, err := e.auth.Login(context.Background(), fmt.Sprintf("m%d@example.com", i), "wrong password 123", authkit.Client{IP: ip})
			if errors.Is(err, authkit.ErrInvalidCredentials) {
				checked++
			}
		}
		if checked != 6 {
			t.Fatalf("%d checked; want 3 for 192.0.2.44 and 3 for fe80::/64", checked)
		}
	})
	e := newEnv(t, func(c *authkit.Config) { c.Lockout.IPMax = 3 })
	checked := 0
	for i := range 20 {
		ip := fmt.Sprintf("203.0.113.9:%d", 40000+i)
		if i%2 == 1 {
			ip = fmt.Sprintf("[2001:db8:5::%d]:%d", i, 40000+i)
		}
		_, err := e.auth.Login(context.Background(), fmt.Sprintf("u%d@example.com", i), "wrong password 123", authkit.Client{IP: ip})
		switch {
		case errors.Is(err, authkit.ErrInvalidCredentials):
			checked++
		case errors.Is(err, authkit.ErrThrottled):
		default:
			t.Fatal(err)
		}
	}
	if checked != 6 {
		t.Fatalf("%d passwords checked from two clients with rotating ports; want 3 each", checked)
	}
}

// An account whose record says MFA is on must not sign in on its password
// alone through an Auth without MFA configured (a misconfigured instance,
// a dropped setting): that is the same lost second factor.
func TestMFAFlagWithoutMFAConfiguredFailsClosed(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.MFA = nil })
	ctx := context.Background()
	id := e.signup("mo@example.com")
	if err := e.users.UpdateUser(ctx, id, func(u *authkit.User) { u.MFAEnabled = true }); err != nil {
		t.Fatal(err)
	}
	res, err := e.auth.Login(ctx, "mo@example.com", goodPassword, authkit.Client{IP: "192.0.2.1"})
	if !errors.Is(err, authkit.ErrMFAStateLost) || res.User.ID != "" || res.Device.Value != "" {
		t.Fatalf("login = %+v, %v; want ErrMFAStateLost", res, err)
	}
	if ev := e.events.last(authkit.EventMFAStateLost); ev.UserID != id {
		t.Fatalf("audit event %+v", ev)
	}
}

// Decided: a device token is a record that the browser once signed in, not
// a credential. It survives a password change and "log out everywhere" (the
// user's other browsers stay exempt from the lock an attacker imposes), but
// signs nothing in, and its spent failure budget is not refilled by the
// owner's change: a stolen token keeps only what is left of its budget.
func TestDeviceTokenSurvivesAPasswordChangeWithItsSpentBudget(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.Lockout.DeviceMaxFailures = 3 })
	ctx := context.Background()
	id := e.signup("dee@example.com")
	res, err := e.auth.Login(ctx, "dee@example.com", goodPassword, authkit.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	stolen := authkit.Client{IP: "198.51.100.7", DeviceToken: res.Device.Value}
	for range 2 {
		if _, err := e.auth.Login(ctx, "dee@example.com", "wrong password 123", stolen); !errors.Is(err, authkit.ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Second)
	if _, err := e.auth.ChangePassword(ctx, id, goodPassword, "the owner's changed password", authkit.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.LogoutAll(ctx, id, authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.Login(ctx, "dee@example.com", goodPassword, stolen); !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("old password with the device token: %v", err)
	}
	// Budget of 3 spent: the token is ignored, the tiers apply (5 per minute).
	for i := range 5 {
		_, err := e.auth.Login(ctx, "dee@example.com", "wrong password 123", stolen)
		if !errors.Is(err, authkit.ErrInvalidCredentials) {
			t.Fatalf("untrusted attempt %d: %v", i, err)
		}
	}
	if _, err := e.auth.Login(ctx, "dee@example.com", "wrong password 123", stolen); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("spent token after the change: %v, want ErrThrottled", err)
	}
}

// An attempt that never checked a password (the hashing cap was full, a
// store failed) gives back the device token's unit as it gives back the
// per-IP one: otherwise an attacker who saturates the server burns the
// owner's device budget through the owner's own retries, and then the lock
// the attacker imposed holds on the owner's known device too.
func TestReleasedAttemptsDoNotSpendTheDeviceBudget(t *testing.T) {
	l, _ := newLockout(t, authkit.LockoutConfig{DeviceMaxFailures: 3})
	ctx := context.Background()
	for i := range 10 {
		at, err := l.Begin(ctx, "ann@example.com", "192.0.2.1", "dev1")
		if err != nil || !at.Trusted() {
			t.Fatalf("attempt %d: trusted=%v, %v", i, err == nil && at.Trusted(), err)
		}
		if err := at.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		at, err := l.Begin(ctx, "ann@example.com", "192.0.2.1", "dev1")
		if err != nil || !at.Trusted() {
			t.Fatalf("failure %d: %v", i, err)
		}
		if err := at.Fail(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if at, err := l.Begin(ctx, "ann@example.com", "192.0.2.1", "dev1"); err != nil || at.Trusted() {
		t.Fatalf("after 3 failures: trusted=%v, %v; want untrusted", err == nil && at.Trusted(), err)
	}
}

// failingUsers fails UserByLogin while fail > 0.
type failingUsers struct {
	*memstore.Users
	mu   sync.Mutex
	fail int
}

func (f *failingUsers) UserByLogin(ctx context.Context, login string) (authkit.User, bool, error) {
	f.mu.Lock()
	failing := f.fail > 0
	f.fail--
	f.mu.Unlock()
	if failing {
		return authkit.User{}, false, errors.New("store down")
	}
	return f.Users.UserByLogin(ctx, login)
}

// The owner retries through a store outage from a known device while an
// attacker keeps the account locked: afterwards the device is still known.
func TestOutageRetriesKeepTheDeviceTrusted(t *testing.T) {
	var f *failingUsers
	e := newEnv(t, func(c *authkit.Config) {
		f = &failingUsers{Users: c.Users.(*memstore.Users)}
		c.Users = f
	})
	ctx := context.Background()
	e.signup("ola@example.com")
	res, err := e.auth.Login(ctx, "ola@example.com", goodPassword, authkit.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 { // the attacker locks the account
		_, _ = e.auth.Login(ctx, "ola@example.com", "wrong password 123", authkit.Client{IP: fmt.Sprintf("198.51.100.%d", i)})
	}
	f.mu.Lock()
	f.fail = 15
	f.mu.Unlock()
	owner := authkit.Client{IP: "192.0.2.1", DeviceToken: res.Device.Value}
	for range 15 {
		if _, err := e.auth.Login(ctx, "ola@example.com", goodPassword, owner); err == nil || errors.Is(err, authkit.ErrThrottled) {
			t.Fatalf("during the outage: %v, want the store error", err)
		}
	}
	if _, err := e.auth.Login(ctx, "ola@example.com", goodPassword, owner); err != nil {
		t.Fatalf("known device after the outage: %v", err)
	}
}

// The /auth handlers hand out the device cookie on every complete sign-in
// (password, or password and code), so a browser that signed in before
// still signs in while an attacker keeps the account locked.
func TestHTTPSignInSetsTheDeviceCookie(t *testing.T) {
	e := newEnv(t)
	e.signup("hal@example.com")
	c := e.login("hal@example.com")
	if c.cookies[authkit.DeviceCookie] == nil {
		t.Fatal("no device cookie after a password sign-in")
	}
	secret, _ := e.enrollMFA(c)
	e.clock.Advance(time.Minute)
	m := e.client()
	r := m.post("/auth/login", map[string]string{"email": "hal@example.com", "password": goodPassword})
	e.expect(r, http.StatusOK, "")
	if m.cookies[authkit.DeviceCookie] != nil {
		t.Fatal("device cookie before the second factor")
	}
	e.expect(m.post("/auth/mfa/verify", map[string]string{"mfa_token": r.body["mfa_token"].(string), "code": e.code(secret)}), http.StatusOK, "")
	if m.cookies[authkit.DeviceCookie] == nil {
		t.Fatal("no device cookie after the second factor")
	}
	for range 10 { // the attacker locks the account
		e.client().post("/auth/login", map[string]string{"email": "hal@example.com", "password": "wrong password 123"})
	}
	e.expect(e.client().post("/auth/login", map[string]string{"email": "hal@example.com", "password": goodPassword}), http.StatusTooManyRequests, "")
	e.expect(c.post("/auth/login", map[string]string{"email": "hal@example.com", "password": goodPassword}), http.StatusOK, "")
}

// Guessing the current password through a stolen session locks the login
// name like failed logins do, and the audit trail says so: the lock and the
// refused attempts are recorded with the user.
func TestChangePasswordGuessingIsAuditedLikeLogin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.signup("cy@example.com")
	for i := range 6 {
		_, err := e.auth.ChangePassword(ctx, id, "wrong password 123", "a brand new password", authkit.Client{IP: "198.51.100.9"})
		want := authkit.ErrInvalidCredentials
		if i == 5 {
			want = authkit.ErrThrottled
		}
		if !errors.Is(err, want) {
			t.Fatalf("guess %d: %v, want %v", i, err, want)
		}
	}
	if ev := e.events.last(authkit.EventLockout); ev.UserID != id || ev.Login != "cy@example.com" {
		t.Fatalf("lockout event %+v", ev)
	}
	if ev := e.events.last(authkit.EventPasswordChanged); ev.UserID != id || ev.Reason != "throttled" || ev.Outcome != authkit.OutcomeFailure {
		t.Fatalf("last password.changed event %+v", ev)
	}
}

// Setting the same password again does not revive a link issued before a
// change: the stamp covers the stored hash, whose salt is new each time.
func TestResetLinkStaysDeadWhenTheSamePasswordIsSetAgain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.signup("sam@example.com")
	old := e.resetLinks("sam@example.com", 1)[0]
	if _, err := e.auth.ChangePassword(ctx, id, goodPassword, "an intermediate password", authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.ChangePassword(ctx, id, "an intermediate password", goodPassword, authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.ResetPassword(ctx, old, "an attacker's password", authkit.Client{}); !errors.Is(err, authkit.ErrInvalidToken) {
		t.Fatalf("old link after the password came back: %v, want ErrInvalidToken", err)
	}
}

// An attacker who knows the old password and logs in again and again
// always has a login in flight: one that checked the old hash while the
// owner's reset landed must not sign in after the reset ended every
// session.
func TestLoginThatCheckedAHashReplacedMeanwhileFails(t *testing.T) {
	e, h := newHookEnv(t)
	ctx := context.Background()
	e.signup("liv@example.com")
	link := e.resetLinks("liv@example.com", 1)[0]
	h.byLog = func() {
		if err := e.auth.ResetPassword(ctx, link, "the owner's new password", authkit.Client{}); err != nil {
			t.Errorf("reset: %v", err)
		}
	}
	res, err := e.auth.Login(ctx, "liv@example.com", goodPassword, authkit.Client{IP: "198.51.100.3"})
	if !errors.Is(err, authkit.ErrInvalidCredentials) || res.User.ID != "" {
		t.Fatalf("login with the replaced password = %+v, %v; want ErrInvalidCredentials", res.User.ID, err)
	}
}

// Behind a stateless IPv4/IPv6 translator (RFC 7755) every IPv4 client
// appears inside 64:ff9b::/96 (RFC 6052): keyed by /64 they would all share
// one budget, and one attacker would refuse the logins of every IPv4 user.
// They are keyed by the IPv4 address they carry.
func TestIPLimitKeysNAT64ClientsByTheirIPv4Address(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.Lockout.IPMax = 3 })
	ctx := context.Background()
	for i := range 5 { // the attacker, at 203.0.113.66
		_, _ = e.auth.Login(ctx, fmt.Sprintf("v%d@example.com", i), "wrong password 123", authkit.Client{IP: "64:ff9b::cb00:7142"})
	}
	if _, err := e.auth.Login(ctx, "x@example.com", "wrong password 123", authkit.Client{IP: "203.0.113.66"}); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("the attacker over IPv4: %v, want ErrThrottled", err)
	}
	// Another IPv4 client behind the same translator.
	if _, err := e.auth.Login(ctx, "y@example.com", "wrong password 123", authkit.Client{IP: "64:ff9b::c633:6407"}); !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("another IPv4 client: %v, want ErrInvalidCredentials", err)
	}
}

// A second-factor challenge begun with the old password does not outlive a
// reset: whoever holds it (a phishing proxy relaying codes) cannot finish
// the sign-in once the owner set a new password.
func TestMFAChallengeDiesWithTheOldPassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, secret := e.mfaUser("mia@example.com")
	e.clock.Advance(time.Minute)
	res, err := e.auth.Login(ctx, "mia@example.com", goodPassword, authkit.Client{IP: "198.51.100.4"})
	if err != nil || !res.MFARequired() {
		t.Fatalf("login: %+v, %v", res, err)
	}
	if _, err := e.auth.ChangePassword(ctx, id, goodPassword, "the owner's changed password", authkit.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if u, err := e.auth.VerifyMFA(ctx, res.MFAToken, e.code(secret), authkit.Client{IP: "198.51.100.4"}); !errors.Is(err, authkit.ErrInvalidCode) || u.ID != "" {
		t.Fatalf("challenge from before the change: %v, %v; want ErrInvalidCode", u.ID, err)
	}
}

// A reset mail dropped because the account could not be read still names
// the address it was asked for in the audit trail.
func TestDroppedMailEventNamesTheAddress(t *testing.T) {
	var f *failingUsers
	e := newEnv(t, func(c *authkit.Config) {
		f = &failingUsers{Users: c.Users.(*memstore.Users)}
		c.Users = f
	})
	ctx := context.Background()
	e.signup("dot@example.com")
	f.mu.Lock()
	f.fail = 100
	f.mu.Unlock()
	if err := e.auth.RequestPasswordReset(ctx, "Dot@example.com", authkit.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		e.auth.ProcessMail(ctx)
		e.clock.Advance(10 * time.Minute)
	}
	if ev := e.events.last(authkit.EventMailFailed); ev.Login != "dot@example.com" || ev.Reason != authkit.PurposePasswordReset {
		t.Fatalf("mail.failed event %+v", ev)
	}
}

// A reset link mailed before the account was disabled cannot re-open it.
func TestResetLinkOfADisabledAccountIsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.signup("dis@example.com")
	link := e.resetLinks("dis@example.com", 1)[0]
	if err := e.auth.DisableUser(ctx, id, authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.ResetPassword(ctx, link, "a brand new password", authkit.Client{}); !errors.Is(err, authkit.ErrInvalidToken) {
		t.Fatalf("reset of a disabled account: %v, want ErrInvalidToken", err)
	}
	if u, _, _ := e.users.UserByID(ctx, id); !u.Disabled {
		t.Fatal("account re-enabled")
	}
}

// Of several outstanding links used at once, exactly one sets the password:
// the others were issued under the hash it replaced.
func TestConcurrentResetsOnlyOneWins(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.signup("con@example.com")
	links := e.resetLinks("con@example.com", 5)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i, l := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.auth.ResetPassword(ctx, l, fmt.Sprintf("concurrent new password %d", i), authkit.Client{})
			switch {
			case err == nil:
				mu.Lock()
				won++
				mu.Unlock()
			case !errors.Is(err, authkit.ErrInvalidToken):
				t.Errorf("reset %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d of %d concurrent resets set the password; want 1", won, len(links))
	}
}

// A full mail queue answers 503 with Retry-After, the same for known and
// unknown addresses, not a 500 that reads as a failure of the server.
func TestHTTPFullMailQueueAnswers503(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.MailQueue = 1 })
	e.signup("known@example.com")
	e.expect(e.client().post("/auth/password/forgot", map[string]string{"email": "a@example.com"}), http.StatusAccepted, "")
	for _, addr := range []string{"known@example.com", "unknown@example.com"} {
		r := e.client().post("/auth/password/forgot", map[string]string{"email": addr})
		e.expect(r, http.StatusServiceUnavailable, "")
		if r.header.Get("Retry-After") == "" {
			t.Fatalf("%s: no Retry-After", addr)
		}
	}
}
