// Package limitertest checks implementations of [middleware.Limiter] against
// its documented contract, in the manner of testing/slogtest: [Run] runs one
// parallel subtest per case and [Test] returns the joined failures.
//
// The suite works against limiters with a real clock and a remote store
// (Redis, SQL): a case that needs time to pass waits for it (at most about
// 1.5 s) and timing checks allow [Tolerance]. Implementations may be fixed
// windows (like [middleware.WindowLimiter]), sliding windows, token buckets
// or GCRA; the suite checks only what all of them guarantee for a limit of
// Limit events per Window:
//
//   - a fresh key allows exactly Limit events at once, then denies, with
//     Remaining counting down and 0 < RetryAfter <= Window;
//   - keys are independent and opaque (hostile characters, long keys);
//   - denied calls never delay the next allowed event (they may count, but
//     not push the window or the refill out), and an event is allowed again
//     after waiting RetryAfter;
//   - N concurrent events on a fresh key allow exactly min(N, Limit);
//   - a cancelled context gives an error wrapping [context.Canceled].
package limitertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/middleware"
)

// Config is the policy a case needs: Limit events per Window, all of which
// a fresh key may make at once.
type Config struct {
	Limit  int
	Window time.Duration
}

// Tolerance is the timing slack the suite allows an implementation (clock
// granularity, network round trips).
const Tolerance = 250 * time.Millisecond

// NewLimiterFunc returns a new, empty limiter enforcing cfg. It is called at
// least once per case and every limiter it returns must start with no
// counts: a limiter backed by a shared server (one Redis database) should
// use a fresh random key prefix per call, so cases, parallel runs and
// repeated runs (-count=N) never see each other's keys.
type NewLimiterFunc func(t *testing.T, cfg Config) middleware.Limiter

// newFunc makes limiters for one case.
type newFunc = func(Config) (middleware.Limiter, error)

var cases = suite.Suite[newFunc]{Name: "limitertest", Cases: []suite.Case[newFunc]{
	{Name: "BurstThenDeny", Check: burstThenDeny},
	{Name: "KeysIndependent", Check: keysIndependent},
	{Name: "HostileKeys", Check: hostileKeys},
	{Name: "RecoverAfterRetryAfter", Check: recoverAfterRetryAfter},
	{Name: "DeniedDoNotDelay", Check: deniedDoNotDelay},
	{Name: "ConcurrentOneKey", Check: concurrentOneKey},
	{Name: "ConcurrentManyKeys", Check: concurrentManyKeys},
	{Name: "CancelledContext", Check: cancelledContext},
}}

// Run runs every case in its own parallel subtest. newLimiter is called once
// or more per case and must return an empty limiter enforcing the given
// Config; it registers cleanup with t.Cleanup.
func Run(t *testing.T, newLimiter NewLimiterFunc) {
	t.Helper()
	cases.Run(t, func(t *testing.T) newFunc {
		return func(cfg Config) (middleware.Limiter, error) { return newLimiter(t, cfg), nil }
	})
}

// Test runs every case (concurrently, so the waiting cases overlap) without
// subtests and returns errors.Join of the failures, each prefixed with the
// case name. Its main use is proving that the suite rejects broken limiters.
func Test(newLimiter func(cfg Config) (middleware.Limiter, error)) error {
	return cases.Test(func() (newFunc, error) { return newLimiter, nil })
}

// longCfg never allows a new event during a test.
var longCfg = Config{Limit: 5, Window: time.Hour}

func allowN(ctx context.Context, l middleware.Limiter, key string, n int) error {
	for i := range n {
		d, err := l.Allow(ctx, key)
		if err != nil {
			return fmt.Errorf("Allow(%q) #%d: %w", key, i+1, err)
		}
		if !d.Allowed {
			return fmt.Errorf("got: Allow(%q) #%d denied within the burst", key, i+1)
		}
	}
	return nil
}

func expectDenied(ctx context.Context, l middleware.Limiter, key string, window time.Duration) (middleware.Decision, error) {
	d, err := l.Allow(ctx, key)
	if err != nil {
		return d, fmt.Errorf("Allow(%q): %w", key, err)
	}
	if d.Allowed {
		return d, fmt.Errorf("got: Allow(%q) allowed beyond the burst", key)
	}
	if d.RetryAfter <= 0 || d.RetryAfter > window+Tolerance {
		return d, fmt.Errorf("got: Allow(%q) denied with RetryAfter %v, want in (0, %v]", key, d.RetryAfter, window)
	}
	return d, nil
}

func burstThenDeny(ctx context.Context, newLimiter func(Config) (middleware.Limiter, error)) error {
	l, err := newLimiter(longCfg)
	if err != nil {
		return err
	}
	const key = "limitertest:burst"
	for i := range longCfg.Limit {
		d, err := l.Allow(ctx, key)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return fmt.Errorf("event %d of %d denied", i+1, longCfg.Limit)
		}
		if want := longCfg.Limit - 1 - i; d.Remaining != want {
			return fmt.Errorf("event %d: Remaining = %d, want %d", i+1, d.Remaining, want)
		}
		if d.RetryAfter != 0 {
			return fmt.Errorf("event %d allowed with RetryAfter %v, want 0", i+1, d.RetryAfter)
		}
	}
	for range 3 {
		d, err := expectDenied(ctx, l, key, longCfg.Window)
		if err != nil {
			return err
		}
		if d.Remaining != 0 {
			return fmt.Errorf("denied with Remaining %d, want 0", d.Remaining)
		}
	}
	return nil
}

func keysIndependent(ctx context.Context, newLimiter func(Config) (middleware.Limiter, error)) error {
	l, err := newLimiter(longCfg)
	if err != nil {
		return err
	}
	if err := allowN(ctx, l, "limitertest:a", longCfg.Limit); err != nil {
		return err
	}
	if _, err := expectDenied(ctx, l, "limitertest:a", longCfg.Window); err != nil {
		return err
	}
	// A different key, and one with a common prefix, keep their full burst.
	for _, k := range []string{"limitertest:b", "limitertest:aa", "limitertest:"} {
		if err := allowN(ctx, l, k, longCfg.Limit); err != nil {
			return fmt.Errorf("after exhausting another key: %w", err)
		}
	}
	return nil
}

// hostileKeys are keys with meaning in Redis globs, hash tags, SQL LIKE,
// URL encoding and shells; each must be stored literally and independently.
var hostileKeyList = []string{
	"*", "?", "[a]", "%", "_", ":", "::", "{tag}", "{tag}x", "'", `"`, `\`, " ",
	"a b", "a\x00b", "a\nb", "é", "e\u0301", "\xff\xfe", "ip:1.2.3.4", "ip:1.2.3.4 ",
	strings.Repeat("k", 1024),
}

func hostileKeys(ctx context.Context, newLimiter func(Config) (middleware.Limiter, error)) error {
	l, err := newLimiter(Config{Limit: 1, Window: time.Hour})
	if err != nil {
		return err
	}
	// Each key gets exactly one event: if two keys shared a counter, the
	// second would be denied; if a key were not counted, its second call
	// would be allowed.
	for _, k := range hostileKeyList {
		if err := allowN(ctx, l, "limitertest:h:"+k, 1); err != nil {
			return err
		}
	}
	for _, k := range hostileKeyList {
		if _, err := expectDenied(ctx, l, "limitertest:h:"+k, time.Hour); err != nil {
			return err
		}
	}
	return nil
}

// shortCfg allows one event per second.
var shortCfg = Config{Limit: 1, Window: time.Second}

func waitFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func recoverAfterRetryAfter(ctx context.Context, newLimiter func(Config) (middleware.Limiter, error)) error {
	l, err := newLimiter(shortCfg)
	if err != nil {
		return err
	}
	const key = "limitertest:recover"
	if err := allowN(ctx, l, key, 1); err != nil {
		return err
	}
	d, err := expectDenied(ctx, l, key, shortCfg.Window)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, d.RetryAfter+Tolerance/2); err != nil {
		return err
	}
	if err := allowN(ctx, l, key, 1); err != nil {
		return fmt.Errorf("after waiting RetryAfter (%v): %w", d.RetryAfter, err)
	}
	return nil
}

func deniedDoNotDelay(ctx context.Context, newLimiter func(Config) (middleware.Limiter, error)) error {
	l, err := newLimiter(shortCfg)
	if err != nil {
		return err
	}
	const key = "limitertest:knock"
	if err := allowN(ctx, l, key, 1); err != nil {
		return err
	}
	first, err := expectDenied(ctx, l, key, shortCfg.Window)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(first.RetryAfter)
	// Keep knocking until the first denial's RetryAfter has passed: the
	// denied calls must not push the next allowed event further out.
	knocks := 0
	for time.Now().Before(deadline.Add(-Tolerance / 2)) {
		if _, err := expectDenied(ctx, l, key, shortCfg.Window); err != nil {
			if !time.Now().Before(deadline.Add(-Tolerance / 2)) {
				// The call returned only near the deadline (a loaded
				// machine): the store may have run it there, where an
				// allowance is due. Not evidence of consumption.
				break
			}
			return fmt.Errorf("knock %d: %w", knocks+1, err)
		}
		knocks++
		if err := waitFor(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	if err := waitFor(ctx, time.Until(deadline)+Tolerance/2); err != nil {
		return err
	}
	if err := allowN(ctx, l, key, 1); err != nil {
		return fmt.Errorf("after %d denied calls and waiting the first RetryAfter (%v): %w", knocks, first.RetryAfter, err)
	}
	return nil
}

const goroutines = 64

func concurrentOneKey(ctx context.Context, newLimiter func(Config) (middleware.Limiter, error)) error {
	cfg := Config{Limit: 10, Window: time.Hour}
	l, err := newLimiter(cfg)
	if err != nil {
		return err
	}
	var allowed, denied atomic.Int64
	errs := make([]error, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			d, err := l.Allow(ctx, "limitertest:race")
			switch {
			case err != nil:
				errs[g] = err
			case d.Allowed:
				allowed.Add(1)
			default:
				denied.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if allowed.Load() != int64(cfg.Limit) {
		return fmt.Errorf("%d concurrent events on one key: %d allowed, want exactly %d", goroutines, allowed.Load(), cfg.Limit)
	}
	return nil
}

func concurrentManyKeys(ctx context.Context, newLimiter func(Config) (middleware.Limiter, error)) error {
	cfg := Config{Limit: 3, Window: time.Hour}
	l, err := newLimiter(cfg)
	if err != nil {
		return err
	}
	const keys, perKey = 16, 8
	counts := make([]atomic.Int64, keys)
	errs := make([]error, keys*perKey)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range keys * perKey {
		wg.Go(func() {
			<-start
			k := g % keys
			d, err := l.Allow(ctx, fmt.Sprintf("limitertest:many:%d", k))
			if err != nil {
				errs[g] = err
			} else if d.Allowed {
				counts[k].Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for k := range counts {
		if n := counts[k].Load(); n != int64(cfg.Limit) {
			return fmt.Errorf("key %d: %d of %d concurrent events allowed, want exactly %d", k, n, perKey, cfg.Limit)
		}
	}
	return nil
}

func cancelledContext(ctx context.Context, newLimiter func(Config) (middleware.Limiter, error)) error {
	l, err := newLimiter(longCfg)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	d, err := l.Allow(cctx, "limitertest:cancel")
	if !errors.Is(err, context.Canceled) {
		return fmt.Errorf("got: Allow with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}
	if d.Allowed {
		return errors.New("got: Allow with a cancelled context returned Allowed")
	}
	return nil
}
