package mfa

import (
	"errors"
	"time"
)

// Errors returned by this package. Client-facing responses should map all
// code failures (wrong, replayed, malformed) to one vague message, as
// crypto/rsa's ErrVerification does; the distinct sentinels exist for audit
// logs only.
var (
	// ErrInvalidCode reports a wrong, malformed, expired or replayed code.
	ErrInvalidCode = errors.New("mfa: invalid code")
	// ErrReplayed reports a TOTP code whose time step was already accepted
	// (RFC 6238 §5.2). Errors matching it also match [ErrInvalidCode].
	ErrReplayed = errors.New("mfa: code already used")
	// ErrNotEnrolled reports a user without a confirmed TOTP enrollment.
	ErrNotEnrolled = errors.New("mfa: not enrolled")
	// ErrNoPendingEnrollment reports a Confirm without a preceding Enroll.
	ErrNoPendingEnrollment = errors.New("mfa: no pending enrollment")
	// ErrThrottled reports too many wrong codes for one account within the
	// failure window (RFC 4226 §7.3). The concrete error is a
	// *[ThrottledError] carrying the wait.
	ErrThrottled = errors.New("mfa: too many failed attempts")
	// ErrInvalidChallenge reports an unknown, expired, already used or
	// exhausted MFA challenge token.
	ErrInvalidChallenge = errors.New("mfa: invalid challenge")
	// ErrSealedSecret reports a sealed blob that cannot be opened: malformed,
	// tampered with, sealed for another user or under an unknown key.
	ErrSealedSecret = errors.New("mfa: cannot open sealed secret")
	// ErrFactorRequired reports an attempt to replace an active second
	// factor without proof of it: a current TOTP or backup code, or a
	// sign-in that itself used the second factor recently ([Proof]).
	ErrFactorRequired = errors.New("mfa: current second factor required")
	// ErrStateChanged reports a write that lost a compare-and-set: the
	// enrollment was changed or deleted (MFA disabled, account reset)
	// after this operation read it, so nothing was written.
	ErrStateChanged = errors.New("mfa: enrollment changed concurrently")
	// ErrStateMissing reports that the caller expects MFA to be on for the
	// user but the enrollment is absent, inactive or cannot be read (data
	// lost from the store, a restore from an older backup, a store
	// failure). The login must be refused, never downgraded to one factor.
	ErrStateMissing = errors.New("mfa: enrollment missing for a user with MFA on")
	// ErrInvalidConfig reports a rejected Config or SecretBoxConfig.
	ErrInvalidConfig = errors.New("mfa: invalid config")
)

// ThrottledError is returned (wrapped as needed) when an account has used up
// its wrong-code budget. It matches [ErrThrottled] with errors.Is.
type ThrottledError struct {
	// RetryAfter is how long until the failure window ends (never negative).
	RetryAfter time.Duration
}

// Error implements error.
func (e *ThrottledError) Error() string { return ErrThrottled.Error() }

// Is reports whether target is ErrThrottled.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// replayError matches both ErrReplayed and ErrInvalidCode.
type replayError struct{}

func (replayError) Error() string { return ErrReplayed.Error() }

func (replayError) Is(target error) bool { return target == ErrReplayed || target == ErrInvalidCode }
