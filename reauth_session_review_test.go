package authkit_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/session"
)

// rotateHook is a session store that runs hook once (when armed) right
// before the next Rotate: between the re-authentication's check and the
// renewal of the session.
type rotateHook struct {
	session.Store
	armed atomic.Bool
	hook  func()
}

func (r *rotateHook) Rotate(ctx context.Context, oldID, newID string, rec session.Record) (bool, error) {
	if r.armed.CompareAndSwap(true, false) {
		r.hook()
	}
	return r.Store.Rotate(ctx, oldID, newID, rec)
}

// newHookedSessEnv is newSessEnv whose session store is a rotateHook.
func newHookedSessEnv(t *testing.T) (*sessEnv, *rotateHook) {
	t.Helper()
	hook := &rotateHook{}
	var m *session.Manager
	pe := newPasskeyEnv(t, func(cfg *authkit.Config, _ *passkey.Config) {
		hook.Store = memtest.New(t, cfg.Now).Sessions()
		var err error
		m, err = session.New(session.Config{Store: hook, Now: cfg.Now})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Sessions = m
	})
	return &sessEnv{pkEnv: pe, m: m}, hook
}

// liveSessions is the number of u's live sessions.
func (e *sessEnv) liveSessions(userID string) int {
	e.t.Helper()
	infos, err := e.m.ListUser(context.Background(), userID)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(infos)
}

// passkeyReauth runs a passkey re-authentication of the session of c: a
// ceremony begun for beginFor with binding begin, answered by dev, finished
// with binding finish.
func (e *sessEnv) passkeyReauth(c *http.Cookie, dev *passkeytest.Authenticator, beginFor, begin, finish string, want middleware.Requirement) (*http.Cookie, error) {
	e.t.Helper()
	resp := e.reauthAssertion(dev, begin, beginFor)
	var err error
	after := e.in(c, func(ctx context.Context) {
		_, err = e.auth.ReauthenticateSessionPasskey(ctx, finish, resp, want, pkClient)
	})
	return after, err
}

// TestReauthenticateSessionPasskeyCeremonyForAnotherUserRefused: a ceremony
// begun for alice and answered by alice's passkey, finished in bob's
// session, neither signs bob's session in as alice nor lifts bob's session
// to the passkey level.
func TestReauthenticateSessionPasskeyCeremonyForAnotherUserRefused(t *testing.T) {
	e := newSessEnv(t)
	alice := e.user("alice@example.com")
	e.register(e.dev, alice)
	bob := e.user("bob@example.com")
	bobDev := passkeytest.New(pkOrigin)
	e.register(bobDev, bob)
	c := e.signedIn(bob, "pwd")
	after, err := e.passkeyReauth(c, e.dev, alice.ID, "browser-b", "browser-b", middleware.Requirement{})
	if !errors.Is(err, authkit.ErrInvalidCredentials) || after != c {
		t.Fatalf("alice's ceremony in bob's session: %v", err)
	}
	if user, _, amr := e.facts(c); user != bob.ID || !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("bob's session now %q %q", user, amr)
	}
	if n := e.liveSessions(alice.ID); n != 0 {
		t.Fatalf("alice has %d sessions", n)
	}
}

// TestReauthenticateSessionPasskeyAnotherBrowsersCeremonyRefused: the
// user's own assertion for a ceremony begun by another browser (another
// binding) renews nothing.
func TestReauthenticateSessionPasskeyAnotherBrowsersCeremonyRefused(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	c := e.signedIn(u, "pwd")
	after, err := e.passkeyReauth(c, e.dev, u.ID, "browser-a", "browser-b", middleware.Requirement{})
	if !errors.Is(err, authkit.ErrInvalidCredentials) || after != c {
		t.Fatalf("another browser's ceremony: %v", err)
	}
	if _, _, amr := e.facts(c); !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("amr changed to %q", amr)
	}
}

// TestReauthenticateSessionSingleFactorPasskeyNeedsEnrolledCode: a
// passkey that counts as one factor (Config.UserVerifiedSingleFactor)
// cannot stand in for an enrolled TOTP code, and the session keeps its
// sign-in.
func TestReauthenticateSessionSingleFactorPasskeyNeedsEnrolledCode(t *testing.T) {
	e := newSessEnv(t, func(_ *authkit.Config, pc *passkey.Config) { pc.UserVerifiedSingleFactor = true })
	u := e.user("a@example.com")
	e.register(e.dev, u)
	e.enrollTOTP(u.Email)
	c := e.signedIn(u, "pwd", "otp")
	after, err := e.passkeyReauth(c, e.dev, u.ID, "browser-a", "browser-a", middleware.Requirement{})
	if !errors.Is(err, authkit.ErrMFARequired) || after != c {
		t.Fatalf("single-factor passkey with TOTP enrolled: %v", err)
	}
	if _, _, amr := e.facts(c); !slices.Equal(amr, []string{"pwd", "otp"}) {
		t.Fatalf("amr changed to %q", amr)
	}
}

// TestReauthenticateSessionPasswordAfterPasskeyDropsToPasswordLevel: a
// password re-authentication of a passkey session records only "pwd": the
// session no longer meets a passkey or mfa route.
func TestReauthenticateSessionPasswordAfterPasskeyDropsToPasswordLevel(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	c := e.signedIn(u, "hwk", "user", "mfa")
	var err error
	c = e.in(c, func(ctx context.Context) {
		_, err = e.auth.ReauthenticateSession(ctx, goodPassword, "", middleware.Requirement{}, pkClient)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, amr := e.facts(c); !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("amr %q", amr)
	}
	for _, acr := range []string{middleware.ACRPasskey, middleware.ACRMFA} {
		if code := e.stepUp(c, middleware.Requirement{ACR: acr}); code != http.StatusSeeOther {
			t.Errorf("%s route after a password re-authentication: %d", acr, code)
		}
	}
}

// TestReauthenticateSessionSharesLoginLockout: wrong passwords through the
// session re-authentication and through the login draw on one budget (5
// without a device token): after it, the right password is throttled on
// both paths.
func TestReauthenticateSessionSharesLoginLockout(t *testing.T) {
	for _, first := range []string{"reauth", "login"} {
		t.Run(first+"_first", func(t *testing.T) {
			e := newSessEnv(t)
			u := e.user("a@example.com")
			c := e.signedIn(u, "pwd")
			reauth := func(pw string) error {
				var err error
				e.in(c, func(ctx context.Context) {
					_, err = e.auth.ReauthenticateSession(ctx, pw, "", middleware.Requirement{}, pkClient)
				})
				return err
			}
			login := func(pw string) error {
				_, err := e.auth.Login(context.Background(), u.Email, pw, pkClient)
				return err
			}
			spend := reauth
			if first == "login" {
				spend = login
			}
			for i := range 5 {
				if err := spend("not the password"); !errors.Is(err, authkit.ErrInvalidCredentials) {
					t.Fatalf("failure %d: %v", i, err)
				}
			}
			if err := reauth(goodPassword); !errors.Is(err, authkit.ErrThrottled) {
				t.Fatalf("re-authentication after the budget: %v", err)
			}
			if err := login(goodPassword); !errors.Is(err, authkit.ErrThrottled) {
				t.Fatalf("login after the budget: %v", err)
			}
			if _, at, amr := e.facts(c); !at.Equal(e.clock.Now()) || !slices.Equal(amr, []string{"pwd"}) {
				t.Fatalf("session changed: %v %q", at, amr)
			}
		})
	}
}

// TestReauthenticateSessionGuessesCountAgainstSessionUserOnly: another
// account's password typed into bob's re-authentication is checked against
// bob (and refused); it cannot lock alice out, and it never signs bob's
// session in as alice.
func TestReauthenticateSessionGuessesCountAgainstSessionUserOnly(t *testing.T) {
	e := newSessEnv(t)
	alice := e.user("alice@example.com")
	bob := e.user("bob@example.com")
	if _, err := e.auth.ChangePassword(context.Background(), bob.ID, goodPassword, "bob's own passphrase 77", pkClient); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn(bob, "pwd")
	for range 6 {
		var err error
		e.in(c, func(ctx context.Context) {
			_, err = e.auth.ReauthenticateSession(ctx, goodPassword, "", middleware.Requirement{}, authkit.Client{IP: "203.0.113.9"})
		})
		if err == nil {
			t.Fatal("alice's password re-authenticated bob")
		}
	}
	if user, _, amr := e.facts(c); user != bob.ID || !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("bob's session now %q %q", user, amr)
	}
	if _, err := e.auth.Login(context.Background(), alice.Email, goodPassword, pkClient); err != nil {
		t.Fatalf("alice locked out by guesses in bob's session: %v", err)
	}
}

// TestReauthenticateSessionWrongCodesThrottledLikeLogin: with the right
// password, wrong second-factor codes count on the account's code budget
// (5): after it even the right code is refused, in the re-authentication
// and in the login, and the session keeps its sign-in.
func TestReauthenticateSessionWrongCodesThrottledLikeLogin(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	secret := e.enrollTOTP(u.Email)
	e.clock.Advance(time.Minute)
	c := e.signedIn(u, "pwd", "otp")
	signedAt := e.clock.Now()
	reauth := func(code string) error {
		var err error
		e.in(c, func(ctx context.Context) {
			_, err = e.auth.ReauthenticateSession(ctx, goodPassword, code, middleware.Requirement{ACR: middleware.ACRMFA}, pkClient)
		})
		return err
	}
	for i := range 5 {
		wrong := "000000"
		if e.code(secret) == wrong {
			wrong = "111111"
		}
		if err := reauth(wrong); !errors.Is(err, authkit.ErrInvalidCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	e.clock.Advance(31 * time.Second)
	if err := reauth(e.code(secret)); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("right code after the budget: %v", err)
	}
	// The login path is closed too: the password step (its reservation was
	// never released by a full sign-in) or the code step refuses.
	e.clock.Advance(time.Minute)
	res, err := e.auth.Login(context.Background(), u.Email, goodPassword, pkClient)
	if err == nil {
		if !res.MFARequired() {
			t.Fatalf("login without the second factor: %+v", res)
		}
		_, err = e.auth.VerifyMFA(context.Background(), res.MFAToken, e.code(secret), pkClient)
	}
	if !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("login after the code budget: %v", err)
	}
	if _, at, amr := e.facts(c); !at.Equal(signedAt) || !slices.Equal(amr, []string{"pwd", "otp"}) {
		t.Fatalf("session changed: %v %q", at, amr)
	}
}

// TestReauthenticateSessionPasskeyAcrossDisableUserLeavesNoSession: an
// account disabled between the passkey check and the renewal of the
// session keeps no live session and the request is not signed in.
func TestReauthenticateSessionPasskeyAcrossDisableUserLeavesNoSession(t *testing.T) {
	e, hook := newHookedSessEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	c := e.signedIn(u, "pwd")
	hook.hook = func() {
		if err := e.auth.DisableUser(context.Background(), u.ID, pkClient); err != nil {
			t.Error(err)
		}
	}
	hook.armed.Store(true)
	after, err := e.passkeyReauth(c, e.dev, u.ID, "browser-a", "browser-a", middleware.Requirement{})
	if !errors.Is(err, authkit.ErrNotSignedIn) || !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("passkey re-authentication across DisableUser: %v", err)
	}
	if after != nil {
		if user, _, _ := e.facts(after); user != "" {
			t.Fatal("the request kept a signed-in session")
		}
	}
	if n := e.liveSessions(u.ID); n != 0 {
		t.Fatalf("%d live sessions of a disabled account", n)
	}
}

// TestReauthenticateSessionAcrossDeviceRevokeLeavesNoSession: the device
// (this session's id) revoked from the devices page between the check and
// the renewal: nothing is renewed and no session is left.
func TestReauthenticateSessionAcrossDeviceRevokeLeavesNoSession(t *testing.T) {
	e, hook := newHookedSessEnv(t)
	u := e.user("a@example.com")
	c := e.signedIn(u, "pwd")
	infos, err := e.m.ListUser(context.Background(), u.ID)
	if err != nil || len(infos) != 1 {
		t.Fatal(infos, err)
	}
	hook.hook = func() {
		if err := e.m.Revoke(context.Background(), u.ID, infos[0].ID); err != nil {
			t.Error(err)
		}
	}
	hook.armed.Store(true)
	e.in(c, func(ctx context.Context) {
		_, err = e.auth.ReauthenticateSession(ctx, goodPassword, "", middleware.Requirement{}, pkClient)
	})
	if !errors.Is(err, authkit.ErrNotSignedIn) || !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("re-authentication across a device revoke: %v", err)
	}
	if n := e.liveSessions(u.ID); n != 0 {
		t.Fatalf("%d live sessions after the revoke", n)
	}
}

// TestReauthenticateSessionAcrossPasswordChangeRefused: the password
// changed (from another browser) while the re-authentication checked the
// old one: refused, and no session of the account is left (the change ends
// them all).
func TestReauthenticateSessionAcrossPasswordChangeRefused(t *testing.T) {
	e, hook := newHookedSessEnv(t)
	u := e.user("a@example.com")
	c := e.signedIn(u, "pwd")
	hook.hook = func() {
		if _, err := e.auth.ChangePassword(context.Background(), u.ID, goodPassword, "a brand new passphrase 42", pkClient); err != nil {
			t.Error(err)
		}
	}
	hook.armed.Store(true)
	var err error
	e.in(c, func(ctx context.Context) {
		_, err = e.auth.ReauthenticateSession(ctx, goodPassword, "", middleware.Requirement{}, pkClient)
	})
	if !errors.Is(err, authkit.ErrNotSignedIn) {
		t.Fatalf("re-authentication across a password change: %v", err)
	}
	if n := e.liveSessions(u.ID); n != 0 {
		t.Fatalf("%d live sessions after the password change", n)
	}
}

// TestConcurrentReauthenticateSessionLeavesOneSession: several
// re-authentications of one session at once (double submit, two tabs):
// exactly one renews it, the others get ErrNotSignedIn, and one session is
// live: the one the winner's cookie names.
func TestConcurrentReauthenticateSessionLeavesOneSession(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	c := e.signedIn(u, "pwd")
	const n = 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*http.Cookie
	var refused int
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			var err error
			after := e.in(c, func(ctx context.Context) {
				_, err = e.auth.ReauthenticateSession(ctx, goodPassword, "", middleware.Requirement{}, pkClient)
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, after)
			case errors.Is(err, authkit.ErrNotSignedIn):
				refused++
			default:
				t.Errorf("ReauthenticateSession: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(won) != 1 || refused != n-1 {
		t.Fatalf("%d renewed, %d refused", len(won), refused)
	}
	infos, err := e.m.ListUser(context.Background(), u.ID)
	if err != nil || len(infos) != 1 {
		t.Fatalf("live sessions %+v (%v)", infos, err)
	}
	if user, _, amr := e.facts(won[0]); user != u.ID || !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("the winner's session: %q %q", user, amr)
	}
}

// TestReauthenticateSessionRacingEndSessionsLeavesNothing: re-authentications
// racing the administrator's "sign out everywhere" (no order imposed)
// never leave a live session.
func TestReauthenticateSessionRacingEndSessionsLeavesNothing(t *testing.T) {
	for round := range 5 {
		e := newSessEnv(t)
		u := e.user("a@example.com")
		c := e.signedIn(u, "pwd")
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 3 {
			wg.Go(func() {
				<-start
				var err error
				e.in(c, func(ctx context.Context) {
					_, err = e.auth.ReauthenticateSession(ctx, goodPassword, "", middleware.Requirement{}, pkClient)
				})
				if err != nil && !errors.Is(err, authkit.ErrNotSignedIn) {
					t.Errorf("ReauthenticateSession: %v", err)
				}
			})
		}
		wg.Go(func() {
			<-start
			if err := e.auth.EndSessions(context.Background(), u.ID, pkClient); err != nil {
				t.Error(err)
			}
		})
		close(start)
		wg.Wait()
		if n := e.liveSessions(u.ID); n != 0 {
			t.Fatalf("round %d: %d live sessions after sign out everywhere", round, n)
		}
	}
}

// TestReauthenticateSessionPasskeyLevelLapsesWithMaxAge: a passkey
// re-authentication meets a passkey route with a max_age only while it is
// recent; a route without max_age keeps accepting it.
func TestReauthenticateSessionPasskeyLevelLapsesWithMaxAge(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	c := e.signedIn(u, "pwd")
	recent := middleware.Requirement{ACR: middleware.ACRPasskey, MaxAge: 5 * time.Minute}
	c, err := e.passkeyReauth(c, e.dev, u.ID, "browser-a", "browser-a", recent)
	if err != nil {
		t.Fatal(err)
	}
	if code := e.stepUp(c, recent); code != http.StatusNoContent {
		t.Fatalf("right after: %d", code)
	}
	e.clock.Advance(5*time.Minute + middleware.DefaultStepUpLeeway + time.Second)
	if code := e.stepUp(c, recent); code != http.StatusSeeOther {
		t.Fatalf("after max_age: %d", code)
	}
	if code := e.stepUp(c, middleware.Requirement{ACR: middleware.ACRPasskey}); code != http.StatusNoContent {
		t.Fatalf("passkey route without max_age: %d", code)
	}
}

// TestReauthenticateSessionPossessionOnlyPasskeyDoesNotMeetMFA: with
// passkey.Config.UnsafeAllowNoUserVerification, an assertion without user
// verification is possession only ("never counts as multi-factor", as that
// option says): it must not lift the session to a route that demands the
// mfa level (two factors), nor record MFATime.
func TestReauthenticateSessionPossessionOnlyPasskeyDoesNotMeetMFA(t *testing.T) {
	e := newSessEnv(t, func(_ *authkit.Config, pc *passkey.Config) { pc.UnsafeAllowNoUserVerification = true })
	u := e.user("a@example.com")
	e.register(e.dev, u)
	c := e.signedIn(u, "pwd")
	e.dev.UserVerified = false
	want := middleware.Requirement{ACR: middleware.ACRMFA}
	after, err := e.passkeyReauth(c, e.dev, u.ID, "browser-a", "browser-a", want)
	if err != nil {
		// Refusing the re-authentication is one way to hold.
		if after != c {
			t.Fatalf("refused, but the session changed: %v", err)
		}
		return
	}
	var mfaAt time.Time
	e.in(after, func(ctx context.Context) {
		s, _ := session.FromContext(ctx)
		mfaAt = s.MFATime()
	})
	_, _, amr := e.facts(after)
	if code := e.stepUp(after, want); code != http.StatusSeeOther || !mfaAt.IsZero() {
		t.Fatalf("possession-only passkey (amr %q): mfa route answered %d, MFATime %v", amr, code, mfaAt)
	}
}

// TestReauthenticateSessionSharesPerIPBudget: wrong passwords in the
// re-authentications of several accounts' sessions from one network spend
// the login's per-IP budget: once it is spent, a login of yet another
// account from that network is throttled.
func TestReauthenticateSessionSharesPerIPBudget(t *testing.T) {
	e := newSessEnv(t, func(cfg *authkit.Config, _ *passkey.Config) { cfg.Lockout.IPMax = 4 })
	from := authkit.Client{IP: "203.0.113.50"}
	for _, email := range []string{"a@example.com", "b@example.com"} {
		c := e.signedIn(e.user(email), "pwd")
		for i := range 2 {
			var err error
			e.in(c, func(ctx context.Context) {
				_, err = e.auth.ReauthenticateSession(ctx, "not the password", "", middleware.Requirement{}, from)
			})
			if !errors.Is(err, authkit.ErrInvalidCredentials) {
				t.Fatalf("%s guess %d: %v", email, i, err)
			}
		}
	}
	e.user("c@example.com")
	if _, err := e.auth.Login(context.Background(), "c@example.com", goodPassword, from); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("login from the network after its budget: %v", err)
	}
	if _, err := e.auth.Login(context.Background(), "c@example.com", goodPassword, pkClient); err != nil {
		t.Fatalf("login from another network: %v", err)
	}
}

// TestReauthenticateSessionPasskeyAssertionIsSingleUse: an assertion that
// renewed one session of the user cannot renew another (a copied response
// replayed in a second browser's session).
func TestReauthenticateSessionPasskeyAssertionIsSingleUse(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	first, second := e.signedIn(u, "pwd"), e.signedIn(u, "pwd")
	o, err := e.auth.BeginPasskeyReauth(context.Background(), "browser-a", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.dev.Get(o.JSON)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []*http.Cookie{first, second} {
		after := e.in(c, func(ctx context.Context) {
			_, err = e.auth.ReauthenticateSessionPasskey(ctx, "browser-a", resp, middleware.Requirement{}, pkClient)
		})
		if want := i == 0; (err == nil) != want || (after != c) != want {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	if _, _, amr := e.facts(second); !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("the replay changed the second session: %q", amr)
	}
}
