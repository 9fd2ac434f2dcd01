package authkit

import (
	"context"
	"time"
)

// AttemptStore counts failures per key within a fixed window (lockout, per-IP failure budgets).
//
// The login flow keys it by canonical login name and by client IP (NIST SP
// 800-63B section 5.2.2; ASVS 6.1.1, 6.3.1) and relies on Incr being atomic:
// N concurrent Incr calls on one key return the counts 1..N, each exactly once
// (ASVS 15.4.2). Keys are opaque strings; characters such as
// '*', '%', ':' or quotes have no special meaning. err is for system failure
// only and callers fail closed on it. Times are compared with a tolerance of
// one second, so stores keeping whole seconds conform; but every Incr and
// Count within one window must report the same window end to the second
// (the stored end, not one recomputed from a remaining TTL), since the
// lockout keys the per-IP refunds of a window by it. The mfa package
// declares an identical AttemptCounter, so one implementation serves both.
// authkittest.RunAttemptStore checks implementations.
type AttemptStore interface {
	// Incr adds one failure for key and returns the count within the current window and when the window ends.
	// The window starts with the first Incr on an absent or expired key and is not extended by later Incr calls.
	Incr(ctx context.Context, key string, window time.Duration) (n int, windowEnd time.Time, err error)
	// Count returns the current count and window end without changing them (0, zero time if absent/expired).
	Count(ctx context.Context, key string) (n int, windowEnd time.Time, err error)
	// Reset removes the key; resetting an absent key is not an error.
	Reset(ctx context.Context, key string) error
}
