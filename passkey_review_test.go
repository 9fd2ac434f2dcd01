package authkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
)

// A sign-in ceremony begun before the account was disabled does not sign
// it in when finished afterwards.
func TestPasskeySignInBegunBeforeDisableRefusedAfter(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	e.register(e.dev, u)
	resp := e.assertion(e.dev, "browser-a")
	if err := e.auth.DisableUser(context.Background(), u.ID, pkClient); err != nil {
		t.Fatal(err)
	}
	got, amr, err := e.auth.FinishPasskeySignIn(context.Background(), "browser-a", resp, pkClient)
	if !errors.Is(err, authkit.ErrInvalidCredentials) || got.ID != "" || amr != nil {
		t.Fatalf("finish after DisableUser: %q %v %v, want ErrInvalidCredentials and no user", got.ID, amr, err)
	}
}

// The response of a registration ceremony is not a sign-in: it finishes
// neither a sign-in nor a re-authentication, even under the same binding.
func TestPasskeyRegistrationResponseRefusedAsSignIn(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	ctx := context.Background()
	o, err := e.auth.BeginPasskeyRegistration(ctx, "browser-a", u.ID, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := e.dev.Create(o.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.auth.FinishPasskeySignIn(ctx, "browser-a", resp, pkClient); !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("registration response as sign-in: %v, want ErrInvalidCredentials", err)
	}
	// The registration ceremony itself is still live and finishes.
	if _, err := e.auth.FinishPasskeyRegistration(ctx, "browser-a", u.ID, "Laptop", resp, pkClient); err != nil {
		t.Fatalf("registration after the refused sign-in: %v", err)
	}
}

// A username-less sign-in ceremony that happens to be bound to account A's
// MFA token does not let account B's passkey pass A's second factor.
func TestPasskeyMFAWithSignInCeremonyOfAnotherAccountRefused(t *testing.T) {
	e := newPasskeyEnv(t)
	victim := e.user("victim@example.com")
	e.enrollTOTP("victim@example.com")
	e.register(e.dev, victim)
	attacker := e.user("attacker@example.com")
	attackerDev := passkeytest.New(pkOrigin)
	e.register(attackerDev, attacker)
	tok := e.passwordStep("victim@example.com")
	// The attacker's passkey answers a discoverable ceremony bound to the
	// victim's MFA token: the passkey package sees no account to check.
	resp := e.assertion(attackerDev, tok)
	got, _, err := e.auth.VerifyPasskeyMFA(context.Background(), tok, resp, pkClient)
	if !errors.Is(err, authkit.ErrInvalidCode) || got.ID != "" {
		t.Fatalf("attacker's passkey on the victim's MFA token: %q %v, want ErrInvalidCode", got.ID, err)
	}
	if hasEvent(e.eventsOf(authkit.EventMFASuccess), authkit.OutcomeSuccess, "passkey", victim.ID) {
		t.Fatal("MFA success audited for the victim")
	}
}

// One MFA token answered at once by a TOTP code and by a passkey signs in
// exactly once.
func TestPasskeyMFAAndTOTPOnOneTokenSignInOnce(t *testing.T) {
	e := newPasskeyEnv(t)
	u := e.user("a@example.com")
	secret := e.enrollTOTP("a@example.com")
	e.register(e.dev, u)
	e.dev.StaticCounter = true
	e.clock.Advance(30 * time.Second) // the enrollment spent the current code
	ctx := context.Background()
	for round := range 8 {
		tok := e.passwordStep("a@example.com")
		resp := e.mfaAssertion(e.dev, tok)
		code := e.code(secret)
		var wg sync.WaitGroup
		var errTOTP, errPasskey error
		wg.Go(func() { _, errTOTP = e.auth.VerifyMFA(ctx, tok, code, pkClient) })
		wg.Go(func() { _, _, errPasskey = e.auth.VerifyPasskeyMFA(ctx, tok, resp, pkClient) })
		wg.Wait()
		ok := 0
		for _, err := range []error{errTOTP, errPasskey} {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, authkit.ErrInvalidCode):
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d successes (totp %v, passkey %v), want exactly 1", round, ok, errTOTP, errPasskey)
		}
		e.clock.Advance(30 * time.Second) // a fresh time step for the next round
	}
}

// Another account cannot rename or remove a passkey: both answer
// passkey.ErrNotFound and the passkey is unchanged.
func TestPasskeyRenameAndRemoveOfAnotherAccountsPasskeyNotFound(t *testing.T) {
	e := newPasskeyEnv(t)
	victim := e.user("victim@example.com")
	id := e.register(e.dev, victim)
	attacker := e.user("attacker@example.com")
	e.register(passkeytest.New(pkOrigin), attacker)
	ctx := context.Background()
	if err := e.auth.RenamePasskey(ctx, attacker.ID, id, "pwned", pkClient); !errors.Is(err, passkey.ErrNotFound) {
		t.Fatalf("rename another's passkey: %v, want passkey.ErrNotFound", err)
	}
	_, err := e.auth.RemovePasskey(ctx, attacker.ID, id, e.clock.Now(), []string{"hwk", "user", "mfa"}, "", pkClient)
	if !errors.Is(err, passkey.ErrNotFound) {
		t.Fatalf("remove another's passkey: %v, want passkey.ErrNotFound", err)
	}
	list, err := e.auth.ListPasskeys(ctx, victim.ID)
	if err != nil || len(list) != 1 || !bytes.Equal(list[0].ID, id) || list[0].Name != "Laptop" {
		t.Fatalf("victim's passkeys after the attack: %+v %v", list, err)
	}
}

// A re-authentication ceremony begun for one account cannot re-authenticate
// another account, even with that account's own passkey.
func TestReauthenticatePasskeyCeremonyOfAnotherAccountRefused(t *testing.T) {
	e := newPasskeyEnv(t)
	a := e.user("a@example.com")
	e.register(e.dev, a)
	b := e.user("b@example.com")
	devB := passkeytest.New(pkOrigin)
	e.register(devB, b)
	ctx := context.Background()
	// B's browser binding, ceremony begun for A: B's passkey is not A's.
	o, err := e.auth.BeginPasskeyReauth(ctx, "browser-b", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	devB.Select = e.byLoginPasskeys("b@example.com")[0].ID
	resp, err := devB.Get(o.JSON)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := e.auth.FinishPasskeySignIn(ctx, "browser-b", resp, pkClient)
	if !errors.Is(err, authkit.ErrInvalidCredentials) || !errors.Is(err, passkey.ErrWrongUser) || got.ID != "" {
		t.Fatalf("B's passkey on A's re-auth ceremony: %q %v, want ErrInvalidCredentials and passkey.ErrWrongUser", got.ID, err)
	}
}

// An oversize passkey sign-in body is refused before anything is verified.
func TestPasskeyHTTPSignInOversizeBodyRefused(t *testing.T) {
	e := newPasskeyEnv(t)
	c := e.client()
	r := c.post("/auth/passkey/login/options", map[string]any{})
	e.expect(r, http.StatusOK, "")
	huge := `{"id":"` + strings.Repeat("A", 1<<20) + `"}`
	r = c.post("/auth/passkey/login", map[string]any{"credential": json.RawMessage(huge)})
	e.expect(r, http.StatusRequestEntityTooLarge, middleware.CodeTooLarge)
	if evs := e.eventsOf(authkit.EventLoginSuccess); len(evs) != 0 {
		t.Fatalf("login success events: %v", evs)
	}
}

// A passkey re-authentication begun before a log out everywhere (or before
// the account was disabled) does not revive the ended refresh family when
// finished afterwards.
func TestReauthenticatePasskeyAfterLogoutAllOrDisableRefused(t *testing.T) {
	for _, end := range []string{"logout_all", "disable"} {
		t.Run(end, func(t *testing.T) {
			e := newPasskeyEnv(t)
			u := e.user("a@example.com")
			e.register(e.dev, u)
			ctx := context.Background()
			toks, err := e.auth.IssueTokens(ctx, u, []string{"pwd"})
			if err != nil {
				t.Fatal(err)
			}
			o, err := e.auth.BeginPasskeyReauth(ctx, "session-1", u.ID)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.dev.Get(o.JSON)
			if err != nil {
				t.Fatal(err)
			}
			want := authkit.ErrInvalidToken
			switch end {
			case "logout_all":
				err = e.auth.LogoutAll(ctx, u.ID, pkClient)
			default:
				err = e.auth.DisableUser(ctx, u.ID, pkClient)
				want = authkit.ErrInvalidCredentials
			}
			if err != nil {
				t.Fatal(err)
			}
			got, gu, err := e.auth.ReauthenticatePasskey(ctx, "session-1", u.ID, toks.Refresh, resp, middleware.Requirement{}, pkClient)
			if !errors.Is(err, want) || got.Access != "" || gu.ID != "" {
				t.Fatalf("re-auth after %s: %q %q %v, want %v", end, got.Access, gu.ID, err, want)
			}
			if _, _, err := e.auth.Refresh(ctx, toks.Refresh, pkClient); err == nil {
				t.Fatalf("the ended family refreshes after %s", end)
			}
		})
	}
}

// A registration begun with an access token that is then ended by a log
// out everywhere (the owner locking out a thief) cannot be finished: no
// passkey is added to the account.
func TestPasskeyHTTPRegistrationAfterLogoutAllRefused(t *testing.T) {
	e := newPasskeyEnv(t)
	e.signup("a@example.com")
	thief := e.login("a@example.com")
	r := thief.post("/auth/passkeys/register/options", nil)
	e.expect(r, http.StatusOK, "")
	resp, _, err := passkeytest.New(pkOrigin).Create(optionsOf(t, r))
	if err != nil {
		t.Fatal(err)
	}
	u := e.byLogin("a@example.com")
	e.clock.Advance(time.Second)
	if err := e.auth.LogoutAll(context.Background(), u.ID, pkClient); err != nil {
		t.Fatal(err)
	}
	r = thief.post("/auth/passkeys/register", map[string]any{"name": "x", "credential": json.RawMessage(resp)})
	e.expect(r, http.StatusUnauthorized, middleware.CodeUnauthenticated)
	if list, err := e.auth.ListPasskeys(context.Background(), u.ID); err != nil || len(list) != 0 {
		t.Fatalf("passkeys after the refused registration: %d %v", len(list), err)
	}
}
