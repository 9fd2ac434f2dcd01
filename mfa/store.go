package mfa

import (
	"context"
	"time"
)

// Enrollment is the stored TOTP state of one user. Secrets are sealed with a
// [SecretBox] before they reach a store (RFC 6238 §5.1: keys protected at
// rest); stores treat them as opaque bytes.
type Enrollment struct {
	// Version identifies this state of the enrollment for compare-and-set
	// writes ([Store.Put]). MFA sets a fresh random nonzero value on every
	// write, so a version is never reused, not even after a Delete and a
	// new enrollment; stores keep it exactly and only compare it.
	Version uint64
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
	// PendingReplaces reports that Pending was started while Secret was
	// active and the start was authorized by a current second factor
	// ([Proof]); only then may confirming Pending replace Secret.
	PendingReplaces bool
}

// Active reports whether e holds a confirmed TOTP key.
func (e Enrollment) Active() bool { return len(e.Secret) > 0 }

// Store persists enrollments and backup codes. Implementations must be safe
// for concurrent use. err is for system failures only; callers fail closed on
// it. A cancelled ctx must yield an error matching context.Canceled.
// Times are compared by callers with a tolerance of one second, so stores may
// keep them at second precision.
//
// Writes are compare-and-set on [Enrollment.Version]: a write that read the
// enrollment before a Delete (MFA disabled, account reset) or before another
// write fails instead of bringing the old state back. Enrollments and backup
// codes are long-lived user state: stores keep them without expiry and must
// not evict them.
//
// Conformance: mfatest.Run.
type Store interface {
	// Get returns the user's enrollment; found=false and err=nil when the
	// user has none.
	Get(ctx context.Context, userID string) (e Enrollment, found bool, err error)
	// Put atomically writes e (including e.Version, never 0) if, and only
	// if, the stored version is prev; prev 0 means "no enrollment is
	// stored", and creating one starts from an empty backup-code set.
	// ok=false with err=nil means the stored state differs (another write
	// or a Delete came first) and nothing was written. A non-empty codeMACs
	// replaces the user's whole set of backup-code MACs in the same atomic
	// step (the old set becomes unusable); an empty one leaves the set as
	// it is.
	Put(ctx context.Context, userID string, prev uint64, e Enrollment, codeMACs [][]byte) (ok bool, err error)
	// Delete removes the user's enrollment and all backup codes. Deleting a
	// missing user returns nil. Every Put that read an earlier state then
	// fails.
	Delete(ctx context.Context, userID string) error
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
	// expired. The record must not disappear before expiry as the
	// caller's clock measures it: a store whose server keeps its own
	// clock (Redis) converts expiry to a relative TTL, so a server clock
	// running ahead cannot drop the record early.
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
	// login name or a return path here. It is kept byte for byte.
	Data []byte
}

// TicketStore keeps single-use records that expire, namespaced by purpose:
// mfa keeps each [Challenge] in it under the purpose [ChallengePurpose],
// keyed by a hash of the challenge token (the raw token never reaches the
// store), in its own encoding. It is a consumer-side view of the root
// package's TicketStore, which every store adapter offers as Tickets, so
// one store serves mfa, OAuth, passkeys and the reset links.
// Implementations must be safe for concurrent use; a cancelled ctx yields
// an error matching context.Canceled.
//
// Conformance: authkittest.RunTicketStore.
type TicketStore interface {
	// Put stores data under (purpose, key) until expiry, replacing any
	// record there. A record whose expiry has passed is never returned.
	Put(ctx context.Context, purpose, key string, data []byte, expiry time.Time) error
	// Take returns the record and deletes it in one atomic step: of
	// concurrent Takes at most one finds it. found=false for missing or
	// expired; err only for system failures.
	Take(ctx context.Context, purpose, key string) (data []byte, found bool, err error)
}

// AttemptCounter is the part of a failure counter that mfa calls, to
// throttle wrong codes per account across parallel sessions (RFC 4226
// §7.3). It is a consumer-side view of the one attempt counter a host
// already has: the root package's AttemptStore and every store adapter's
// Attempts satisfy it, and mfa's keys start with "mfa:" so they never meet
// the lockout's keys.
type AttemptCounter interface {
	// Incr adds one failure for key and returns the count within the
	// current window and when the window ends. The window starts with the
	// first Incr on an absent or expired key and is not extended by later
	// Incr calls.
	Incr(ctx context.Context, key string, window time.Duration) (n int, windowEnd time.Time, err error)
	// Reset removes the key; resetting an absent key is not an error.
	Reset(ctx context.Context, key string) error
}
