package password

import (
	"errors"
	"fmt"
)

// Errors returned by [Hasher]. Check them with [errors.Is]; the messages are
// for logs, never for clients (a login must answer "invalid credentials"
// whatever went wrong).
var (
	// ErrInvalidHash reports a stored hash that is malformed, uses an
	// unsupported scheme, or has parameters outside the decoding bounds
	// (OWASP Password Storage Cheat Sheet). The wrapping
	// error says which check failed.
	ErrInvalidHash = errors.New("password: invalid hash")

	// ErrUnknownPepper reports an argon2id hash whose pepper key id is not
	// among [Config.Peppers]: a pepper was retired too early.
	ErrUnknownPepper = errors.New("password: unknown pepper key id")

	// ErrBusy reports that no hashing slot (the cap of
	// [Config.MaxConcurrent]) freed before [Config.MaxWait] passed or the
	// context ended; in the latter case the error also wraps the context's
	// error. Map it to 503 with Retry-After, never to "invalid
	// credentials", and do the same for unknown users (see
	// [Hasher.VerifyDummy]).
	ErrBusy = errors.New("password: too many concurrent hashes")
)

// Sentinels for the rules of [Policy]. A [*PolicyError] unwraps to exactly
// one of them, so errors.Is(err, ErrTooShort) works on the result of
// [Policy.Check].
var (
	// ErrTooShort: fewer code points than the minimum (NIST SP 800-63B
	// §5.1.1.2; ASVS 6.2.1).
	ErrTooShort = errors.New("password: too short")
	// ErrTooLong: more code points than the configured maximum, which is
	// never below 64 (ASVS 6.2.9).
	ErrTooLong = errors.New("password: too long")
	// ErrCommon: the password is on the common-password blocklist (ASVS 6.2.4).
	ErrCommon = errors.New("password: too common")
	// ErrRepetitive: one repeated character or a plain sequence such as
	// "abcdefgh" (NIST SP 800-63B §5.1.1.2).
	ErrRepetitive = errors.New("password: repetitive or sequential")
	// ErrContext: the password equals the user's email, its local part,
	// the user's name or a configured service word (NIST SP 800-63B §5.1.1.2).
	ErrContext = errors.New("password: matches the user's own details")
	// ErrComposition: an opted-in composition rule failed (off by default;
	// ASVS 6.2.5).
	ErrComposition = errors.New("password: missing required character classes")
	// ErrBreached: the [BreachedChecker] found the password in a breach
	// corpus (ASVS 6.2.12).
	ErrBreached = errors.New("password: found in a data breach")
)

// Rule names a [Policy] rule. Its string form is stable and suitable for an
// API response field (NIST SP 800-63B §5.1.1.2: tell the user why a password
// was rejected).
type Rule string

// The rules checked by [Policy.Check], in the order they are checked.
const (
	RuleTooShort    Rule = "too_short"
	RuleTooLong     Rule = "too_long"
	RuleComposition Rule = "composition"
	RuleContext     Rule = "context"
	RuleRepetitive  Rule = "repetitive"
	RuleCommon      Rule = "common"
	RuleBreached    Rule = "breached"
)

// PolicyError says which [Policy] rule rejected a password. It unwraps to the
// rule's sentinel (ErrTooShort, ErrTooLong, ...). It never contains the
// password itself.
type PolicyError struct {
	Rule Rule
	// Min and Max are the configured length bounds for RuleTooShort and
	// RuleTooLong; Length is the measured length in code points after NFKC.
	Min, Max, Length int
}

// Error implements error.
func (e *PolicyError) Error() string {
	switch e.Rule {
	case RuleTooShort:
		return fmt.Sprintf("password: too short: %d characters, at least %d required", e.Length, e.Min)
	case RuleTooLong:
		return fmt.Sprintf("password: too long: %d characters, at most %d allowed", e.Length, e.Max)
	}
	if s := e.Unwrap(); s != nil {
		return s.Error()
	}
	return "password: rejected by rule " + string(e.Rule)
}

// Unwrap returns the sentinel error of e.Rule.
func (e *PolicyError) Unwrap() error {
	switch e.Rule {
	case RuleTooShort:
		return ErrTooShort
	case RuleTooLong:
		return ErrTooLong
	case RuleComposition:
		return ErrComposition
	case RuleContext:
		return ErrContext
	case RuleRepetitive:
		return ErrRepetitive
	case RuleCommon:
		return ErrCommon
	case RuleBreached:
		return ErrBreached
	}
	return nil
}

// ErrInvalidConfig is wrapped by every error of this package's
// constructors (New, NewHIBP, NewPolicy): each is NewT(TConfig) (*T, error) and
// reports a bad Config as an error satisfying errors.Is(err,
// ErrInvalidConfig); the message still names the field.
var ErrInvalidConfig = errors.New("password: invalid config")

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
