package passkey

import (
	"encoding/base64"
	"errors"
	"fmt"
)

// Sentinel errors. Every refusal of a ceremony wraps exactly one of them;
// the library's own error is wrapped as well for logs.
var (
	// ErrInvalidConfig is wrapped by every error [New] returns.
	ErrInvalidConfig = errors.New("passkey: invalid config")

	// ErrMalformed reports a response that is not a well-formed WebAuthn
	// credential (bad JSON, CBOR, base64, or too large).
	ErrMalformed = errors.New("passkey: malformed response")

	// ErrChallenge reports a challenge that does not match the ceremony. It
	// is also the parent of [ErrReplay] and [ErrChallengeExpired].
	ErrChallenge = errors.New("passkey: challenge not valid")

	// ErrReplay reports a response whose challenge is unknown: already used
	// (a replayed response), never issued, or expired long ago. The page
	// begins the ceremony again.
	ErrReplay = fmt.Errorf("%w: unknown or already used", ErrChallenge)

	// ErrChallengeExpired reports a challenge that expired while the page
	// sat open (typically a conditional-UI offer); it is not a user error.
	// FinishLogin returns it inside a [*ChallengeExpiredError] holding a
	// fresh ceremony.
	ErrChallengeExpired = fmt.Errorf("%w: expired", ErrChallenge)

	// ErrBindingMismatch reports a ceremony finished by another browser
	// session than the one that began it.
	ErrBindingMismatch = errors.New("passkey: ceremony began in another session")

	// ErrWrongOrigin reports client data from an origin not in
	// Config.Origins.
	ErrWrongOrigin = errors.New("passkey: origin not allowed")

	// ErrWrongRPID reports authenticator data scoped to another relying
	// party id.
	ErrWrongRPID = errors.New("passkey: relying party id mismatch")

	// ErrWrongType reports client data of the wrong ceremony type (an
	// assertion sent to a registration finish, or the reverse).
	ErrWrongType = errors.New("passkey: wrong ceremony type")

	// ErrUserVerification reports a response without user verification
	// when it is required.
	ErrUserVerification = errors.New("passkey: user verification required")

	// ErrSignature reports an assertion or attestation whose signature or
	// other protocol check failed.
	ErrSignature = errors.New("passkey: verification failed")

	// ErrUnknownCredential reports a credential id that is not stored. The
	// [*UnknownCredentialError] carries the signalUnknownCredential payload.
	ErrUnknownCredential = errors.New("passkey: unknown credential")

	// ErrWrongUser reports a credential that belongs to another user than
	// the one the ceremony is for, or a userHandle that does not match the
	// credential's owner.
	ErrWrongUser = errors.New("passkey: credential belongs to another user")

	// ErrClonedAuthenticator reports a sign counter that did not increase:
	// two authenticators hold the same private key. The [*ClonedError]
	// carries the counts for the audit log.
	ErrClonedAuthenticator = errors.New("passkey: cloned authenticator suspected")

	// ErrCredentialExists reports a registration of a credential id that is
	// already stored.
	ErrCredentialExists = errors.New("passkey: credential already registered")

	// ErrNotFound reports a rename or removal of a credential the user does
	// not have.
	ErrNotFound = errors.New("passkey: credential not found")

	// ErrLastCredential reports a removal refused because it would leave
	// the user without a passkey while Remove's keepLast is set.
	ErrLastCredential = errors.New("passkey: last credential")

	// ErrNoBinding reports a ceremony begun or finished without a binding
	// value.
	ErrNoBinding = errors.New("passkey: empty session binding")
)

// UnknownCredentialError is returned (wrapping [ErrUnknownCredential]) when
// a sign-in presents a credential id that is not stored. Signal is the
// payload for PublicKeyCredential.signalUnknownCredential so the page can
// tell the browser to hide the stale passkey.
type UnknownCredentialError struct {
	CredentialID []byte
	Signal       SignalUnknownCredential
}

func (e *UnknownCredentialError) Error() string {
	return ErrUnknownCredential.Error() + " " + base64.RawURLEncoding.EncodeToString(e.CredentialID)
}

// Unwrap returns [ErrUnknownCredential].
func (e *UnknownCredentialError) Unwrap() error { return ErrUnknownCredential }

// ClonedError is returned (wrapping [ErrClonedAuthenticator]) when the sign
// counter of an assertion did not increase. A host logs it as an audit
// event; the credential is left stored so an operator can inspect it.
type ClonedError struct {
	UserID       string
	CredentialID []byte
	Stored       uint32 // counter stored from the previous sign-in
	Received     uint32 // counter in this assertion
}

func (e *ClonedError) Error() string {
	return fmt.Sprintf("%s: user %q credential %s counter %d after %d", ErrClonedAuthenticator.Error(),
		e.UserID, base64.RawURLEncoding.EncodeToString(e.CredentialID), e.Received, e.Stored)
}

// Unwrap returns [ErrClonedAuthenticator].
func (e *ClonedError) Unwrap() error { return ErrClonedAuthenticator }

// ErrInvalidName reports a credential name that is empty, too long
// (over [MaxNameBytes]), not UTF-8 or holds control characters.
var ErrInvalidName = errors.New("passkey: invalid credential name")

// ChallengeExpiredError is returned by FinishLogin (wrapping
// [ErrChallengeExpired]) when the ceremony's challenge expired while the
// page sat open. Fresh is a new ceremony of the same kind for the same
// session: the page calls navigator.credentials.get() with Fresh.JSON
// instead of showing an error.
type ChallengeExpiredError struct {
	Fresh Options
}

func (e *ChallengeExpiredError) Error() string {
	return ErrChallengeExpired.Error() + "; a fresh challenge was issued"
}

// Unwrap returns [ErrChallengeExpired].
func (e *ChallengeExpiredError) Unwrap() error { return ErrChallengeExpired }
