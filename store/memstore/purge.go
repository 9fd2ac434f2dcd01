package memstore

import (
	"context"
	"errors"
	"time"
)

// PurgeEvery calls each purge function every interval until ctx is done,
// then returns ctx.Err(). It is the sweeper for the in-memory stores, whose
// constructors start no goroutine: a host that keeps memstore records for
// anonymous or short-lived clients runs it in its own goroutine so expired
// records do not accumulate, e.g.
//
//	go memstore.PurgeEvery(ctx, time.Minute, func() { st.Purge() })
//
// Correctness never depends on it: expired records are already treated as
// missing. A non-positive interval is refused.
func PurgeEvery(ctx context.Context, interval time.Duration, purge ...func()) error {
	if interval <= 0 {
		return errors.New("memstore: purge interval must be positive")
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			for _, p := range purge {
				p()
			}
		}
	}
}

// Run purges expired sessions every interval until ctx is done and
// returns ctx.Err(); see [PurgeEvery]. Start it in the host's own
// goroutine:
//
//	go sessions.Run(ctx, time.Minute)
func (s *Sessions) Run(ctx context.Context, interval time.Duration) error {
	return PurgeEvery(ctx, interval, func() { s.Purge() })
}
