package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/mfa"
)

// signInWithCode signs email in with the password and a TOTP code of
// secret, at the next time step.
func (e *env) signInWithCode(email, secret string) *client {
	e.t.Helper()
	c := e.client()
	r := c.post("/auth/login", map[string]string{"email": email, "password": goodPassword})
	e.expect(r, http.StatusOK, "")
	tok, _ := r.body["mfa_token"].(string)
	if tok == "" {
		e.t.Fatalf("login did not ask for the second factor: %s", r.raw)
	}
	e.clock.Advance(30 * time.Second)
	e.expect(c.post("/auth/mfa/verify", map[string]string{"mfa_token": tok, "code": e.code(secret)}), http.StatusOK, "")
	return c
}

// Over HTTP, a token whose sign-in did not use the second factor (a
// password-only sign-in from before MFA was enabled) cannot replace the
// active factor without a current code, however recent it is. A refreshed
// token carries its sign-in's amr and auth_time unchanged, so it can only
// while that second-factor sign-in is recent.
func TestHTTPFactorReplacementNeedsSecondFactorSignInOrCode(t *testing.T) {
	e := newEnv(t)
	e.signup("alice@example.com")
	pwdOnly := e.login("alice@example.com")
	secret, _ := e.enrollMFA(pwdOnly)

	e.expect(pwdOnly.post("/auth/mfa/enroll", nil), http.StatusUnauthorized, "invalid_code")
	e.expect(pwdOnly.post("/auth/mfa/enroll", map[string]string{"code": "000000"}), http.StatusUnauthorized, "invalid_code")

	stale := e.signInWithCode("alice@example.com", secret)
	e.clock.Advance(11 * time.Minute)
	e.expect(stale.post("/auth/refresh", nil), http.StatusOK, "")
	e.expect(stale.post("/auth/mfa/enroll", nil), http.StatusUnauthorized, "reauth_required")

	fresh := e.signInWithCode("alice@example.com", secret)
	e.expect(fresh.post("/auth/mfa/enroll", nil), http.StatusOK, "")
}

// The pending key of an abandoned replacement cannot be confirmed later by
// a password-only session that learned it.
func TestHTTPAbandonedReplacementNotConfirmableLater(t *testing.T) {
	e := newEnv(t)
	e.signup("alice@example.com")
	pwdOnly := e.login("alice@example.com")
	secret, _ := e.enrollMFA(pwdOnly)
	fresh := e.signInWithCode("alice@example.com", secret)
	r := fresh.post("/auth/mfa/enroll", nil)
	e.expect(r, http.StatusOK, "")
	leaked := r.body["secret"].(string)

	e.clock.Advance(24 * time.Hour)
	e.expect(pwdOnly.post("/auth/refresh", nil), http.StatusOK, "")
	e.expect(pwdOnly.post("/auth/mfa/confirm", map[string]string{"code": e.code(leaked)}), http.StatusUnauthorized, "invalid_code")
	e.clock.Advance(30 * time.Second)
	e.signInWithCode("alice@example.com", secret) // the old factor still works
}

// Wrong replacement proofs over HTTP are client errors and throttled per
// account like login codes: 401 invalid_code, then 429, never 503.
func TestHTTPWrongReplacementProofsAreThrottled(t *testing.T) {
	e := newEnv(t)
	e.signup("alice@example.com")
	c := e.login("alice@example.com")
	e.enrollMFA(c)
	for i := range mfa.DefaultMaxFailures {
		r := c.post("/auth/mfa/enroll", map[string]string{"code": fmt.Sprintf("%06d", i)})
		e.expect(r, http.StatusUnauthorized, "invalid_code")
	}
	e.expect(c.post("/auth/mfa/enroll", map[string]string{"code": "999999"}), http.StatusTooManyRequests, "rate_limited")
}

// Through the Go API the refusal matches both the root and the mfa error.
func TestEnrollMFAWithoutProofMatchesBothErrors(t *testing.T) {
	e := newEnv(t)
	id := e.signup("alice@example.com")
	e.enrollMFA(e.login("alice@example.com"))
	_, err := e.auth.EnrollMFA(context.Background(), id, e.clock.Now(), []string{authkit.AMRPassword}, "", authkit.Client{})
	if !errors.Is(err, authkit.ErrInvalidCode) || !errors.Is(err, mfa.ErrFactorRequired) {
		t.Fatalf("EnrollMFA without proof = %v, want ErrInvalidCode and mfa.ErrFactorRequired", err)
	}
}
