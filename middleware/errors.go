package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Error codes of authkit's HTTP contract: the JSON error body is always
// {"error": CODE} with one of these codes, written by [WriteError]. This is
// the one list for the whole module: the root package's handlers and this
// package's middleware answer with these constants, and clients may match
// on them. The status each code is used with is given beside it.
const (
	// CodeInvalidRequest (400): the body is not the expected JSON object,
	// or a field is missing or malformed.
	CodeInvalidRequest = "invalid_request"
	// CodeInvalidEmail (400): the login name is not an acceptable address.
	CodeInvalidEmail = "invalid_email"
	// CodeWeakPassword (400): the new password fails the password policy.
	CodeWeakPassword = "weak_password"
	// CodeUnauthenticated (401): no valid credential (see [Authenticator]).
	CodeUnauthenticated = "unauthenticated"
	// CodeInvalidCredentials (401): wrong login name or password.
	CodeInvalidCredentials = "invalid_credentials"
	// CodeInvalidCode (401): wrong or expired one-time code (TOTP, backup,
	// reset or verification code).
	CodeInvalidCode = "invalid_code"
	// CodeInvalidToken (401): an invalid, expired or revoked token.
	CodeInvalidToken = "invalid_token"
	// CodeTokenReused (401): a refresh token was presented twice; its
	// family is revoked.
	CodeTokenReused = "token_reused"
	// CodeReauthRequired (401): the operation needs a recent sign-in.
	CodeReauthRequired = "reauth_required"
	// CodeInsufficientUserAuthentication (401): the sign-in is too old or
	// too weak for the route (RFC 9470 §3; see [StepUp]).
	CodeInsufficientUserAuthentication = "insufficient_user_authentication"
	// CodeForbidden (403): authenticated but not allowed, or refused by
	// [CSRF].
	CodeForbidden = "forbidden"
	// CodeNotFound (404): no such route or object.
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed (405).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeEmailTaken (409): the login name is already registered.
	CodeEmailTaken = "email_taken"
	// CodeConflict (409): the state changed under the request (a
	// concurrent change of the same factor); reload and retry.
	CodeConflict = "conflict"
	// CodeLastSignInMethod (409): the change would leave the account
	// without a way to sign in (its last passkey, with no password).
	CodeLastSignInMethod = "last_sign_in_method"
	// CodeChallengeExpired (409): a passkey ceremony's challenge expired
	// while the page sat open; the answer carries a fresh one.
	CodeChallengeExpired = "challenge_expired"
	// CodeMFARequired (401): the operation needs a second factor that the
	// request did not give.
	CodeMFARequired = "mfa_required"
	// CodeTooLarge (413): the request body exceeds the limit.
	CodeTooLarge = "too_large"
	// CodeUnsupportedMediaType (415): the body is not application/json.
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeRateLimited (429): a limit was reached; Retry-After says when to
	// retry ([WriteRateLimited]).
	CodeRateLimited = "rate_limited"
	// CodeInternal (500): a misconfiguration or an unexpected failure.
	CodeInternal = "internal_error"
	// CodeUnavailable (503): a store, limiter or other dependency failed,
	// or the server is saturated; the request was refused (fail closed).
	// Retry-After says when to retry ([WriteUnavailable]).
	CodeUnavailable = "unavailable"
)

// DefaultUnavailableRetryAfter is the Retry-After [WriteError] sends with a
// 503 when the caller set none.
const DefaultUnavailableRetryAfter = 5 * time.Second

// Hooks. Every middleware of this package reports a refused request through
// hooks of two shapes only, and err always says why: it satisfies a
// sentinel of this package with errors.Is ([ErrUnauthenticated],
// [ErrForbidden], [ErrInsufficientAuthentication], [ErrCrossOrigin], ...)
// and errors.As finds the typed details ([*AuthError], [*PermissionError],
// [*StepUpError]). Neither ever receives a credential.
type (
	// DenyFunc writes the response for a refused request in place of the
	// default one (for example a redirect to a login page).
	DenyFunc func(w http.ResponseWriter, r *http.Request, err error)
	// AuditFunc is told about each refused request before the response is
	// written, for audit logs (ASVS 16.3.1, 16.3.2); it writes nothing.
	AuditFunc func(r *http.Request, err error)
)

// Errors returned by [CSRF.Check]. They are for logs and deny hooks; the
// default response never reveals which check failed.
var (
	// ErrCrossOrigin reports an unsafe request that
	// [net/http.CrossOriginProtection] rejected (Sec-Fetch-Site cross-site or
	// same-site, or an Origin that does not match Host).
	ErrCrossOrigin = errors.New("middleware: cross-origin request")
	// ErrCSRFTokenMissing reports an unsafe request without a CSRF token where
	// the token mode requires one.
	ErrCSRFTokenMissing = errors.New("middleware: csrf token missing")
	// ErrCSRFTokenInvalid reports a malformed CSRF token, or one that was not
	// issued for the current session secret.
	ErrCSRFTokenInvalid = errors.New("middleware: csrf token invalid")
	// ErrCSRFNoSession reports that a token was required but the request has
	// no session secret to check it against.
	ErrCSRFNoSession = errors.New("middleware: csrf token requires a session")
)

// ErrInvalidConfig is wrapped by every error of this package's
// constructors (NewAuthenticator, NewCSRF, NewClientIPResolver,
// NewWindowLimiter, NewStepUp). Each constructor is NewT(TConfig) (*T,
// error): the package builds several types, so the Config type is named
// after what it builds; zero fields take documented defaults.
var ErrInvalidConfig = errors.New("middleware: invalid config")

// configError is a constructor's error: its own message, satisfying
// errors.Is(err, ErrInvalidConfig).
type configError struct{ err error }

func (e *configError) Error() string   { return e.err.Error() }
func (e *configError) Unwrap() []error { return []error{ErrInvalidConfig, e.err} }

func invalidConfig(err error) error { return &configError{err} }

// errorBody is the JSON error body.
type errorBody struct {
	Error string `json:"error"`
}

// WriteError writes the JSON error body {"error": code} with the given
// status, `Content-Type: application/json` (the one Content-Type of every
// authkit JSON answer) and `X-Content-Type-Options: nosniff`. A 503 carries
// Retry-After ([DefaultUnavailableRetryAfter] unless the header is already
// set; see [WriteUnavailable]). code should be one of the Code constants;
// never pass err.Error() (OWASP Error Handling Cheat Sheet: no internal
// details to clients). The body is encoded by encoding/json, so it is valid
// JSON for any string.
func WriteError(w http.ResponseWriter, status int, code string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		h.Set("Retry-After", strconv.FormatInt(RetryAfterSeconds(DefaultUnavailableRetryAfter), 10))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: code})
}

// WriteUnavailable writes 503 {"error":"unavailable"} with Retry-After set
// to [RetryAfterSeconds](retryAfter); retryAfter <= 0 means
// [DefaultUnavailableRetryAfter].
func WriteUnavailable(w http.ResponseWriter, retryAfter time.Duration) {
	if retryAfter <= 0 {
		retryAfter = DefaultUnavailableRetryAfter
	}
	w.Header().Set("Retry-After", strconv.FormatInt(RetryAfterSeconds(retryAfter), 10))
	WriteError(w, http.StatusServiceUnavailable, CodeUnavailable)
}
