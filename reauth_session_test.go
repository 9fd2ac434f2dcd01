package authkit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
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

// sessEnv is a pkEnv whose Auth has Config.Sessions (memstore, the env's
// clock), for the session re-authentications.
type sessEnv struct {
	*pkEnv
	m *session.Manager
}

func newSessEnv(t *testing.T, mutate ...func(*authkit.Config, *passkey.Config)) *sessEnv {
	t.Helper()
	var m *session.Manager
	pe := newPasskeyEnv(t, append([]func(*authkit.Config, *passkey.Config){func(cfg *authkit.Config, _ *passkey.Config) {
		var err error
		m, err = session.New(session.Config{Store: memtest.New(t, cfg.Now).Sessions(), Now: cfg.Now})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Sessions = m
	}}, mutate...)...)
	return &sessEnv{pkEnv: pe, m: m}
}

// in runs step in the session of cookie c (nil: a new one) as one request
// and returns the session cookie the browser holds afterwards (nil once it
// was cleared).
func (e *sessEnv) in(c *http.Cookie, step func(ctx context.Context)) *http.Cookie {
	e.t.Helper()
	h := e.m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { step(r.Context()) }))
	r := httptest.NewRequest("POST", "https://example.com/account", nil)
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	out := c
	for _, ck := range w.Result().Cookies() {
		if ck.Name == session.DefaultCookieName {
			out = ck
			if ck.MaxAge < 0 || ck.Value == "" {
				out = nil
			}
		}
	}
	return out
}

// signedIn starts a session for u with the methods amr.
func (e *sessEnv) signedIn(u authkit.User, amr ...string) *http.Cookie {
	e.t.Helper()
	return e.in(nil, func(ctx context.Context) {
		if err := e.m.SignIn(ctx, u.ID, amr); err != nil {
			e.t.Fatal(err)
		}
	})
}

// facts reports the sign-in the session of c records.
func (e *sessEnv) facts(c *http.Cookie) (user string, authTime time.Time, amr []string) {
	e.t.Helper()
	e.in(c, func(ctx context.Context) {
		s, _ := session.FromContext(ctx)
		user, authTime, amr = s.UserID(), s.AuthTime(), s.AMR()
	})
	return user, authTime, amr
}

// stepUp answers a request with cookie c to a route that demands want,
// through the session Authenticator and StepUp: 204 or the redirect.
func (e *sessEnv) stepUp(c *http.Cookie, want middleware.Requirement) int {
	e.t.Helper()
	authn, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Sessions: e.m, Order: []middleware.Source{middleware.SourceSession}})
	if err != nil {
		e.t.Fatal(err)
	}
	su, err := middleware.NewStepUp(middleware.StepUpConfig{Now: e.clock.Now, ReauthURL: "/reauth"})
	if err != nil {
		e.t.Fatal(err)
	}
	require, err := su.Require(want)
	if err != nil {
		e.t.Fatal(err)
	}
	h := e.m.LoadAndSave(authn.RequireAuth(require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))))
	r := httptest.NewRequest("POST", "https://example.com/account/delete", nil)
	r.AddCookie(c)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// TestReauthenticateSessionRenewsStaleSignIn: a session signed in twenty
// minutes ago fails a five-minute route; after ReauthenticateSession with the
// password it has a new id, a fresh AuthTime and amr "pwd", passes the
// route, and the old cookie is signed out.
func TestReauthenticateSessionRenewsStaleSignIn(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	old := e.signedIn(u, "pwd")
	e.clock.Advance(20 * time.Minute)
	recent := middleware.Requirement{MaxAge: 5 * time.Minute}
	if code := e.stepUp(old, recent); code != http.StatusSeeOther {
		t.Fatalf("stale session: %d, want the redirect", code)
	}
	var err error
	renewed := e.in(old, func(ctx context.Context) {
		_, err = e.auth.ReauthenticateSession(ctx, goodPassword, "", recent, pkClient)
	})
	if err != nil || renewed == nil || renewed.Value == old.Value {
		t.Fatalf("ReauthenticateSession: %v, cookie %v", err, renewed)
	}
	user, at, amr := e.facts(renewed)
	if user != u.ID || !at.Equal(e.clock.Now()) || !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("renewed session: user %q auth time %v amr %q", user, at, amr)
	}
	if code := e.stepUp(renewed, recent); code != http.StatusNoContent {
		t.Fatalf("renewed session: %d", code)
	}
	if user, _, _ := e.facts(old); user != "" {
		t.Fatal("the old session id is still signed in")
	}
}

// TestReauthenticateSessionWithCodeReachesMFA: with TOTP enrolled the
// code is required (nothing checked without it), and the renewed session
// carries "pwd" and "otp", which meets the mfa level.
func TestReauthenticateSessionWithCodeReachesMFA(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	secret := e.enrollTOTP(u.Email)
	c := e.signedIn(u, "pwd")
	want := middleware.Requirement{ACR: middleware.ACRMFA}
	if code := e.stepUp(c, want); code != http.StatusSeeOther {
		t.Fatalf("password session on the mfa route: %d", code)
	}
	var err error
	same := e.in(c, func(ctx context.Context) {
		_, err = e.auth.ReauthenticateSession(ctx, goodPassword, "", want, pkClient)
	})
	if !errors.Is(err, authkit.ErrMFARequired) || same != c {
		t.Fatalf("without a code: %v", err)
	}
	e.clock.Advance(time.Minute)
	c = e.in(c, func(ctx context.Context) {
		_, err = e.auth.ReauthenticateSession(ctx, goodPassword, e.code(secret), want, pkClient)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, amr := e.facts(c); !slices.Equal(amr, []string{"pwd", "otp"}) {
		t.Fatalf("amr %q", amr)
	}
	if code := e.stepUp(c, want); code != http.StatusNoContent {
		t.Fatalf("after the code: %d", code)
	}
}

// TestReauthenticateSessionPasskeyMeetsPasskeyLevel: a password session
// does not meet a passkey-level route; a passkey re-authentication of the
// session does, through the session Authenticator and StepUp.
func TestReauthenticateSessionPasskeyMeetsPasskeyLevel(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	c := e.signedIn(u, "pwd")
	want := middleware.Requirement{ACR: middleware.ACRPasskey, MaxAge: middleware.AlwaysReauthenticate}
	if code := e.stepUp(c, want); code != http.StatusSeeOther {
		t.Fatalf("password session on the passkey route: %d", code)
	}
	e.clock.Advance(time.Minute)
	c, err := e.passkeyReauth(c, e.dev, u.ID, "browser-a", "browser-a", want)
	if err != nil {
		t.Fatal(err)
	}
	if user, at, amr := e.facts(c); user != u.ID || !at.Equal(e.clock.Now()) || !slices.Equal(amr, []string{"hwk", "user", "mfa"}) {
		t.Fatalf("session after the passkey: %q %v %q", user, at, amr)
	}
	if code := e.stepUp(c, want); code != http.StatusNoContent {
		t.Fatalf("passkey session on the passkey route: %d", code)
	}
	// max_age=0: a minute later the same route asks again.
	e.clock.Advance(time.Minute)
	if code := e.stepUp(c, want); code != http.StatusSeeOther {
		t.Fatalf("max_age=0 a minute later: %d", code)
	}
}

// TestReauthenticateSessionPasskeyRefusesAnotherUsersPasskey: the session
// user's ceremony answered with another account's passkey renews nothing.
func TestReauthenticateSessionPasskeyRefusesAnotherUsersPasskey(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	other := e.user("b@example.com")
	otherDev := passkeytest.New(pkOrigin)
	otherDev.Select = e.register(otherDev, other)
	c := e.signedIn(u, "pwd")
	after, err := e.passkeyReauth(c, otherDev, u.ID, "browser-a", "browser-a", middleware.Requirement{})
	if !errors.Is(err, authkit.ErrInvalidCredentials) || after != c {
		t.Fatalf("another user's passkey: %v", err)
	}
	if _, _, amr := e.facts(c); !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("amr changed to %q", amr)
	}
}

// TestReauthenticateSessionNeedsSignedInSession: no Sessions configured, an
// anonymous session and a session whose MFA step is pending all give
// ErrNotSignedIn before any password is checked.
func TestReauthenticateSessionNeedsSignedInSession(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	pending := e.in(nil, func(ctx context.Context) {
		if err := e.m.BeginMFA(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	})
	for name, c := range map[string]*http.Cookie{"anonymous": nil, "mfa pending": pending} {
		var err error
		e.in(c, func(ctx context.Context) {
			_, err = e.auth.ReauthenticateSession(ctx, goodPassword, "", middleware.Requirement{}, pkClient)
		})
		if !errors.Is(err, authkit.ErrNotSignedIn) {
			t.Errorf("%s: %v, want ErrNotSignedIn", name, err)
		}
	}
	// A signed-in session of another Manager (another cookie, another
	// store) is not this Auth's to renew.
	other, err := session.New(session.Config{Store: memtest.New(t, e.clock.Now).Sessions(), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	other.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := other.SignIn(r.Context(), u.ID, []string{"pwd"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.auth.ReauthenticateSession(r.Context(), goodPassword, "", middleware.Requirement{}, pkClient); !errors.Is(err, authkit.ErrNotSignedIn) {
			t.Errorf("another Manager's session: %v, want ErrNotSignedIn", err)
		}
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "https://example.com/account", nil))
	plain := newEnv(t)
	if _, err := plain.auth.ReauthenticateSession(context.Background(), goodPassword, "", middleware.Requirement{}, pkClient); !errors.Is(err, authkit.ErrNotSignedIn) {
		t.Fatalf("without Config.Sessions: %v", err)
	}
	if evs := e.events.types(); slices.Contains(evs, authkit.EventLoginFailure) || slices.Contains(evs, authkit.EventLoginSuccess) {
		t.Fatalf("a password was checked: %v", evs)
	}
}

// TestReauthenticateSessionWrongPasswordChangesNothing: a wrong password
// is a counted login failure and the session keeps its old sign-in.
func TestReauthenticateSessionWrongPasswordChangesNothing(t *testing.T) {
	e := newSessEnv(t)
	u := e.user("a@example.com")
	c := e.signedIn(u, "hwk", "user", "mfa")
	e.clock.Advance(20 * time.Minute)
	var err error
	after := e.in(c, func(ctx context.Context) {
		_, err = e.auth.ReauthenticateSession(ctx, "not the password", "", middleware.Requirement{}, pkClient)
	})
	if !errors.Is(err, authkit.ErrInvalidCredentials) || after != c {
		t.Fatalf("wrong password: %v", err)
	}
	if _, at, amr := e.facts(c); !at.Equal(e.clock.Now().Add(-20*time.Minute)) || !slices.Equal(amr, []string{"hwk", "user", "mfa"}) {
		t.Fatalf("session changed: %v %q", at, amr)
	}
	if !hasEvent(e.eventsOf(authkit.EventLoginFailure), authkit.OutcomeFailure, "reauth_bad_password", u.ID) {
		t.Fatal("the failure was not counted as a login failure")
	}
}

// logoutDuringCheck is a user store that, once armed, runs "log out
// everywhere" for the user the second time it is read: after the password
// of a re-authentication verified, before the session is renewed.
type logoutDuringCheck struct {
	updatableUsers
	auth  *authkit.Auth
	armed atomic.Bool
	reads atomic.Int32
}

func (s *logoutDuringCheck) UserByID(ctx context.Context, id string) (authkit.User, bool, error) {
	if s.armed.Load() && s.reads.Add(1) == 2 {
		// From another request: a context without this request's session.
		if err := s.auth.EndSessions(context.Background(), id, pkClient); err != nil {
			return authkit.User{}, false, err
		}
	}
	return s.updatableUsers.UserByID(ctx, id)
}

type updatableUsers interface {
	authkit.UserStore
	authkit.UserUpdater
}

// TestReauthenticateSessionAfterLogoutEverywhereDoesNotResurrect: when
// every session of the user ends while the password is checked, the
// re-authentication renews nothing and leaves no live session (the
// session package's SignIn would start a new one; a re-authentication
// must not).
func TestReauthenticateSessionAfterLogoutEverywhereDoesNotResurrect(t *testing.T) {
	store := &logoutDuringCheck{}
	e := newSessEnv(t, func(cfg *authkit.Config, _ *passkey.Config) {
		store.updatableUsers = cfg.Users.(updatableUsers)
		cfg.Users = store
	})
	store.auth = e.auth
	u := e.user("a@example.com")
	c := e.signedIn(u, "pwd")
	store.armed.Store(true)
	var err error
	after := e.in(c, func(ctx context.Context) {
		_, err = e.auth.ReauthenticateSession(ctx, goodPassword, "", middleware.Requirement{}, pkClient)
	})
	store.armed.Store(false)
	if !errors.Is(err, authkit.ErrNotSignedIn) || !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("re-authentication across log out everywhere: %v", err)
	}
	if after != nil {
		if user, _, _ := e.facts(after); user != "" {
			t.Fatal("the re-authentication left a signed-in session")
		}
	}
	infos, lerr := e.m.ListUser(context.Background(), u.ID)
	if lerr != nil || len(infos) != 0 {
		t.Fatalf("sessions after log out everywhere: %+v %v", infos, lerr)
	}
}
