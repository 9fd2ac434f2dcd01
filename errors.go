package authkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/session"
)

// ErrInvalidConfig is wrapped by every error [New] returns for a rejected
// [Config]; the wrapped error lists every problem found (errors.Join).
var ErrInvalidConfig = errors.New("authkit: invalid config")

// invalidConfig wraps problems found in a Config in [ErrInvalidConfig].
func invalidConfig(problems ...error) error {
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(problems...))
}

// leafError is a root sentinel that also matches the leaf package's
// sentinel for the same condition, so errors.Is works with either.
type leafError struct {
	msg  string
	leaf error
}

func (e *leafError) Error() string { return e.msg }
func (e *leafError) Unwrap() error { return e.leaf }

// Retry-After of a 503: the hashing cap frees up within milliseconds; a store
// outage takes longer.
const (
	busyRetryAfter        = 1
	unavailableRetryAfter = 5
)

// jsonContentType is the Content-Type of every JSON body the handlers write,
// errors and successes alike; it is the one middleware.WriteError uses.
const jsonContentType = "application/json"

// writeError is the one place the handlers write a JSON error body
// `{"error": CODE}`.
func writeError(w http.ResponseWriter, status int, code string) {
	middleware.WriteError(w, status, code)
}

// writeErrorReason writes `{"error": CODE, "reason": REASON}`, with the
// same headers as writeError.
func writeErrorReason(w http.ResponseWriter, status int, code, reason string) {
	h := w.Header()
	h.Set("Content-Type", jsonContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}{code, reason})
}

// writeUnavailable answers 503 unavailable with Retry-After: a dependency
// (a store, the mailer, the hashing cap) cannot answer now.
func writeUnavailable(w http.ResponseWriter, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	writeError(w, http.StatusServiceUnavailable, middleware.CodeUnavailable)
}

// isBug reports errors that no retry can fix: a misconfiguration or data
// authkit itself cannot read (a sealed MFA secret under an unknown key).
// They answer 500; every other unclassified error is a dependency failure
// and answers 503.
func isBug(err error) bool {
	for _, target := range []error{
		ErrInvalidConfig, mfa.ErrInvalidConfig, session.ErrInvalidConfig, passkey.ErrInvalidConfig, mfa.ErrSealedSecret,
		jwt.ErrNoSigningKey, jwt.ErrReservedClaim, jwt.ErrKeyMismatch, jwt.ErrUnsupportedAlg, jwt.ErrWeakKey,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// Errors returned by [Auth] methods. Handlers map them to the HTTP
// contract's codes; any other error is a system failure (5xx, fail closed).
var (
	// ErrInvalidCredentials is the one answer for an unknown login, a wrong
	// password and a disabled account (ASVS 6.3.8).
	ErrInvalidCredentials = errors.New("authkit: invalid credentials")
	// ErrInvalidCode is a wrong, replayed or expired MFA code or challenge.
	// It matches mfa.ErrInvalidCode too.
	ErrInvalidCode error = &leafError{"authkit: invalid code", mfa.ErrInvalidCode}
	// ErrInvalidEmail is a sign-up address that is not an email address.
	ErrInvalidEmail = errors.New("authkit: invalid email")
	// ErrReauthRequired means the sign-in is older than Config.RecentAuth.
	ErrReauthRequired = errors.New("authkit: recent sign-in required")
	// ErrInvalidToken is a missing, unknown, expired or spent token. It
	// matches jwt.ErrInvalidToken too.
	ErrInvalidToken error = &leafError{"authkit: invalid token", jwt.ErrInvalidToken}
	// ErrTokenReused is a refresh token presented again: its whole family
	// has been revoked (RFC 9700 §4.14.2). It matches jwt.ErrTokenReused
	// too.
	ErrTokenReused error = &leafError{"authkit: refresh token reused", jwt.ErrTokenReused}
	// ErrMFANotConfigured means Config.MFA is nil.
	ErrMFANotConfigured = errors.New("authkit: MFA is not configured")
	// ErrPasskeysNotConfigured means Config.Passkeys is nil.
	ErrPasskeysNotConfigured = errors.New("authkit: passkeys are not configured")
	// ErrNotSignedIn is returned by the session re-authentications
	// ([Auth.ReauthenticateSession], [Auth.ReauthenticateSessionPasskey])
	// when there is no signed-in session to renew: Config.Sessions is nil,
	// the context carries none of its sessions, the session has no fully
	// signed-in user, or it ended while the re-authentication ran.
	ErrNotSignedIn = errors.New("authkit: no signed-in session")
	// ErrLastSignInMethod is a removal refused because it would leave the
	// account without a way to sign in: its last passkey when it has no
	// password. It matches passkey.ErrLastCredential too.
	ErrLastSignInMethod error = &leafError{"authkit: last sign-in method", passkey.ErrLastCredential}
	// ErrNotSupported means the configured store lacks an optional method
	// (for example [UserUpdater]).
	ErrNotSupported = errors.New("authkit: not supported by the configured store")
)
