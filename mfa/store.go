package mfa

import (
	"context"
	"time"
)

// Enrollment is the stored TOTP state of one user. Secrets are sealed with a
// [SecretBox] before they reach a store (RFC 6238 §5.1: keys protected at
// rest); stores treat them as opaque bytes.
type Enrollment struct {
	// Secret is the sealed, confirmed TOTP key; empty when the user has no
	// active TOTP factor.
	Secret []byte
	// ConfirmedAt is when Secret was confirmed with a valid code.
	ConfirmedAt time.Time
	// Pending is the sealed key of an enrollment that was started but not yet
	// confirmed. It never replaces Secret until confirmed.
	Pending []byte
	// PendingAt is when Pending was created.
	PendingAt time.Time
}

// Active reports whether e holds a confirmed TOTP key.
func (e Enrollment) Active() bool { return len(e.Secret) > 0 }

// Store persists enrollments and backup codes. Implementations must be safe
// for concurrent use. err is for system failures only; callers fail closed on
// it. A cancelled ctx must yield an error matching context.Canceled.
// Times are compared by callers with a tolerance of one second, so stores may
// keep them at second precision.
//
// Conformance: mfatest.Run.
type Store interface {
	// Get returns the user's enrollment; found=false and err=nil when the
	// user has none.
	Get(ctx context.Context, userID string) (e Enrollment, found bool, err error)
	// Put creates or replaces the user's enrollment. It does not touch the
	// user's backup codes.
	Put(ctx context.Context, userID string, e Enrollment) error
	// Delete removes the user's enrollment and all backup codes. Deleting a
	// missing user returns nil.
	Delete(ctx context.Context, userID string) error
	// ReplaceBackupCodes atomically replaces the user's whole set of backup
	// code MACs (the old set becomes unusable). An empty slice clears it.
	ReplaceBackupCodes(ctx context.Context, userID string, codeMACs [][]byte) error
	// UseBackupCode atomically removes codeMAC from the user's set and
	// reports whether it was present. Among concurrent calls with the same
	// code exactly one reports used=true (ASVS 6.5.1).
	UseBackupCode(ctx context.Context, userID string, codeMAC []byte) (used bool, err error)
}

// ReplayStore remembers the last accepted TOTP time step per user so that a
// code is accepted at most once (RFC 6238 §5.2). Implementations must be
// safe for concurrent use; a cancelled ctx yields an error matching
// context.Canceled.
//
// Conformance: mfatest.RunReplay.
type ReplayStore interface {
	// Advance atomically records step as the user's last accepted step if,
	// and only if, no unexpired record exists or step is strictly greater
	// than the recorded one; it then keeps the record until expiry.
	// ok=false means replay (same or earlier step). Steps are below 2^53
	// ([MaxStep]), so SQL BIGINT columns and Redis Lua numbers (doubles)
	// hold them exactly. An expiry in the past may be treated as already
	// expired.
	Advance(ctx context.Context, userID string, step uint64, expiry time.Time) (ok bool, err error)
}

// Challenge is the server-side state of a pending two-step login: the
// password step succeeded for UserID and the second factor is due.
type Challenge struct {
	// UserID is the user who passed the password step.
	UserID string
	// PasswordAt is when the password step succeeded.
	PasswordAt time.Time
	// Expiry ends the challenge (default 5 minutes after PasswordAt).
	Expiry time.Time
	// Attempts counts wrong codes submitted against this challenge.
	Attempts int
	// Data is opaque to mfa: the login flow may keep e.g. the canonical
	// login name or a return path here. Stores keep it binary-safe.
	Data []byte
}

// ChallengeStore holds MFA challenges keyed by a hash of their token; the
// raw token never reaches the store. Implementations must be safe for
// concurrent use; a cancelled ctx yields an error matching context.Canceled.
//
// Conformance: mfatest.RunChallenge.
type ChallengeStore interface {
	// Save stores c under key until c.Expiry, replacing any previous value.
	Save(ctx context.Context, key string, c Challenge) error
	// Take atomically returns and deletes the challenge under key. Missing
	// or expired means found=false, err=nil. Among concurrent calls exactly
	// one gets found=true.
	Take(ctx context.Context, key string) (c Challenge, found bool, err error)
}

// AttemptCounter counts failures per key within a fixed window; mfa uses it
// to throttle wrong codes per account across parallel sessions (RFC 4226
// §7.3). The root authkit lockout store has the same method set, so one
// adapter serves both. Keys used by mfa start with "mfa:".
type AttemptCounter interface {
	// Incr adds one failure for key and returns the count within the current window and when the window ends.
	// The window starts with the first Incr on an absent or expired key and is not extended by later Incr calls.
	Incr(ctx context.Context, key string, window time.Duration) (n int, windowEnd time.Time, err error)
	// Count returns the current count and window end without changing them (0, zero time if absent/expired).
	Count(ctx context.Context, key string) (n int, windowEnd time.Time, err error)
	// Reset removes the key; resetting an absent key is not an error.
	Reset(ctx context.Context, key string) error
}
