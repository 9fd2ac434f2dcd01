package jwt

import "errors"

// ErrInvalidToken is the one deliberately vague error every verification
// failure satisfies (errors.Is). Show only this to clients; the precise cause
// (one of the Err* values below) is wrapped in the same error for logs, in the
// spirit of crypto/rsa.ErrVerification and RFC 8725 §3.
var ErrInvalidToken = errors.New("jwt: invalid token")

// ErrTokenReused reports that a refresh token was presented a second time. The
// whole token family, its newest token included, has been revoked (RFC 9700
// §4.14.2, OWASP ASVS 10.4.5). It does not satisfy errors.Is(err, ErrInvalidToken).
var ErrTokenReused = errors.New("jwt: refresh token reused")

// Precise causes wrapped together with [ErrInvalidToken]. They are meant for
// logs and tests; never send them to a client.
var (
	ErrMalformed        = errors.New("jwt: malformed token")       // not a compact JWS, bad base64url or JSON
	ErrTooLarge         = errors.New("jwt: token too large")       // over the size cap
	ErrAlgorithm        = errors.New("jwt: algorithm not allowed") // alg not allowed or not the key's
	ErrUnknownKey       = errors.New("jwt: unknown key id")        // kid not in the key set
	ErrSignature        = errors.New("jwt: signature invalid")
	ErrForbiddenHeader  = errors.New("jwt: forbidden header parameter") // crit, jku, jwk, x5u, x5c, b64, cty, enc, zip
	ErrType             = errors.New("jwt: wrong token type")           // typ missing or not the expected one
	ErrDuplicateMember  = errors.New("jwt: duplicate JSON member")
	ErrInvalidUTF8      = errors.New("jwt: invalid UTF-8")
	ErrExpired          = errors.New("jwt: token expired")              // exp passed, or refresh family lifetime over
	ErrNotYetValid      = errors.New("jwt: token not yet valid")        // nbf in the future
	ErrIssuedInFuture   = errors.New("jwt: token issued in the future") // iat in the future
	ErrIssuer           = errors.New("jwt: wrong issuer")
	ErrAudience         = errors.New("jwt: audience not allowed")
	ErrMissingClaim     = errors.New("jwt: required claim missing")
	ErrClaimType        = errors.New("jwt: claim has the wrong type")
	ErrRevoked          = errors.New("jwt: token revoked")              // issued before the user's not-before
	ErrKeySetNotStarted = errors.New("jwt: remote key set not started") // RemoteKeySet before Start or after Close
)

// Configuration and key errors.
var (
	ErrWeakKey          = errors.New("jwt: key too weak")
	ErrUnsupportedAlg   = errors.New("jwt: unsupported algorithm")                          // including "none"
	ErrKeyMismatch      = errors.New("jwt: key does not match algorithm")                   // key type ≠ algorithm
	ErrNoSigningKey     = errors.New("jwt: no active signing key")                          // KeySet cannot sign
	ErrHS256NotAllowed  = errors.New("jwt: HS256 requires KeySetConfig.InsecureAllowHS256") // HS256 without opt-in
	ErrReservedClaim    = errors.New("jwt: extra claim uses a reserved name")               // AccessTokenRequest.Extra
	ErrKeyFilePerm      = errors.New("jwt: key file readable by group or others")           // FileKeySource refuses it
	ErrKeySourceCorrupt = errors.New("jwt: key source data corrupt")                        // bad JSON, wrong KEK or tampered file
)

// invalid wraps cause so that errors.Is matches both ErrInvalidToken and cause.
type invalid struct{ cause error }

func (e *invalid) Error() string   { return "jwt: invalid token: " + e.cause.Error() }
func (e *invalid) Unwrap() []error { return []error{ErrInvalidToken, e.cause} }

// Preallocated wrappers: the failure path allocates nothing for plain causes.
var (
	errMalformed       = &invalid{ErrMalformed}
	errTooLarge        = &invalid{ErrTooLarge}
	errAlgorithm       = &invalid{ErrAlgorithm}
	errUnknownKey      = &invalid{ErrUnknownKey}
	errSignature       = &invalid{ErrSignature}
	errForbiddenHeader = &invalid{ErrForbiddenHeader}
	errType            = &invalid{ErrType}
	errDuplicate       = &invalid{ErrDuplicateMember}
	errUTF8            = &invalid{ErrInvalidUTF8}
	errExpired         = &invalid{ErrExpired}
	errNotYetValid     = &invalid{ErrNotYetValid}
	errIssuedInFuture  = &invalid{ErrIssuedInFuture}
	errIssuer          = &invalid{ErrIssuer}
	errAudience        = &invalid{ErrAudience}
	errMissingClaim    = &invalid{ErrMissingClaim}
	errClaimType       = &invalid{ErrClaimType}
	errRevoked         = &invalid{ErrRevoked}
	errNotStarted      = &invalid{ErrKeySetNotStarted}
)

// ErrInvalidConfig is wrapped by every error of this package's
// constructors (NewKeySet, NewIssuer, NewVerifier, NewRefreshManager, NewRemoteKeySet, NewFileKeySource): each is NewT(TConfig) (*T, error) and
// reports a bad Config as an error satisfying errors.Is(err,
// ErrInvalidConfig); the message still names the field. A bad key
// given to NewKey or NewPublicKey is reported by the sentinels below
// ([ErrWeakKey], [ErrUnsupportedAlg], [ErrKeyMismatch]), and NewKeySet
// wraps those too.
var ErrInvalidConfig = errors.New("jwt: invalid config")

// configError is a constructor's error: its own message, satisfying
// errors.Is(err, ErrInvalidConfig) and errors.Is of the cause.
type configError struct{ err error }

func (e *configError) Error() string   { return e.err.Error() }
func (e *configError) Unwrap() []error { return []error{ErrInvalidConfig, e.err} }

// wrapInvalidConfig turns a constructor's *err into a configError; used as
// defer wrapInvalidConfig(&err).
func wrapInvalidConfig(err *error) {
	if *err != nil {
		*err = &configError{*err}
	}
}
