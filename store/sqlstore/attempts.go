package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/mfa"
)

// Attempts is the SQL [authkit.AttemptStore] and [mfa.AttemptCounter]:
// failure counts per key in a fixed window. Incr is one upsert, so N
// concurrent calls on one key return 1..N, each once (ASVS 15.4.2).
type Attempts struct{ s *Store }

var (
	_ authkit.AttemptStore = (*Attempts)(nil)
	_ mfa.AttemptCounter   = (*Attempts)(nil)
)

// Attempts returns the [authkit.AttemptStore] adapter.
func (s *Store) Attempts() *Attempts { return &Attempts{s} }

// Incr implements [authkit.AttemptStore]. The window starts at the first
// Incr on an absent or expired key (Config.Now) and is not extended; a
// window <= 0 yields a count of 1 that is already expired.
func (x *Attempts) Incr(ctx context.Context, k string, window time.Duration) (int, time.Time, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	now := x.s.now()
	var n, end int64
	err := x.s.db.QueryRowContext(ctx, x.s.q.attemptIncr, key(k), now.UnixMicro(), now.Add(window).UnixMicro()).Scan(&n, &end)
	if err != nil {
		return 0, time.Time{}, wrap("attempts incr", err)
	}
	return int(n), time.UnixMicro(end), nil
}

// Count implements [authkit.AttemptStore].
func (x *Attempts) Count(ctx context.Context, k string) (int, time.Time, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	var n, end int64
	err := x.s.db.QueryRowContext(ctx, x.s.q.attemptCount, key(k), x.s.nowMicros()).Scan(&n, &end)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, wrap("attempts count", err)
	}
	return int(n), time.UnixMicro(end), nil
}

// Reset implements [authkit.AttemptStore].
func (x *Attempts) Reset(ctx context.Context, k string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	_, err := x.s.db.ExecContext(ctx, x.s.q.attemptReset, key(k))
	return wrap("attempts reset", err)
}
