package authkit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/store/memstore"
)

const pkOrigin = "https://login.example.com"

var pkClient = authkit.Client{IP: "198.51.100.7", UserAgent: "passkey-test"}

// pkEnv is an env whose Auth has Config.Passkeys over memstore, sharing
// the env's clock, and a software authenticator.
type pkEnv struct {
	*env
	dev   *passkeytest.Authenticator
	creds *memstore.Passkeys
}

func newPasskeyEnv(t *testing.T, mutate ...func(*authkit.Config, *passkey.Config)) *pkEnv {
	t.Helper()
	return newPasskeyEnvAt(t, defaultMount, mutate...)
}

func newPasskeyEnvAt(t *testing.T, m mount, mutate ...func(*authkit.Config, *passkey.Config)) *pkEnv {
	t.Helper()
	var creds *memstore.Passkeys
	e := newEnvAt(t, m, func(cfg *authkit.Config) {
		st := memtest.New(t, cfg.Now)
		creds = st.Passkeys()
		pc := passkey.Config{RPID: "example.com", RPDisplayName: "Example", Origins: []string{pkOrigin},
			Credentials: creds, Tickets: st.Tickets(), Now: cfg.Now}
		for _, f := range mutate {
			f(cfg, &pc)
		}
		p, err := passkey.New(pc)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Passkeys = p
	})
	return &pkEnv{env: e, dev: passkeytest.New(pkOrigin), creds: creds}
}

// user signs email up (with a password) and returns the account.
func (e *pkEnv) user(email string) authkit.User {
	e.t.Helper()
	e.signup(email)
	return e.byLogin(email)
}

func (e *pkEnv) byLogin(email string) authkit.User {
	e.t.Helper()
	u, found, err := e.users.UserByLogin(context.Background(), email)
	if err != nil || !found {
		e.t.Fatalf("user %s: %v %v", email, found, err)
	}
	return u
}

// passwordless creates an account without a password, as an external
// provider's sign-in does.
func (e *pkEnv) passwordless(id, email string) authkit.User {
	e.t.Helper()
	u := authkit.User{ID: id, Email: email, Roles: []string{"viewer"}, CreatedAt: e.clock.Now()}
	if err := e.users.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// register adds a passkey on dev to u (signed in just now) and returns its
// id.
func (e *pkEnv) register(dev *passkeytest.Authenticator, u authkit.User) []byte {
	e.t.Helper()
	ctx := context.Background()
	binding := "registration-" + u.ID
	o, err := e.auth.BeginPasskeyRegistration(ctx, binding, u.ID, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	resp, id, err := dev.Create(o.JSON)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := e.auth.FinishPasskeyRegistration(ctx, binding, u.ID, "Laptop", resp, pkClient)
	if err != nil {
		e.t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	if string(c.ID) != string(id) || c.UserID != u.ID {
		e.t.Fatalf("stored %x for %s, want %x for %s", c.ID, c.UserID, id, u.ID)
	}
	return id
}

// answer returns dev's response to the ceremony o (begun with error err).
func (e *pkEnv) answer(dev *passkeytest.Authenticator, o passkey.Options, err error) []byte {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := dev.Get(o.JSON)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// assertion begins a username-less sign-in under binding and returns dev's
// response.
func (e *pkEnv) assertion(dev *passkeytest.Authenticator, binding string) []byte {
	e.t.Helper()
	o, err := e.auth.BeginPasskeySignIn(context.Background(), binding, false)
	return e.answer(dev, o, err)
}

// reauthAssertion begins a re-authentication of userID under binding and
// returns dev's response.
func (e *pkEnv) reauthAssertion(dev *passkeytest.Authenticator, binding, userID string) []byte {
	e.t.Helper()
	o, err := e.auth.BeginPasskeyReauth(context.Background(), binding, userID)
	return e.answer(dev, o, err)
}

func (e *pkEnv) signIn(dev *passkeytest.Authenticator) (authkit.User, []string, error) {
	e.t.Helper()
	return e.auth.FinishPasskeySignIn(context.Background(), "browser-a", e.assertion(dev, "browser-a"), pkClient)
}

// events returns the audit events of type t.
func (e *pkEnv) eventsOf(t authkit.EventType) []authkit.Event {
	e.events.mu.Lock()
	defer e.events.mu.Unlock()
	var out []authkit.Event
	for _, ev := range e.events.ev {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

func hasEvent(evs []authkit.Event, outcome, reason, userID string) bool {
	return slices.ContainsFunc(evs, func(ev authkit.Event) bool {
		return ev.Outcome == outcome && ev.Reason == reason && ev.UserID == userID
	})
}

// enrollTOTP enrolls TOTP for email (signed in over HTTP) and returns the
// secret.
func (e *pkEnv) enrollTOTP(email string) string {
	e.t.Helper()
	secret, _ := e.enrollMFA(e.login(email))
	return secret
}

func TestPasskeyMethodsWithoutConfigGiveErrPasskeysNotConfigured(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clock.Now()
	errs := map[string]error{}
	_, errs["BeginPasskeySignIn"] = e.auth.BeginPasskeySignIn(ctx, "b", false)
	_, _, errs["FinishPasskeySignIn"] = e.auth.FinishPasskeySignIn(ctx, "b", []byte("{}"), pkClient)
	_, errs["BeginPasskeyMFA"] = e.auth.BeginPasskeyMFA(ctx, "t")
	_, _, errs["VerifyPasskeyMFA"] = e.auth.VerifyPasskeyMFA(ctx, "t", []byte("{}"), pkClient)
	_, errs["BeginPasskeyRegistration"] = e.auth.BeginPasskeyRegistration(ctx, "b", "u", now)
	_, errs["FinishPasskeyRegistration"] = e.auth.FinishPasskeyRegistration(ctx, "b", "u", "n", []byte("{}"), pkClient)
	_, errs["ListPasskeys"] = e.auth.ListPasskeys(ctx, "u")
	errs["RenamePasskey"] = e.auth.RenamePasskey(ctx, "u", []byte{1}, "n", pkClient)
	_, errs["RemovePasskey"] = e.auth.RemovePasskey(ctx, "u", []byte{1}, now, nil, "", pkClient)
	_, errs["BeginPasskeyReauth"] = e.auth.BeginPasskeyReauth(ctx, "b", "u")
	_, _, errs["ReauthenticatePasskey"] = e.auth.ReauthenticatePasskey(ctx, "b", "u", "rt", []byte("{}"), middleware.Requirement{}, pkClient)
	for name, err := range errs {
		if !errors.Is(err, authkit.ErrPasskeysNotConfigured) {
			t.Errorf("%s: %v, want ErrPasskeysNotConfigured", name, err)
		}
	}
}

func TestPasskeyRoutesAbsentWithoutConfig(t *testing.T) {
	e := newEnv(t)
	c := e.login(func() string { e.signup("a@example.com"); return "a@example.com" }())
	for _, p := range []string{"/auth/passkey/login/options", "/auth/passkey/login", "/auth/mfa/passkey/options",
		"/auth/mfa/passkey", "/auth/passkeys/register/options", "/auth/passkeys/register", "/auth/passkeys",
		"/auth/passkeys/rename", "/auth/passkeys/remove", "/auth/reauth/passkey/options"} {
		e.expect(c.post(p, map[string]any{}), http.StatusNotFound, middleware.CodeNotFound)
	}
	// The passkey form of /auth/reauth is refused too.
	e.expect(c.reauth(map[string]any{"credential": map[string]any{"id": "x"}}), http.StatusNotFound, middleware.CodeNotFound)
}

func TestPasskeySignInDiscoverableReturnsUserAndAMR(t *testing.T) {
	for _, tc := range []struct {
		name   string
		synced bool
		amr    []string
	}{
		{"device_bound", false, []string{"hwk", "user", "mfa"}},
		{"synced", true, []string{"swk", "user", "mfa"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPasskeyEnv(t)
			e.dev.BackupEligible, e.dev.BackupState = tc.synced, tc.synced
			u := e.user("a@example.com")
			e.register(e.dev, u)
			got, amr, err := e.signIn(e.dev)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != u.ID || !slices.Equal(amr, tc.amr) {
				t.Fatalf("signed in %s with amr %v, want %s with %v", got.ID, amr, u.ID, tc.amr)
			}
			toks, err := e.auth.IssueTokens(context.Background(), got, amr)
			if err != nil {
				t.Fatal(err)
			}
			if cl := e.claims(toks.Access); cl.ACR != middleware.ACRPasskey {
				t.Fatalf("acr %q, want %q", cl.ACR, middleware.ACRPasskey)
			}
			if !hasEvent(e.eventsOf(authkit.EventPasskeySignIn), authkit.OutcomeSuccess, "signin", u.ID) ||
				!hasEvent(e.eventsOf(authkit.EventLoginSuccess), authkit.OutcomeSuccess, "passkey", u.ID) {
				t.Fatalf("events %v", e.events.types())
			}
		})
	}
}

func TestPasskeySignInDisabledAccountRefused(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	if err := e.auth.DisableUser(context.Background(), u.ID, pkClient); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.signIn(e.dev); !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("disabled account: %v, want ErrInvalidCredentials", err)
	}
	if !hasEvent(e.eventsOf(authkit.EventPasskeySignIn), authkit.OutcomeFailure, "signin:disabled", u.ID) {
		t.Fatalf("no failure event: %v", e.eventsOf(authkit.EventPasskeySignIn))
	}
}

// An attacker who locks the login name out with wrong passwords does not
// lock its owner out of a passkey sign-in.
func TestPasskeySignInNotBlockedByPasswordLockout(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	ctx := context.Background()
	attacker := authkit.Client{IP: "203.0.113.9"}
	locked := false
	for range 100 {
		_, err := e.auth.Login(ctx, "a@example.com", "wrong password!", attacker)
		if errors.Is(err, authkit.ErrThrottled) {
			locked = true
			break
		}
	}
	if !locked {
		t.Fatal("the login name never locked")
	}
	if _, err := e.auth.Login(ctx, "a@example.com", goodPassword, pkClient); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("password login while locked: %v, want ErrThrottled", err)
	}
	got, _, err := e.signIn(e.dev)
	if err != nil || got.ID != u.ID {
		t.Fatalf("passkey sign-in while the password is locked: %v %v", got.ID, err)
	}
}

// A user-verified passkey is multi-factor: an account with TOTP enrolled
// signs in with it and is not asked for a code.
func TestPasskeySignInSkipsTOTP(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.enrollTOTP("a@example.com")
	e.register(e.dev, u)
	res, err := e.auth.Login(context.Background(), "a@example.com", goodPassword, pkClient)
	if err != nil || !res.MFARequired() {
		t.Fatalf("password login of a TOTP account: %+v %v, want the MFA step", res, err)
	}
	got, amr, err := e.signIn(e.dev)
	if err != nil || got.ID != u.ID || !slices.Contains(amr, "mfa") {
		t.Fatalf("passkey sign-in: %v %v %v", got.ID, amr, err)
	}
}

// With passkeys counted as one factor, an account with TOTP enrolled is
// refused a passkey-only sign-in (ErrMFARequired); one without signs in
// with a single-factor amr.
func TestPasskeySingleFactorSettingRequiresSecondFactorWhenEnrolled(t *testing.T) {
	e := newPasskeyEnv(t, func(_ *authkit.Config, pc *passkey.Config) { pc.UserVerifiedSingleFactor = true })
	plain := e.user("plain@example.com")
	e.register(e.dev, plain)
	got, amr, err := e.signIn(e.dev)
	if err != nil || got.ID != plain.ID || !slices.Equal(amr, []string{"hwk", "user"}) {
		t.Fatalf("single-factor sign-in: %v %v %v, want amr [hwk user]", got.ID, amr, err)
	}
	strong := e.user("strong@example.com")
	e.enrollTOTP("strong@example.com")
	dev2 := passkeytest.New(pkOrigin)
	e.register(dev2, strong)
	if _, _, err := e.signIn(dev2); !errors.Is(err, authkit.ErrMFARequired) {
		t.Fatalf("single-factor passkey for a TOTP account: %v, want ErrMFARequired", err)
	}
}

// passwordStep runs the password step of a TOTP account and returns the
// MFA token.
func (e *pkEnv) passwordStep(email string) string {
	e.t.Helper()
	res, err := e.auth.Login(context.Background(), email, goodPassword, pkClient)
	if err != nil || !res.MFARequired() {
		e.t.Fatalf("login %s: %+v %v, want the MFA step", email, res, err)
	}
	return res.MFAToken
}

func (e *pkEnv) mfaAssertion(dev *passkeytest.Authenticator, mfaToken string) []byte {
	e.t.Helper()
	o, err := e.auth.BeginPasskeyMFA(context.Background(), mfaToken)
	return e.answer(dev, o, err)
}

func TestPasskeyAsSecondFactorAfterPassword(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	secret := e.enrollTOTP("a@example.com")
	e.register(e.dev, u)
	ctx := context.Background()
	tok := e.passwordStep("a@example.com")
	got, amr, err := e.auth.VerifyPasskeyMFA(ctx, tok, e.mfaAssertion(e.dev, tok), pkClient)
	if err != nil || got.ID != u.ID {
		t.Fatalf("VerifyPasskeyMFA: %v %v", got.ID, err)
	}
	if want := []string{"pwd", "hwk", "user", "mfa"}; !slices.Equal(amr, want) {
		t.Fatalf("amr %v, want %v", amr, want)
	}
	// The MFA token is spent: neither a code nor another passkey finishes
	// it again.
	e.clock.Advance(30 * time.Second)
	if _, err := e.auth.VerifyMFA(ctx, tok, e.code(secret), pkClient); !errors.Is(err, authkit.ErrInvalidCode) {
		t.Fatalf("TOTP on a spent token: %v, want ErrInvalidCode", err)
	}
	if _, _, err := e.auth.VerifyPasskeyMFA(ctx, tok, e.mfaAssertion(e.dev, tok), pkClient); !errors.Is(err, authkit.ErrInvalidCode) {
		t.Fatalf("passkey on a spent token: %v, want ErrInvalidCode", err)
	}
}

// The MFA token binds the step to the account that passed the password:
// a passkey of another account is refused, and the token stays usable.
func TestPasskeyMFARefusesAnotherUsersCredential(t *testing.T) {
	e := newPasskeyEnv(t)
	victim := e.user("victim@example.com")
	secret := e.enrollTOTP("victim@example.com")
	e.register(e.dev, victim)
	attacker := e.user("attacker@example.com")
	attackerDev := passkeytest.New(pkOrigin)
	attackerID := e.register(attackerDev, attacker)
	tok := e.passwordStep("victim@example.com")
	o, err := e.auth.BeginPasskeyMFA(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	attackerDev.Select = attackerID
	resp, err := attackerDev.Get(o.JSON)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.auth.VerifyPasskeyMFA(context.Background(), tok, resp, pkClient)
	if !errors.Is(err, authkit.ErrInvalidCredentials) || !errors.Is(err, passkey.ErrWrongUser) {
		t.Fatalf("another account's passkey: %v, want ErrInvalidCredentials and passkey.ErrWrongUser", err)
	}
	e.clock.Advance(30 * time.Second) // the enrollment spent the current code
	if got, err := e.auth.VerifyMFA(context.Background(), tok, e.code(secret), pkClient); err != nil || got.ID != victim.ID {
		t.Fatalf("the victim's own code after the refusal: %v %v", got.ID, err)
	}
}

// A passkey ceremony begun with one MFA token cannot finish another.
func TestPasskeyMFACeremonyBoundToItsToken(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.enrollTOTP("a@example.com")
	e.register(e.dev, u)
	tok1 := e.passwordStep("a@example.com")
	tok2 := e.passwordStep("a@example.com")
	_, _, err := e.auth.VerifyPasskeyMFA(context.Background(), tok2, e.mfaAssertion(e.dev, tok1), pkClient)
	if !errors.Is(err, passkey.ErrBindingMismatch) {
		t.Fatalf("assertion of tok1's ceremony with tok2: %v, want passkey.ErrBindingMismatch", err)
	}
	if _, err := e.auth.BeginPasskeyMFA(context.Background(), tok1+"x"); !errors.Is(err, authkit.ErrInvalidCode) {
		t.Fatalf("forged MFA token: %v, want ErrInvalidCode", err)
	}
}

func TestPasskeyRegistrationNeedsRecentSignIn(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	stale := e.clock.Now().Add(-11 * time.Minute)
	if _, err := e.auth.BeginPasskeyRegistration(context.Background(), "b", u.ID, stale); !errors.Is(err, authkit.ErrReauthRequired) {
		t.Fatalf("stale sign-in: %v, want ErrReauthRequired", err)
	}
	if _, err := e.auth.BeginPasskeyRegistration(context.Background(), "b", u.ID, time.Time{}); !errors.Is(err, authkit.ErrReauthRequired) {
		t.Fatalf("no sign-in time: %v, want ErrReauthRequired", err)
	}
}

// TestPasskeyRegistrationFinishRefusedAfterDisable: an account disabled
// while its registration ceremony was open gets no passkey.
func TestPasskeyRegistrationFinishRefusedAfterDisable(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	ctx := context.Background()
	o, err := e.auth.BeginPasskeyRegistration(ctx, "b", u.ID, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := e.dev.Create(o.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.auth.DisableUser(ctx, u.ID, pkClient); err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.FinishPasskeyRegistration(ctx, "b", u.ID, "Laptop", resp, pkClient); !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("finish after disable: %v, want ErrInvalidCredentials", err)
	}
	if list, err := e.auth.ListPasskeys(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("passkeys of the disabled account: %v %v", list, err)
	}
}

// A registration finishes only with the binding and the user it began
// with.
func TestPasskeyRegistrationBoundToBindingAndUser(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	other := e.user("b@example.com")
	ctx := context.Background()
	for _, tc := range []struct {
		name            string
		binding, userID string
		want            error
	}{
		{"other_binding", "browser-b", u.ID, passkey.ErrBindingMismatch},
		{"other_user", "browser-a", other.ID, passkey.ErrWrongUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := e.auth.BeginPasskeyRegistration(ctx, "browser-a", u.ID, e.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			resp, _, err := e.dev.Create(o.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.auth.FinishPasskeyRegistration(ctx, tc.binding, tc.userID, "Laptop", resp, pkClient); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if list, _ := e.auth.ListPasskeys(ctx, other.ID); len(list) != 0 {
		t.Fatalf("the other user got %d passkeys", len(list))
	}
}

func TestPasskeyUserHandleStablePerUser(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	e.register(passkeytest.New(pkOrigin), u)
	other := e.user("b@example.com")
	e.register(passkeytest.New(pkOrigin), other)
	list, err := e.auth.ListPasskeys(context.Background(), u.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	if string(list[0].UserHandle) != string(list[1].UserHandle) || len(list[0].UserHandle) == 0 {
		t.Fatalf("user handles differ: %x %x", list[0].UserHandle, list[1].UserHandle)
	}
	if string(list[0].UserHandle) == u.ID {
		t.Fatal("the user handle is the user id")
	}
	ol, _ := e.auth.ListPasskeys(context.Background(), other.ID)
	if string(ol[0].UserHandle) == string(list[0].UserHandle) {
		t.Fatal("two users share a user handle")
	}
}

// An account without a password keeps its last passkey: removing it is
// refused with ErrLastSignInMethod, whatever proof comes with it.
func TestPasskeyRemoveLastSignInMethodRefused(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.passwordless("ext-1", "ext@example.com")
	id := e.register(e.dev, u)
	_, err := e.auth.RemovePasskey(context.Background(), u.ID, id, e.clock.Now(), []string{"hwk", "user", "mfa"}, "", pkClient)
	if !errors.Is(err, authkit.ErrLastSignInMethod) {
		t.Fatalf("last passkey of a passwordless account: %v, want ErrLastSignInMethod", err)
	}
	if list, _ := e.auth.ListPasskeys(context.Background(), u.ID); len(list) != 1 {
		t.Fatalf("%d passkeys left, want 1", len(list))
	}
	// With a second passkey, one of them may go.
	id2 := e.register(passkeytest.New(pkOrigin), u)
	if _, err := e.auth.RemovePasskey(context.Background(), u.ID, id2, e.clock.Now(), []string{"hwk", "user", "mfa"}, "", pkClient); err != nil {
		t.Fatalf("removing one of two: %v", err)
	}
	if !hasEvent(e.eventsOf(authkit.EventPasskeyRemoved), authkit.OutcomeFailure, "last_sign_in_method", u.ID) ||
		!hasEvent(e.eventsOf(authkit.EventPasskeyRemoved), authkit.OutcomeSuccess, "", u.ID) {
		t.Fatalf("events: %v", e.eventsOf(authkit.EventPasskeyRemoved))
	}
}

// Concurrent removals of the two passkeys of a passwordless account leave
// one: the store decides the last one atomically.
func TestPasskeyRemoveLastSignInMethodAtomic(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.passwordless("ext-1", "ext@example.com")
	ids := [][]byte{e.register(e.dev, u), e.register(passkeytest.New(pkOrigin), u)}
	errs := make(chan error, 2)
	for _, id := range ids {
		go func() {
			_, err := e.auth.RemovePasskey(context.Background(), u.ID, id, e.clock.Now(), []string{"hwk", "mfa"}, "", pkClient)
			errs <- err
		}()
	}
	refused := 0
	for range ids {
		if err := <-errs; errors.Is(err, authkit.ErrLastSignInMethod) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if list, _ := e.auth.ListPasskeys(context.Background(), u.ID); refused != 1 || len(list) != 1 {
		t.Fatalf("%d refused, %d left; want 1 and 1", refused, len(list))
	}
}

// Two concurrent removals of an account's last two passkeys, from a
// password-only sign-in, cannot both skip the current-factor rule: the
// store keeps the last one and that removal asks for the factor.
func TestConcurrentRemovalsOfLastTwoPasskeysKeepOneWithoutFactor(t *testing.T) {
	for round := range 10 {
		e := newPasskeyEnv(t)
		u := e.user(fmt.Sprintf("r%d@example.com", round))
		ids := [][]byte{e.register(e.dev, u), e.register(passkeytest.New(pkOrigin), u)}
		errs := make(chan error, 2)
		for _, id := range ids {
			go func() {
				_, err := e.auth.RemovePasskey(context.Background(), u.ID, id, e.clock.Now(), []string{"pwd"}, "", pkClient)
				errs <- err
			}()
		}
		asked := 0
		for range ids {
			if err := <-errs; errors.Is(err, authkit.ErrMFARequired) {
				asked++
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if list, _ := e.auth.ListPasskeys(context.Background(), u.ID); asked != 1 || len(list) != 1 {
			t.Fatalf("round %d: %d asked for a factor, %d left; want 1 and 1", round, asked, len(list))
		}
	}
}

// Removing a passkey follows the rule of replacing TOTP: with TOTP
// enrolled, or for the last passkey, a password-only sign-in must add the
// current factor.
func TestPasskeyRemoveNeedsCurrentFactor(t *testing.T) {
	ctx := context.Background()
	t.Run("totp_enrolled", func(t *testing.T) {
		e := newPasskeyEnv(t)
		u := e.user("a@example.com")
		secret := e.enrollTOTP("a@example.com")
		id := e.register(e.dev, u)
		id2 := e.register(passkeytest.New(pkOrigin), u)
		pwd := []string{"pwd"}
		if _, err := e.auth.RemovePasskey(ctx, u.ID, id, e.clock.Now(), pwd, "", pkClient); !errors.Is(err, authkit.ErrMFARequired) {
			t.Fatalf("no factor: %v, want ErrMFARequired", err)
		}
		if _, err := e.auth.RemovePasskey(ctx, u.ID, id, e.clock.Now(), pwd, "000000", pkClient); !errors.Is(err, authkit.ErrInvalidCode) {
			t.Fatalf("wrong code: %v, want ErrInvalidCode", err)
		}
		e.clock.Advance(30 * time.Second) // the enrollment spent the current code
		if _, err := e.auth.RemovePasskey(ctx, u.ID, id, e.clock.Now(), pwd, e.code(secret), pkClient); err != nil {
			t.Fatalf("with a code: %v", err)
		}
		if _, err := e.auth.RemovePasskey(ctx, u.ID, id2, e.clock.Now(), []string{"pwd", "otp"}, "", pkClient); err != nil {
			t.Fatalf("after a sign-in with TOTP: %v", err)
		}
	})
	t.Run("last_passkey", func(t *testing.T) {
		e := newPasskeyEnv(t)
		u := e.user("a@example.com")
		id := e.register(e.dev, u)
		if _, err := e.auth.RemovePasskey(ctx, u.ID, id, e.clock.Now(), []string{"pwd"}, "", pkClient); !errors.Is(err, authkit.ErrMFARequired) {
			t.Fatalf("last passkey after a password sign-in: %v, want ErrMFARequired", err)
		}
		if _, err := e.auth.RemovePasskey(ctx, u.ID, id, e.clock.Now(), []string{"hwk", "user", "mfa"}, "", pkClient); err != nil {
			t.Fatalf("last passkey after a passkey sign-in (the account keeps its password): %v", err)
		}
	})
	t.Run("not_recent", func(t *testing.T) {
		e := newPasskeyEnv(t)
		u := e.user("a@example.com")
		id := e.register(e.dev, u)
		stale := e.clock.Now().Add(-time.Hour)
		if _, err := e.auth.RemovePasskey(ctx, u.ID, id, stale, []string{"hwk", "mfa"}, "", pkClient); !errors.Is(err, authkit.ErrReauthRequired) {
			t.Fatalf("stale sign-in: %v, want ErrReauthRequired", err)
		}
	})
	t.Run("another_users_passkey", func(t *testing.T) {
		e := newPasskeyEnv(t)
		u := e.user("a@example.com")
		other := e.user("b@example.com")
		id := e.register(e.dev, other)
		if _, err := e.auth.RemovePasskey(ctx, u.ID, id, e.clock.Now(), []string{"hwk", "mfa"}, "", pkClient); !errors.Is(err, passkey.ErrNotFound) {
			t.Fatalf("removing another user's passkey: %v, want passkey.ErrNotFound", err)
		}
	})
}

func TestPasskeyRemoveReturnsSignalPayloads(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	id := e.register(e.dev, u)
	keep := e.register(passkeytest.New(pkOrigin), u)
	rm, err := e.auth.RemovePasskey(context.Background(), u.ID, id, e.clock.Now(), []string{"hwk", "mfa"}, "", pkClient)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := e.auth.ListPasskeys(context.Background(), u.ID)
	b64 := base64.RawURLEncoding.EncodeToString
	if rm.Unknown.RPID != "example.com" || rm.Unknown.CredentialID != b64(id) ||
		rm.AllAccepted.RPID != "example.com" || rm.AllAccepted.UserID != b64(list[0].UserHandle) ||
		!slices.Equal(rm.AllAccepted.AllAcceptedCredentialIDs, []string{b64(keep)}) {
		t.Fatalf("removal %+v", rm)
	}
}

// An account created without a password (an external provider's) adds a
// passkey and signs in with it; the password paths keep refusing it.
func TestPasskeyAccountWithoutPasswordSignsIn(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.passwordless("ext-1", "ext@example.com")
	e.register(e.dev, u)
	got, _, err := e.signIn(e.dev)
	if err != nil || got.ID != u.ID {
		t.Fatalf("passkey sign-in: %v %v", got.ID, err)
	}
	ctx := context.Background()
	if _, err := e.auth.Login(ctx, "ext@example.com", "", pkClient); !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("password login: %v, want ErrInvalidCredentials", err)
	}
	if _, err := e.auth.ChangePassword(ctx, u.ID, "", "a brand new password", pkClient); !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("ChangePassword: %v, want ErrInvalidCredentials", err)
	}
}

// A cloned authenticator (its signature counter did not move forward) is
// refused and audited.
func TestPasskeyClonedAuthenticatorRefusedAndAudited(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	id := e.register(e.dev, u)
	if _, _, err := e.signIn(e.dev); err != nil {
		t.Fatal(err)
	}
	e.dev.SetCounter(id, 0) // the clone answers with counter 1 again
	_, _, err := e.signIn(e.dev)
	if !errors.Is(err, authkit.ErrInvalidCredentials) || !errors.Is(err, passkey.ErrClonedAuthenticator) {
		t.Fatalf("counter rollback: %v, want ErrInvalidCredentials and passkey.ErrClonedAuthenticator", err)
	}
	if !hasEvent(e.eventsOf(authkit.EventPasskeyCloned), authkit.OutcomeFailure, "signin", u.ID) ||
		!hasEvent(e.eventsOf(authkit.EventPasskeySignIn), authkit.OutcomeFailure, "signin:cloned", u.ID) {
		t.Fatalf("events: %v", e.events.types())
	}
}

func TestPasskeyRegistrationAudited(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	o, err := e.auth.BeginPasskeyRegistration(context.Background(), "b", u.ID, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := passkeytest.New("https://evil.example.net").Create(o.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.FinishPasskeyRegistration(context.Background(), "b", u.ID, "Evil", resp, pkClient); !errors.Is(err, passkey.ErrWrongOrigin) {
		t.Fatalf("wrong origin: %v", err)
	}
	evs := e.eventsOf(authkit.EventPasskeyAdded)
	if !hasEvent(evs, authkit.OutcomeSuccess, "", u.ID) || !hasEvent(evs, authkit.OutcomeFailure, "wrong_origin", u.ID) {
		t.Fatalf("events: %+v", evs)
	}
}

// Attacks on the sign-in, each refused with ErrInvalidCredentials and the
// passkey error that names it, and audited.
func TestPasskeySignInAttacksRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attack func(e *pkEnv) []byte // returns the response to finish under "browser-a"
		want   error
		reason string
	}{
		{"replayed_assertion", func(e *pkEnv) []byte {
			resp := e.assertion(e.dev, "browser-a")
			if _, _, err := e.auth.FinishPasskeySignIn(context.Background(), "browser-a", resp, pkClient); err != nil {
				e.t.Fatal(err)
			}
			return resp
		}, passkey.ErrReplay, "signin:replay"},
		{"challenge_from_another_browser", func(e *pkEnv) []byte {
			return e.assertion(e.dev, "browser-b")
		}, passkey.ErrBindingMismatch, "signin:binding_mismatch"},
		{"wrong_origin", func(e *pkEnv) []byte {
			e.dev.Origin = "https://login.example.com.evil.net"
			return e.assertion(e.dev, "browser-a")
		}, passkey.ErrWrongOrigin, "signin:wrong_origin"},
		{"wrong_rp_id", func(e *pkEnv) []byte {
			e.dev.RPID = "evil.net"
			return e.assertion(e.dev, "browser-a")
		}, passkey.ErrWrongRPID, "signin:wrong_rp_id"},
		{"unknown_credential", func(e *pkEnv) []byte {
			resp := e.assertion(e.dev, "browser-a")
			list, _ := e.auth.ListPasskeys(context.Background(), e.byLogin("a@example.com").ID)
			if _, err := e.creds.Remove(context.Background(), list[0].UserID, list[0].ID, false); err != nil {
				e.t.Fatal(err)
			}
			return resp
		}, passkey.ErrUnknownCredential, "signin:unknown_credential"},
		{"no_user_verification", func(e *pkEnv) []byte {
			e.dev.UserVerified = false
			return e.assertion(e.dev, "browser-a")
		}, passkey.ErrUserVerification, "signin:user_verification"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPasskeyEnv(t)
			u := e.user("a@example.com")
			e.register(e.dev, u)
			resp := tc.attack(e)
			_, _, err := e.auth.FinishPasskeySignIn(context.Background(), "browser-a", resp, pkClient)
			if !errors.Is(err, authkit.ErrInvalidCredentials) || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want ErrInvalidCredentials and %v", err, tc.want)
			}
			if !slices.ContainsFunc(e.eventsOf(authkit.EventPasskeySignIn), func(ev authkit.Event) bool {
				return ev.Outcome == authkit.OutcomeFailure && ev.Reason == tc.reason
			}) {
				t.Fatalf("no failure event %q: %+v", tc.reason, e.eventsOf(authkit.EventPasskeySignIn))
			}
		})
	}
}

// unknownCredentialSignal: the refusal of a deleted credential carries the
// signalUnknownCredential payload.
func TestPasskeyUnknownCredentialCarriesSignal(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	id := e.register(e.dev, u)
	if _, err := e.creds.Remove(context.Background(), u.ID, id, false); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.signIn(e.dev)
	ue, ok := errors.AsType[*passkey.UnknownCredentialError](err)
	if !ok || ue.Signal.CredentialID != base64.RawURLEncoding.EncodeToString(id) || ue.Signal.RPID != "example.com" {
		t.Fatalf("got %v, want an UnknownCredentialError for %x", err, id)
	}
}

func TestReauthenticatePasskeyFreshAuthTimeAndACRSameFamily(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	ctx := context.Background()
	toks, err := e.auth.IssueTokens(ctx, u, []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	toks, _, err = e.auth.Refresh(ctx, toks.Refresh, pkClient)
	if err != nil {
		t.Fatal(err)
	}
	resp := e.reauthAssertion(e.dev, "session-1", u.ID)
	want := middleware.Requirement{ACR: middleware.ACRPasskey, MaxAge: middleware.AlwaysReauthenticate}
	got, gu, err := e.auth.ReauthenticatePasskey(ctx, "session-1", u.ID, toks.Refresh, resp, want, pkClient)
	if err != nil || gu.ID != u.ID {
		t.Fatalf("ReauthenticatePasskey: %v", err)
	}
	cl := e.claims(got.Access)
	if !cl.AuthTime.Equal(e.clock.Now().Truncate(time.Second)) || cl.ACR != middleware.ACRPasskey || !slices.Equal(cl.AMR, []string{"hwk", "user", "mfa"}) {
		t.Fatalf("claims auth_time %v acr %q amr %v", cl.AuthTime, cl.ACR, cl.AMR)
	}
	if got.Refresh != toks.Refresh {
		t.Fatal("the refresh token changed")
	}
	// The family carries the new sign-in through a refresh.
	e.clock.Advance(time.Minute)
	next, _, err := e.auth.Refresh(ctx, got.Refresh, pkClient)
	if err != nil {
		t.Fatal(err)
	}
	if ncl := e.claims(next.Access); !ncl.AuthTime.Equal(cl.AuthTime) || ncl.ACR != middleware.ACRPasskey {
		t.Fatalf("after refresh: auth_time %v acr %q", ncl.AuthTime, ncl.ACR)
	}
	if !e.auth.Recent(cl.AuthTime) {
		t.Fatal("the re-authentication is not recent")
	}
}

func TestReauthenticatePasskeyRefusesAnotherUsersCredential(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	other := e.user("b@example.com")
	otherDev := passkeytest.New(pkOrigin)
	otherID := e.register(otherDev, other)
	ctx := context.Background()
	toks, err := e.auth.IssueTokens(ctx, u, []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	otherDev.Select = otherID
	resp := e.reauthAssertion(otherDev, "session-1", u.ID)
	_, _, err = e.auth.ReauthenticatePasskey(ctx, "session-1", u.ID, toks.Refresh, resp, middleware.Requirement{}, pkClient)
	if !errors.Is(err, authkit.ErrInvalidCredentials) || !errors.Is(err, passkey.ErrWrongUser) {
		t.Fatalf("another user's passkey: %v, want ErrInvalidCredentials and passkey.ErrWrongUser", err)
	}
	// And a ceremony begun for the other user cannot re-authenticate u.
	resp = e.reauthAssertion(otherDev, "session-1", other.ID)
	_, _, err = e.auth.ReauthenticatePasskey(ctx, "session-1", u.ID, toks.Refresh, resp, middleware.Requirement{}, pkClient)
	if !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("other user's ceremony: %v, want ErrInvalidCredentials", err)
	}
}

func TestReauthenticatePasskeyUnknownLevelAndForeignRefreshToken(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	other := e.user("b@example.com")
	ctx := context.Background()
	if _, _, err := e.auth.ReauthenticatePasskey(ctx, "s", u.ID, "rt", nil, middleware.Requirement{ACR: "urn:gold"}, pkClient); !errors.Is(err, authkit.ErrStepUpUnavailable) {
		t.Fatalf("unknown acr: %v, want ErrStepUpUnavailable", err)
	}
	otherToks, err := e.auth.IssueTokens(ctx, other, []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	resp := e.reauthAssertion(e.dev, "s", u.ID)
	if _, _, err := e.auth.ReauthenticatePasskey(ctx, "s", u.ID, otherToks.Refresh, resp, middleware.Requirement{}, pkClient); !errors.Is(err, authkit.ErrInvalidToken) {
		t.Fatalf("another user's refresh token: %v, want ErrInvalidToken", err)
	}
}

// --- HTTP ---

// optionsOf returns the "options" member of an answer as JSON.
func optionsOf(t *testing.T, r resp) []byte {
	t.Helper()
	b, err := json.Marshal(r.body["options"])
	if err != nil || r.body["options"] == nil {
		t.Fatalf("no options in %s", r.raw)
	}
	if _, err := time.Parse(time.RFC3339, r.body["expires_at"].(string)); err != nil {
		t.Fatalf("expires_at: %v", err)
	}
	return b
}

// httpSignIn runs the username-less sign-in over HTTP for c.
func (e *pkEnv) httpSignIn(c *client, dev *passkeytest.Authenticator) resp {
	e.t.Helper()
	r := c.post("/auth/passkey/login/options", map[string]any{"conditional": true})
	e.expect(r, http.StatusOK, "")
	resp, err := dev.Get(optionsOf(e.t, r))
	if err != nil {
		e.t.Fatal(err)
	}
	body := map[string]any{"credential": json.RawMessage(resp)}
	if b, ok := r.body["binding"].(string); ok {
		body["binding"] = b
	}
	return c.post("/auth/passkey/login", body)
}

func TestPasskeyHTTPSignIn(t *testing.T) {
	eachMount(t, func(t *testing.T, m mount) {
		e := newPasskeyEnvAt(t, m)
		u := e.user("a@example.com")
		e.register(e.dev, u)
		c := e.client()
		r := c.post("/auth/passkey/login/options", map[string]any{"conditional": true})
		e.expect(r, http.StatusOK, "")
		var opts struct {
			PublicKey struct {
				RPID             string `json:"rpId"`
				UserVerification string `json:"userVerification"`
			} `json:"publicKey"`
			Mediation string `json:"mediation"`
		}
		if err := json.Unmarshal(optionsOf(t, r), &opts); err != nil {
			t.Fatal(err)
		}
		if opts.PublicKey.RPID != "example.com" || opts.Mediation != "conditional" || opts.PublicKey.UserVerification != "required" {
			t.Fatalf("options %s", r.raw)
		}
		if m.delivery == authkit.DeliverBody {
			if b, _ := r.body["binding"].(string); len(b) != 43 {
				t.Fatalf("body delivery: binding %q", b)
			}
		} else {
			ck := r.cookies[authkit.WebAuthnCookie]
			if ck == nil || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" ||
				ck.MaxAge != 300 || len(ck.Value) != 43 || r.body["binding"] != nil {
				t.Fatalf("binding cookie %+v, body %s", ck, r.raw)
			}
		}
		resp, err := e.dev.Get(optionsOf(t, r))
		if err != nil {
			t.Fatal(err)
		}
		body := map[string]any{"credential": json.RawMessage(resp)}
		if b, ok := r.body["binding"].(string); ok {
			body["binding"] = b
		}
		r = c.post("/auth/passkey/login", body)
		e.expect(r, http.StatusOK, "")
		if r.body["user"].(map[string]any)["id"] != u.ID || r.access == "" || r.refresh == "" {
			t.Fatalf("sign-in answer %s", r.raw)
		}
		if m.delivery != authkit.DeliverBody {
			if ck := r.cookies[authkit.WebAuthnCookie]; ck == nil || ck.MaxAge >= 0 {
				t.Fatalf("binding cookie not cleared: %+v", ck)
			}
		}
		if cl := e.claims(r.access); cl.ACR != middleware.ACRPasskey || cl.Subject != u.ID {
			t.Fatalf("claims %+v", cl)
		}
		// The same assertion again is refused.
		if m.delivery != authkit.DeliverBody {
			r = c.post("/auth/passkey/login", body)
			e.expect(r, http.StatusUnauthorized, middleware.CodeInvalidCredentials)
		}
	})
}

// A ceremony begun in one browser cannot be finished in another: the
// binding cookie differs.
func TestPasskeyHTTPChallengeFromAnotherBrowserRefused(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	victim, attacker := e.client(), e.client()
	r := victim.post("/auth/passkey/login/options", map[string]any{})
	e.expect(r, http.StatusOK, "")
	resp, err := e.dev.Get(optionsOf(t, r))
	if err != nil {
		t.Fatal(err)
	}
	e.expect(attacker.post("/auth/passkey/login/options", map[string]any{}), http.StatusOK, "")
	r = attacker.post("/auth/passkey/login", map[string]any{"credential": json.RawMessage(resp)})
	e.expect(r, http.StatusUnauthorized, middleware.CodeInvalidCredentials)
	if r.access != "" {
		t.Fatal("tokens handed out")
	}
	// Without any binding cookie too.
	r = e.client().post("/auth/passkey/login", map[string]any{"credential": json.RawMessage(resp)})
	e.expect(r, http.StatusUnauthorized, middleware.CodeInvalidCredentials)
}

// A conditional offer whose challenge expired while the page sat open gets
// a fresh one for the same browser, which then signs in.
func TestPasskeyHTTPChallengeExpiredGetsFreshOptions(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	c := e.client()
	r := c.post("/auth/passkey/login/options", map[string]any{"conditional": true})
	e.expect(r, http.StatusOK, "")
	e.clock.Advance(6 * time.Minute)
	resp, err := e.dev.Get(optionsOf(t, r))
	if err != nil {
		t.Fatal(err)
	}
	r = c.post("/auth/passkey/login", map[string]any{"credential": json.RawMessage(resp)})
	e.expect(r, http.StatusConflict, middleware.CodeChallengeExpired)
	if ck := r.cookies[authkit.WebAuthnCookie]; ck == nil || ck.MaxAge != 300 {
		t.Fatalf("binding cookie not renewed: %+v", ck)
	}
	resp, err = e.dev.Get(optionsOf(t, r))
	if err != nil {
		t.Fatal(err)
	}
	r = c.post("/auth/passkey/login", map[string]any{"credential": json.RawMessage(resp)})
	e.expect(r, http.StatusOK, "")
}

func TestPasskeyHTTPUnknownCredentialAnswersSignal(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	id := e.register(e.dev, u)
	if _, err := e.creds.Remove(context.Background(), u.ID, id, false); err != nil {
		t.Fatal(err)
	}
	r := e.httpSignIn(e.client(), e.dev)
	e.expect(r, http.StatusUnauthorized, middleware.CodeInvalidCredentials)
	sig, _ := r.body["signal"].(map[string]any)["unknown"].(map[string]any)
	if sig["rpId"] != "example.com" || sig["credentialId"] != base64.RawURLEncoding.EncodeToString(id) {
		t.Fatalf("answer %s", r.raw)
	}
}

func TestPasskeyHTTPRegisterListRenameRemove(t *testing.T) {
	eachMount(t, func(t *testing.T, m mount) {
		e := newPasskeyEnvAt(t, m)
		e.signup("a@example.com")
		c := e.login("a@example.com")
		r := c.post("/auth/passkeys/register/options", nil)
		e.expect(r, http.StatusOK, "")
		resp, id, err := e.dev.Create(optionsOf(t, r))
		if err != nil {
			t.Fatal(err)
		}
		r = c.post("/auth/passkeys/register", map[string]any{"name": "Laptop", "credential": json.RawMessage(resp)})
		e.expect(r, http.StatusCreated, "")
		pk := r.body["passkey"].(map[string]any)
		sid := base64.RawURLEncoding.EncodeToString(id)
		if pk["id"] != sid || pk["name"] != "Laptop" || pk["last_used_at"] != nil || pk["backup_eligible"] != false {
			t.Fatalf("passkey %s", r.raw)
		}
		e.expect(c.post("/auth/passkeys/rename", map[string]any{"id": sid, "name": "Work laptop"}), http.StatusNoContent, "")
		e.expect(c.post("/auth/passkeys/rename", map[string]any{"id": sid, "name": ""}), http.StatusBadRequest, middleware.CodeInvalidRequest)
		e.expect(c.post("/auth/passkeys/rename", map[string]any{"id": "AAAA", "name": "x"}), http.StatusNotFound, middleware.CodeNotFound)
		e.expect(c.post("/auth/passkeys/rename", map[string]any{"id": "!!", "name": "x"}), http.StatusBadRequest, middleware.CodeInvalidRequest)
		// Signing in with it sets last_used_at.
		e.expect(e.httpSignIn(e.client(), e.dev), http.StatusOK, "")
		r = c.post("/auth/passkeys", nil)
		e.expect(r, http.StatusOK, "")
		list := r.body["passkeys"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["name"] != "Work laptop" || list[0].(map[string]any)["last_used_at"] == nil {
			t.Fatalf("list %s", r.raw)
		}
		// The last passkey of an account with a password, after a
		// password-only sign-in: the factor is due.
		e.expect(c.post("/auth/passkeys/remove", map[string]any{"id": sid}), http.StatusUnauthorized, middleware.CodeMFARequired)
		pc := e.client()
		e.expect(e.httpSignIn(pc, e.dev), http.StatusOK, "")
		r = pc.post("/auth/passkeys/remove", map[string]any{"id": sid})
		e.expect(r, http.StatusOK, "")
		sig := r.body["signal"].(map[string]any)
		if sig["unknown"].(map[string]any)["credentialId"] != sid ||
			len(sig["all_accepted"].(map[string]any)["allAcceptedCredentialIds"].([]any)) != 0 {
			t.Fatalf("remove answer %s", r.raw)
		}
		r = c.post("/auth/passkeys", nil)
		if list := r.body["passkeys"].([]any); len(list) != 0 {
			t.Fatalf("list after removal %s", r.raw)
		}
	})
}

func TestPasskeyHTTPRegistrationNeedsRecentSignIn(t *testing.T) {
	e := newPasskeyEnv(t)
	e.signup("a@example.com")
	c := e.login("a@example.com")
	e.clock.Advance(11 * time.Minute)
	e.expect(c.post("/auth/passkeys/register/options", nil), http.StatusUnauthorized, middleware.CodeReauthRequired)
}

// A registration begun with one access token cannot be finished with
// another one of the same user (another browser).
func TestPasskeyHTTPRegistrationBoundToAccessToken(t *testing.T) {
	e := newPasskeyEnv(t)
	e.signup("a@example.com")
	c1 := e.login("a@example.com")
	c2 := e.login("a@example.com")
	r := c1.post("/auth/passkeys/register/options", nil)
	e.expect(r, http.StatusOK, "")
	resp, _, err := e.dev.Create(optionsOf(t, r))
	if err != nil {
		t.Fatal(err)
	}
	e.expect(c2.post("/auth/passkeys/register", map[string]any{"name": "x", "credential": json.RawMessage(resp)}),
		http.StatusBadRequest, middleware.CodeInvalidRequest)
	if list, _ := e.auth.ListPasskeys(context.Background(), e.byLogin("a@example.com").ID); len(list) != 0 {
		t.Fatalf("%d passkeys registered", len(list))
	}
}

func TestPasskeyHTTPRemoveLastSignInMethod(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.passwordless("ext-1", "ext@example.com")
	id := e.register(e.dev, u)
	c := e.client()
	e.expect(e.httpSignIn(c, e.dev), http.StatusOK, "")
	e.expect(c.post("/auth/passkeys/remove", map[string]any{"id": base64.RawURLEncoding.EncodeToString(id)}),
		http.StatusConflict, middleware.CodeLastSignInMethod)
}

func TestPasskeyHTTPSecondFactor(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.enrollTOTP("a@example.com")
	e.register(e.dev, u)
	c := e.client()
	r := c.post("/auth/login", map[string]string{"email": "a@example.com", "password": goodPassword})
	e.expect(r, http.StatusOK, "")
	tok, _ := r.body["mfa_token"].(string)
	if tok == "" {
		t.Fatalf("login answer %s", r.raw)
	}
	r = c.post("/auth/mfa/passkey/options", map[string]any{"mfa_token": tok})
	e.expect(r, http.StatusOK, "")
	resp, err := e.dev.Get(optionsOf(t, r))
	if err != nil {
		t.Fatal(err)
	}
	r = c.post("/auth/mfa/passkey", map[string]any{"mfa_token": tok, "credential": json.RawMessage(resp)})
	e.expect(r, http.StatusOK, "")
	if cl := e.claims(r.access); cl.Subject != u.ID || !slices.Equal(cl.AMR, []string{"pwd", "hwk", "user", "mfa"}) {
		t.Fatalf("claims %+v", cl)
	}
	if r.cookies[authkit.DeviceCookie] == nil {
		t.Fatal("no device cookie")
	}
	e.expect(c.post("/auth/mfa/passkey/options", map[string]any{"mfa_token": "mfa_x.y.z"}), http.StatusUnauthorized, middleware.CodeInvalidCode)
}

func TestPasskeyHTTPReauth(t *testing.T) {
	eachMount(t, func(t *testing.T, m mount) {
		e := newPasskeyEnvAt(t, m)
		u := e.user("a@example.com")
		e.register(e.dev, u)
		c := e.login("a@example.com")
		e.clock.Advance(5 * time.Minute)
		r := c.post("/auth/reauth/passkey/options", nil)
		e.expect(r, http.StatusOK, "")
		resp, err := e.dev.Get(optionsOf(t, r))
		if err != nil {
			t.Fatal(err)
		}
		oldRefresh := c.refreshToken()
		r = c.reauth(map[string]any{"credential": json.RawMessage(resp), "acr_values": "passkey", "max_age": 0})
		e.expect(r, http.StatusOK, "")
		cl := e.claims(r.access)
		if cl.ACR != middleware.ACRPasskey || !cl.AuthTime.Equal(e.clock.Now().Truncate(time.Second)) {
			t.Fatalf("claims acr %q auth_time %v", cl.ACR, cl.AuthTime)
		}
		if c.refreshToken() != oldRefresh {
			t.Fatal("the refresh token changed")
		}
		// The same assertion again is refused.
		r = c.reauth(map[string]any{"credential": json.RawMessage(resp)})
		e.expect(r, http.StatusUnauthorized, middleware.CodeInvalidCredentials)
	})
}

// MFARequired and StepUpUnavailable have their own answers on every
// route that can give them.
func TestHandlerMapsMFARequiredAndStepUpUnavailable(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	c := e.login("a@example.com")
	r := c.post("/auth/reauth/passkey/options", nil)
	e.expect(r, http.StatusOK, "")
	resp, err := e.dev.Get(optionsOf(t, r))
	if err != nil {
		t.Fatal(err)
	}
	e.expect(c.reauth(map[string]any{"credential": json.RawMessage(resp), "acr_values": "urn:gold"}),
		http.StatusForbidden, middleware.CodeInsufficientUserAuthentication)
	id := base64.RawURLEncoding.EncodeToString(e.byLoginPasskeys("a@example.com")[0].ID)
	e.expect(c.post("/auth/passkeys/remove", map[string]any{"id": id}), http.StatusUnauthorized, middleware.CodeMFARequired)
}

func (e *pkEnv) byLoginPasskeys(email string) []passkey.Credential {
	e.t.Helper()
	list, err := e.auth.ListPasskeys(context.Background(), e.byLogin(email).ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// Refused passkey sign-ins are throttled per client network, on a budget
// of their own: the password login of the same account and passkey
// sign-ins from other networks go on.
func TestPasskeySignInThrottledPerClientNetwork(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	ctx := context.Background()
	abuser := authkit.Client{IP: "203.0.113.50"}
	for i := range 100 {
		resp := e.assertion(e.dev, "browser-a")
		if _, _, err := e.auth.FinishPasskeySignIn(ctx, "browser-b", resp, abuser); !errors.Is(err, passkey.ErrBindingMismatch) {
			t.Fatalf("attempt %d: %v, want passkey.ErrBindingMismatch", i, err)
		}
	}
	resp := e.assertion(e.dev, "browser-a")
	_, _, err := e.auth.FinishPasskeySignIn(ctx, "browser-a", resp, abuser)
	te, ok := errors.AsType[*authkit.ThrottledError](err)
	if !ok || te.Scope != "ip" || te.RetryAfter <= 0 {
		t.Fatalf("101st attempt: %v, want a ThrottledError for the network", err)
	}
	if got, _, err := e.auth.FinishPasskeySignIn(ctx, "browser-a", e.assertion(e.dev, "browser-a"), pkClient); err != nil || got.ID != u.ID {
		t.Fatalf("another network: %v %v", got.ID, err)
	}
	if res, err := e.auth.Login(ctx, "a@example.com", goodPassword, abuser); err != nil || res.User.ID != u.ID {
		t.Fatalf("password login from the throttled network: %v", err)
	}
	e.clock.Advance(10 * time.Minute)
	if _, _, err := e.auth.FinishPasskeySignIn(ctx, "browser-a", e.assertion(e.dev, "browser-a"), abuser); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// The passkey second factor is refused for a password step whose password
// has been replaced since, and for an MFA challenge that expired.
func TestPasskeyMFARefusedAfterPasswordChangeOrExpiry(t *testing.T) {
	ctx := context.Background()
	t.Run("password_changed", func(t *testing.T) {
		e := newPasskeyEnv(t)
		u := e.user("a@example.com")
		e.enrollTOTP("a@example.com")
		e.register(e.dev, u)
		tok := e.passwordStep("a@example.com")
		resp := e.mfaAssertion(e.dev, tok)
		if _, err := e.auth.ChangePassword(ctx, u.ID, goodPassword, "another good password 123", pkClient); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.auth.VerifyPasskeyMFA(ctx, tok, resp, pkClient); !errors.Is(err, authkit.ErrInvalidCode) {
			t.Fatalf("after a password change: %v, want ErrInvalidCode", err)
		}
	})
	t.Run("challenge_expired", func(t *testing.T) {
		e := newPasskeyEnv(t)
		u := e.user("a@example.com")
		e.enrollTOTP("a@example.com")
		e.register(e.dev, u)
		tok := e.passwordStep("a@example.com")
		e.clock.Advance(4*time.Minute + 50*time.Second)
		resp := e.mfaAssertion(e.dev, tok) // the passkey ceremony is fresh
		e.clock.Advance(20 * time.Second)  // the MFA challenge (5 minutes) is not
		if _, _, err := e.auth.VerifyPasskeyMFA(ctx, tok, resp, pkClient); !errors.Is(err, authkit.ErrInvalidCode) {
			t.Fatalf("expired MFA challenge: %v, want ErrInvalidCode", err)
		}
	})
}

// With passkeys counted as one factor, a passkey re-authentication of an
// account with TOTP enrolled is refused (ErrMFARequired) and leaves the
// family's sign-in as it was.
func TestReauthenticatePasskeySingleFactorWithTOTPRefused(t *testing.T) {
	e := newPasskeyEnv(t, func(_ *authkit.Config, pc *passkey.Config) { pc.UserVerifiedSingleFactor = true })
	u := e.user("a@example.com")
	e.enrollTOTP("a@example.com")
	e.register(e.dev, u)
	ctx := context.Background()
	toks, err := e.auth.IssueTokens(ctx, u, []string{"pwd", "otp"})
	if err != nil {
		t.Fatal(err)
	}
	before := e.claims(toks.Access)
	e.clock.Advance(time.Hour)
	resp := e.reauthAssertion(e.dev, "s", u.ID)
	if _, _, err := e.auth.ReauthenticatePasskey(ctx, "s", u.ID, toks.Refresh, resp, middleware.Requirement{}, pkClient); !errors.Is(err, authkit.ErrMFARequired) {
		t.Fatalf("single-factor passkey re-authentication: %v, want ErrMFARequired", err)
	}
	next, _, err := e.auth.Refresh(ctx, toks.Refresh, pkClient)
	if err != nil {
		t.Fatal(err)
	}
	if cl := e.claims(next.Access); !cl.AuthTime.Equal(before.AuthTime) || cl.ACR != middleware.ACRMFA {
		t.Fatalf("family changed: auth_time %v acr %q", cl.AuthTime, cl.ACR)
	}
}

// A ceremony begun by BeginPasskeyReauth for a user accepts only that
// user's passkeys, whichever finish call completes it.
func TestPasskeySessionReauthAcceptsOnlyTheSessionUser(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	other := e.user("b@example.com")
	otherDev := passkeytest.New(pkOrigin)
	otherID := e.register(otherDev, other)
	ctx := context.Background()
	otherDev.Select = otherID
	resp := e.reauthAssertion(otherDev, "session-id", u.ID)
	if _, _, err := e.auth.FinishPasskeySignIn(ctx, "session-id", resp, pkClient); !errors.Is(err, passkey.ErrWrongUser) {
		t.Fatalf("another user's passkey: %v, want passkey.ErrWrongUser", err)
	}
	resp = e.reauthAssertion(e.dev, "session-id", u.ID)
	if got, _, err := e.auth.FinishPasskeySignIn(ctx, "session-id", resp, pkClient); err != nil || got.ID != u.ID {
		t.Fatalf("own passkey: %v %v", got.ID, err)
	}
}

// One password step gives at most one sign-in: many passkey ceremonies
// begun with the same MFA token and finished at once, one succeeds.
func TestPasskeyMFATokenSingleUseUnderConcurrency(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.enrollTOTP("a@example.com")
	e.register(e.dev, u)
	tok := e.passwordStep("a@example.com")
	e.dev.StaticCounter = true // a synced passkey (counter 0): no clone verdicts between the racers
	const n = 16
	resps := make([][]byte, n)
	for i := range resps {
		resps[i] = e.mfaAssertion(e.dev, tok)
	}
	var mu sync.Mutex
	ok, refused := 0, 0
	var wg sync.WaitGroup
	for _, resp := range resps {
		wg.Go(func() {
			_, _, err := e.auth.VerifyPasskeyMFA(context.Background(), tok, resp, pkClient)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, authkit.ErrInvalidCode):
				refused++
			default:
				t.Errorf("VerifyPasskeyMFA: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || refused != n-1 {
		t.Fatalf("%d signed in, %d refused; want 1 and %d", ok, refused, n-1)
	}
}

// FuzzPasskeyLoginCredential sends arbitrary credentials to POST
// /auth/passkey/login with a live ceremony's binding cookie: never a panic
// or a 5xx, never tokens, and a body that is not a JSON object is 400.
func FuzzPasskeyLoginCredential(f *testing.F) {
	st := memtest.New(f, nil)
	p, err := passkey.New(passkey.Config{RPID: "example.com", RPDisplayName: "Example", Origins: []string{pkOrigin},
		Credentials: st.Passkeys(), Tickets: st.Tickets()})
	if err != nil {
		f.Fatal(err)
	}
	key, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		f.Fatal(err)
	}
	keys, _ := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	hasher, _ := password.New(password.Config{Params: cheapParams, InsecureAllowWeakParams: true})
	users := st.Users()
	auth, err := authkit.New(authkit.Config{
		Users: users, Keys: keys, Hasher: hasher, TokenIssuer: "https://auth.test",
		RefreshStore: st.RefreshTokens(), Attempts: st.Attempts(),
		Passkeys: p, Audit: authkit.NewAuditor(authkit.AuditConfig{DisableLog: true}),
	})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	if err := users.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com"}); err != nil {
		f.Fatal(err)
	}
	dev := passkeytest.New(pkOrigin)
	o, err := auth.BeginPasskeyRegistration(ctx, "b", "u1", time.Now())
	if err != nil {
		f.Fatal(err)
	}
	created, _, err := dev.Create(o.JSON)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := auth.FinishPasskeyRegistration(ctx, "b", "u1", "Laptop", created, pkClient); err != nil {
		f.Fatal(err)
	}
	h := auth.Handler()
	post := func(path string, body []byte, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// A real assertion as a seed (for another ceremony: the fuzzer's
	// inputs never match a live challenge).
	seed, err := dev.Get(mustOptions(f, post("/auth/passkey/login/options", []byte(`{}`), nil)))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{seed, []byte(`{}`), []byte(`null`), []byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{}}`), []byte("\xff")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cred []byte) {
		rec := post("/auth/passkey/login/options", []byte(`{"conditional":true}`), nil)
		var cookie *http.Cookie
		for _, c := range rec.Result().Cookies() {
			if c.Name == authkit.WebAuthnCookie {
				cookie = c
			}
		}
		if cookie == nil {
			t.Fatalf("no binding cookie: %d %s", rec.Code, rec.Body)
		}
		body := append(append([]byte(`{"credential":`), cred...), '}')
		rec = post("/auth/passkey/login", body, cookie)
		if rec.Code >= 500 || rec.Code == http.StatusOK {
			t.Fatalf("credential %q: %d %s", cred, rec.Code, rec.Body)
		}
		if !json.Valid(body) && rec.Code != http.StatusBadRequest {
			t.Fatalf("invalid JSON %q: %d, want 400", body, rec.Code)
		}
	})
}

func mustOptions(f *testing.F, rec *httptest.ResponseRecorder) []byte {
	var out struct {
		Options json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Options) == 0 {
		f.Fatalf("options: %d %s", rec.Code, rec.Body)
	}
	return out.Options
}
