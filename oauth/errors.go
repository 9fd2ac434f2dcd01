package oauth

import (
	"errors"
	"fmt"
)

// Sentinel errors, checked with [errors.Is]. Their messages are meant for
// logs: a handler answering a browser should map them to a vague response
// and never echo err.Error().
var (
	// ErrInvalidConfig reports an invalid [Config], [Provider] or
	// [ClientCredentialsConfig].
	ErrInvalidConfig = errors.New("oauth: invalid config")

	// ErrState reports a callback whose transaction is missing, expired,
	// already spent or does not match the state parameter (RFC 9700 §4.7).
	ErrState = errors.New("oauth: invalid or expired state")

	// ErrCallback reports a malformed callback request: a repeated
	// parameter (RFC 6749 §3.1), an oversized value, or neither code nor
	// error.
	ErrCallback = errors.New("oauth: malformed callback")

	// ErrIssuerMismatch reports an RFC 9207 iss response parameter that is
	// missing (when the provider advertises support) or differs from the
	// provider's issuer: a mix-up attack (RFC 9700 §4.4).
	ErrIssuerMismatch = errors.New("oauth: issuer mismatch")

	// ErrProvider matches every [*ProviderError].
	ErrProvider = errors.New("oauth: provider returned an error")

	// ErrExchange reports a failed token request; the chain holds the
	// [*oauth2.RetrieveError] when the endpoint answered with an error.
	ErrExchange = errors.New("oauth: token request failed")

	// ErrIDToken matches every [*IDTokenError].
	ErrIDToken = errors.New("oauth: invalid id_token")

	// ErrUserInfo reports a userinfo or user API response that is unusable,
	// including a userinfo sub different from the id_token's (OIDC Core
	// §5.3.4).
	ErrUserInfo = errors.New("oauth: invalid user info")

	// ErrDiscovery reports an unusable OpenID provider configuration
	// document, including an issuer that differs from the configured one
	// (OIDC Discovery §4.3).
	ErrDiscovery = errors.New("oauth: discovery failed")

	// ErrAccountExists is returned by [Linker.Resolve] when a local account
	// already uses the identity's email but the emails cannot both be
	// proven verified: linking would let whoever registered the address
	// first take over the other account.
	ErrAccountExists = errors.New("oauth: an account with this email already exists")

	// ErrNoStepUpChallenge reports a response without an RFC 9470
	// insufficient_user_authentication challenge ([ParseStepUpChallenge]).
	ErrNoStepUpChallenge = errors.New("oauth: no step-up challenge")

	// ErrChallenge reports a WWW-Authenticate field that is not a valid
	// challenge list, or an unusable step-up challenge.
	ErrChallenge = errors.New("oauth: malformed authentication challenge")

	errNoVerifier = errors.New("oauth: no id_token verifier")
)

// ProviderError is an authorization error response delivered to the
// callback (RFC 6749 §4.1.2.1), e.g. access_denied when the user declined.
// The fields come from the provider through the browser: log them, but do
// not render them to users as trusted text.
type ProviderError struct {
	Code        string
	Description string
	URI         string
}

// Error implements error.
func (e *ProviderError) Error() string {
	if e.Description == "" {
		return "oauth: provider returned error " + e.Code
	}
	return fmt.Sprintf("oauth: provider returned error %s: %s", e.Code, e.Description)
}

// Is reports whether target is [ErrProvider].
func (e *ProviderError) Is(target error) bool { return target == ErrProvider }

// IDTokenError reports an id_token that failed one check of OIDC Core
// §3.1.3.7. Check names the claim or step ("size", "format", "alg", "typ",
// "signature", "iss", "sub", "aud", "azp", "exp", "iat", "nbf", "nonce",
// "auth_time", "at_hash", "missing"); Err, when set, is the underlying cause.
type IDTokenError struct {
	Check string
	Err   error
}

// Error implements error.
func (e *IDTokenError) Error() string {
	if e.Err == nil {
		return "oauth: invalid id_token: " + e.Check
	}
	return "oauth: invalid id_token: " + e.Check + ": " + e.Err.Error()
}

// Is reports whether target is [ErrIDToken].
func (e *IDTokenError) Is(target error) bool { return target == ErrIDToken }

// Unwrap returns the underlying cause, if any.
func (e *IDTokenError) Unwrap() error { return e.Err }

func idErr(check string, err error) error { return &IDTokenError{Check: check, Err: err} }
