package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/authkit-go/authkit"
)

// flow is what the browser UI and the OIDC callback need from the login flow.
// rootFlow implements it over the authkit root package, so the UI and the
// JSON API share one set of rules (lockout, rehash-on-login, MFA, audit).
type flow interface {
	// Signup creates an account with the default role (or admin for
	// -admin-email).
	Signup(ctx context.Context, r *http.Request, email, password string) (authkit.User, error)
	// Login checks the first factor. With MFA enrolled the result carries
	// an MFA token and no user is signed in yet.
	Login(ctx context.Context, r *http.Request, email, password string) (loginOutcome, error)
	// VerifyMFA completes a login begun by Login with a TOTP or backup code.
	VerifyMFA(ctx context.Context, r *http.Request, mfaToken, code string) (authkit.User, error)
	// ChangePassword checks the current password, stores the new one and
	// ends the user's other sessions and refresh-token families.
	ChangePassword(ctx context.Context, r *http.Request, userID, current, next string) error
	// LogoutAll ends every session and refresh-token family of the user and
	// refuses the access tokens issued before now.
	LogoutAll(ctx context.Context, r *http.Request, userID string) error
	// SignIn issues the API cookies (access_token, refresh_token) for a user
	// who authenticated elsewhere (OIDC).
	SignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, u authkit.User, amr []string) error
}

// loginOutcome is the result of the password step.
type loginOutcome struct {
	User     authkit.User // set when the login is complete
	MFAToken string       // set when a second factor is due
}

// Errors of the flow, as the UI shows them.
var (
	errInvalidCredentials = errors.New("invalid email or password")
	errInvalidCode        = errors.New("invalid code")
	errEmailTaken         = errors.New("an account with this email already exists")
	errInvalidEmail       = errors.New("invalid email address")
)

// weakPasswordError reports a password the policy refused; Rule is the
// password.Rule that failed.
type weakPasswordError struct{ Rule string }

func (e *weakPasswordError) Error() string { return "password too weak: " + e.Rule }

// throttledError reports a throttled attempt.
type throttledError struct{ RetryAfter time.Duration }

func (e *throttledError) Error() string { return "too many attempts" }
