package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
)

// A second-factor code proves one re-authentication only: a TOTP code
// replayed in its time step and a spent backup code are refused, and a
// blank code checks nothing.
func TestReauthReplayedCodeAndSpentBackupCodeRefused(t *testing.T) {
	e := newStepUpEnv(t, defaultMount)
	e.signup("replay@example.com")
	c := e.login("replay@example.com")
	secret, backups := e.enrollMFA(c)
	e.clock.Advance(31 * time.Second)
	code := e.code(secret)
	r := c.reauth(map[string]any{"password": goodPassword, "code": code, "acr_values": "mfa"})
	e.expect(r, http.StatusOK, "")
	if cl := e.claims(c.accessToken()); cl.ACR != "mfa" {
		t.Fatalf("acr after re-authentication with a code: %q, want mfa", cl.ACR)
	}
	e.clock.Advance(time.Second)
	e.expect(c.reauth(map[string]any{"password": goodPassword, "code": code, "acr_values": "mfa"}), http.StatusUnauthorized, "invalid_code")
	e.expect(c.reauth(map[string]any{"password": goodPassword, "code": "   ", "acr_values": "mfa"}), http.StatusUnauthorized, "mfa_required")
	e.expect(c.reauth(map[string]any{"password": goodPassword, "code": backups[0]}), http.StatusOK, "")
	e.expect(c.reauth(map[string]any{"password": goodPassword, "code": backups[0]}), http.StatusUnauthorized, "invalid_code")
	// Without acr_values an enrolled account still needs the code.
	e.expect(c.reauth(map[string]any{"password": goodPassword}), http.StatusUnauthorized, "mfa_required")
}

// acr_values asking for a second factor cannot be met by the password of
// an account without one, and a level outside the flow's is refused
// before the password is looked at.
func TestReauthMFALevelWithoutEnrollmentRefused(t *testing.T) {
	e := newStepUpEnv(t, defaultMount)
	e.signup("nomfa@example.com")
	c := e.login("nomfa@example.com")
	for _, acr := range []string{"mfa", "passkey", "mfa passkey", "urn:unknown"} {
		e.expect(c.reauth(map[string]any{"password": goodPassword, "code": "123456", "acr_values": acr}), http.StatusForbidden, "insufficient_user_authentication")
	}
	// A list naming a reachable level is met at the weakest reachable one.
	e.expect(c.reauth(map[string]any{"password": goodPassword, "acr_values": "mfa pwd"}), http.StatusOK, "")
	if cl := e.claims(c.accessToken()); cl.ACR != "pwd" {
		t.Fatalf("acr after password re-authentication: %q, want pwd", cl.ACR)
	}
}

// max_age from the body: negative is a bad request; huge and zero are met
// by a re-authentication now; a non-number is a malformed body.
func TestReauthMaxAgeParsing(t *testing.T) {
	e := newStepUpEnv(t, defaultMount)
	e.signup("maxage@example.com")
	c := e.login("maxage@example.com")
	e.expect(c.reauth(map[string]any{"password": goodPassword, "max_age": -1}), http.StatusBadRequest, "invalid_request")
	e.expect(c.reauth(map[string]any{"password": goodPassword, "max_age": "60"}), http.StatusBadRequest, "invalid_request")
	e.expect(c.reauth(map[string]any{"password": goodPassword, "max_age": 1e30}), http.StatusBadRequest, "invalid_request")
	e.expect(c.reauth(map[string]any{"password": goodPassword, "max_age": int64(9223372036854775807)}), http.StatusOK, "")
	e.expect(c.reauth(map[string]any{"password": goodPassword, "max_age": 0}), http.StatusOK, "")
}

// A re-authentication racing a rotation of the same refresh token is
// linearised with it: the re-authentication either lands before the
// rotation (and the rotated token's access token carries the new, weaker
// acr) or is refused as a spent token; it never updates a family whose
// token was already rotated away while the rotation kept the old facts.
func TestReauthRacingRotationIsLinearised(t *testing.T) {
	ctx := context.Background()
	for i := range 40 {
		f := newReauthFixture(t, fmt.Sprintf("race%d@example.com", i), []string{"pwd", "otp"})
		var wg sync.WaitGroup
		var refreshed authkit.Tokens
		var refreshErr, reauthErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			refreshed, _, refreshErr = f.e.auth.Refresh(ctx, f.toks.Refresh, authkit.Client{})
		}()
		go func() {
			defer wg.Done()
			_, _, reauthErr = f.e.auth.Reauthenticate(ctx, f.u.ID, f.toks.Refresh, goodPassword, "", middleware.Requirement{}, authkit.Client{})
		}()
		wg.Wait()
		if refreshErr != nil {
			t.Fatalf("refresh: %v", refreshErr)
		}
		acr := f.e.claims(refreshed.Access).ACR
		switch {
		case reauthErr == nil && acr != "pwd":
			t.Fatalf("re-authentication succeeded but the rotated token's acr is %q, want pwd", acr)
		case reauthErr != nil && !errors.Is(reauthErr, authkit.ErrInvalidToken):
			t.Fatalf("re-authentication after the rotation: %v, want ErrInvalidToken", reauthErr)
		case reauthErr != nil && acr != "mfa":
			t.Fatalf("refused re-authentication changed acr to %q", acr)
		}
	}
}

// A re-authentication racing "log out everywhere" never leaves the family
// usable: whichever lands first, the refresh token is dead afterwards.
func TestReauthRacingLogoutAllDoesNotResurrectFamily(t *testing.T) {
	ctx := context.Background()
	for i := range 40 {
		f := newReauthFixture(t, fmt.Sprintf("lo%d@example.com", i), []string{"pwd"})
		var wg sync.WaitGroup
		var logoutErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			logoutErr = f.e.auth.LogoutAll(ctx, f.u.ID, authkit.Client{})
		}()
		go func() {
			defer wg.Done()
			_, _, _ = f.e.auth.Reauthenticate(ctx, f.u.ID, f.toks.Refresh, goodPassword, "", middleware.Requirement{}, authkit.Client{})
		}()
		wg.Wait()
		if logoutErr != nil {
			t.Fatalf("log out everywhere: %v", logoutErr)
		}
		f.e.clock.Advance(time.Second)
		if _, _, err := f.e.auth.Refresh(ctx, f.toks.Refresh, authkit.Client{}); !errors.Is(err, authkit.ErrInvalidToken) {
			t.Fatalf("refresh after log out everywhere raced a re-authentication: %v, want ErrInvalidToken", err)
		}
	}
}
