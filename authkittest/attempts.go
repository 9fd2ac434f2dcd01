package authkittest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/suite"
)

// TimeTolerance is the slack allowed when comparing a store's window end
// with the expected one: stores may keep whole seconds (SQLite) or
// microseconds (PostgreSQL), and remote stores use their own clock.
const TimeTolerance = time.Second

var attemptCases = suite.Suite[authkit.AttemptStore]{Name: "authkittest", Cases: []suite.Case[authkit.AttemptStore]{
	{Name: "CountMissing", Check: countMissing},
	{Name: "IncrCounts", Check: incrCounts},
	{Name: "WindowNotExtended", Check: windowNotExtended},
	{Name: "WindowEndStable", Check: windowEndStable},
	{Name: "CountDoesNotChange", Check: countDoesNotChange},
	{Name: "Reset", Check: resetCase},
	{Name: "ResetMissing", Check: resetMissing},
	{Name: "KeysIndependent", Check: attemptKeysIndependent},
	{Name: "HostileKeys", Check: attemptHostileKeys},
	{Name: "WindowExpires", Check: windowExpires},
	{Name: "CancelledContext", Check: attemptCancelled},
	{Name: "ConcurrentIncr", Check: concurrentIncr},
	{Name: "ConcurrentKeys", Check: concurrentKeys},
}}

// RunAttemptStore runs the [authkit.AttemptStore] conformance cases, each in
// its own parallel subtest. newStore is called once per case and returns an
// empty, isolated store (for a server-backed store: a fresh random key prefix
// or table per call, so parallel and repeated runs never share keys); it
// registers its cleanup with t.Cleanup. One case
// (WindowExpires) waits about 2.5 s for a short window to pass, since real
// servers' clocks cannot be injected, and one (WindowEndStable) 1.1 s.
func RunAttemptStore(t *testing.T, newStore func(t *testing.T) authkit.AttemptStore) {
	t.Helper()
	attemptCases.Run(t, newStore)
}

// TestAttemptStore runs the same cases concurrently without subtests and
// returns errors.Join of the failures, each prefixed with its case name.
func TestAttemptStore(newStore func() (authkit.AttemptStore, error)) error {
	return attemptCases.Test(newStore)
}

const longWindow = time.Hour

func near(got, want time.Time) bool {
	d := got.Sub(want)
	return d > -TimeTolerance && d < TimeTolerance
}

func countMissing(ctx context.Context, s authkit.AttemptStore) error {
	n, end, err := s.Count(ctx, "authkittest:missing")
	if err != nil || n != 0 || !end.IsZero() {
		return fmt.Errorf("got: Count(missing) = %d, %v, %v; want 0, zero time, nil", n, end, err)
	}
	return nil
}

func incrCounts(ctx context.Context, s authkit.AttemptStore) error {
	const key = "authkittest:incr"
	before := time.Now()
	for i := 1; i <= 5; i++ {
		n, end, err := s.Incr(ctx, key, longWindow)
		if err != nil {
			return fmt.Errorf("got: Incr #%d: %w", i, err)
		}
		if n != i {
			return fmt.Errorf("got: Incr #%d returned n = %d, want %d", i, n, i)
		}
		if !near(end, before.Add(longWindow)) {
			return fmt.Errorf("got: Incr #%d returned windowEnd %v, want about %v", i, end, before.Add(longWindow))
		}
	}
	return nil
}

func windowNotExtended(ctx context.Context, s authkit.AttemptStore) error {
	const key = "authkittest:fixed"
	_, end1, err := s.Incr(ctx, key, longWindow)
	if err != nil {
		return err
	}
	// A later Incr with a longer window must not move the end.
	_, end2, err := s.Incr(ctx, key, 2*longWindow)
	if err != nil {
		return err
	}
	if !near(end2, end1) {
		return fmt.Errorf("second Incr moved windowEnd from %v to %v; the window must not be extended", end1, end2)
	}
	_, end3, err := s.Count(ctx, key)
	if err != nil {
		return err
	}
	if !near(end3, end1) {
		return fmt.Errorf("got: Count windowEnd %v, want %v", end3, end1)
	}
	return nil
}

// windowEndStable: every call within one window reports the same window
// end to the second (the stored end, not one recomputed from a remaining
// TTL), since the lockout keys per-IP refunds by it.
func windowEndStable(ctx context.Context, s authkit.AttemptStore) error {
	const key = "authkittest:stable"
	_, end1, err := s.Incr(ctx, key, longWindow)
	if err != nil {
		return err
	}
	if err := sleepCtx(ctx, 1100*time.Millisecond); err != nil {
		return err
	}
	_, end2, err := s.Incr(ctx, key, longWindow)
	if err != nil {
		return err
	}
	_, end3, err := s.Count(ctx, key)
	if err != nil {
		return err
	}
	if end2.Unix() != end1.Unix() || end3.Unix() != end1.Unix() {
		return fmt.Errorf("got: window ends %v, %v, %v within one window; want the same second each time", end1, end2, end3)
	}
	return nil
}

func countDoesNotChange(ctx context.Context, s authkit.AttemptStore) error {
	const key = "authkittest:count"
	for range 3 {
		if _, _, err := s.Incr(ctx, key, longWindow); err != nil {
			return err
		}
	}
	for i := range 3 {
		n, end, err := s.Count(ctx, key)
		if err != nil {
			return err
		}
		if n != 3 || end.IsZero() {
			return fmt.Errorf("got: Count #%d = %d, %v; want 3 and a window end", i+1, n, end)
		}
	}
	n, _, err := s.Incr(ctx, key, longWindow)
	if err != nil {
		return err
	}
	if n != 4 {
		return fmt.Errorf("got: Incr after Count = %d, want 4 (Count must not change the count)", n)
	}
	return nil
}

func resetCase(ctx context.Context, s authkit.AttemptStore) error {
	const key = "authkittest:reset"
	for range 3 {
		if _, _, err := s.Incr(ctx, key, longWindow); err != nil {
			return err
		}
	}
	if err := s.Reset(ctx, key); err != nil {
		return fmt.Errorf("got: Reset: %w", err)
	}
	n, end, err := s.Count(ctx, key)
	if err != nil || n != 0 || !end.IsZero() {
		return fmt.Errorf("got: Count after Reset = %d, %v, %v; want 0, zero time, nil", n, end, err)
	}
	n, _, err = s.Incr(ctx, key, longWindow)
	if err != nil || n != 1 {
		return fmt.Errorf("got: Incr after Reset = %d, %v; want 1, nil", n, err)
	}
	return nil
}

func resetMissing(ctx context.Context, s authkit.AttemptStore) error {
	if err := s.Reset(ctx, "authkittest:never"); err != nil {
		return fmt.Errorf("got: Reset(missing) = %v, want nil", err)
	}
	return nil
}

func attemptKeysIndependent(ctx context.Context, s authkit.AttemptStore) error {
	for range 3 {
		if _, _, err := s.Incr(ctx, "authkittest:a", longWindow); err != nil {
			return err
		}
	}
	for _, k := range []string{"authkittest:b", "authkittest:aa", "authkittest:"} {
		n, _, err := s.Incr(ctx, k, longWindow)
		if err != nil || n != 1 {
			return fmt.Errorf("got: Incr(%q) = %d, %v after another key was counted; want 1, nil", k, n, err)
		}
	}
	if err := s.Reset(ctx, "authkittest:b"); err != nil {
		return err
	}
	if n, _, err := s.Count(ctx, "authkittest:a"); err != nil || n != 3 {
		return fmt.Errorf("got: Count(a) = %d, %v after Reset(b); want 3, nil", n, err)
	}
	return nil
}

var hostileKeys = []string{
	"*", "?", "[a]", "%", "_", ":", "{tag}", "'", `"`, `\`, " ", "a b", "a\x00b", "a\nb",
	"é", "e\u0301", "login:ÉVE@example.com", strings.Repeat("k", 1024),
}

func attemptHostileKeys(ctx context.Context, s authkit.AttemptStore) error {
	// Key i is incremented i+1 times: any two keys sharing a counter, or a
	// key matched as a pattern, shows up as a wrong count.
	for i, k := range hostileKeys {
		for range i + 1 {
			if _, _, err := s.Incr(ctx, "authkittest:h:"+k, longWindow); err != nil {
				return fmt.Errorf("got: Incr(%q): %w", k, err)
			}
		}
	}
	for i, k := range hostileKeys {
		n, _, err := s.Count(ctx, "authkittest:h:"+k)
		if err != nil || n != i+1 {
			return fmt.Errorf("got: Count(%q) = %d, %v; want %d, nil", k, n, err, i+1)
		}
	}
	if err := s.Reset(ctx, "authkittest:h:*"); err != nil {
		return err
	}
	if n, _, err := s.Count(ctx, "authkittest:h:%"); err != nil || n == 0 {
		return fmt.Errorf("got: Reset(%q) removed other keys: Count(%q) = %d, %v", "*", "%", n, err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func windowExpires(ctx context.Context, s authkit.AttemptStore) error {
	const key = "authkittest:expire"
	const window = 1500 * time.Millisecond
	for range 2 {
		if _, _, err := s.Incr(ctx, key, window); err != nil {
			return err
		}
	}
	// Wait out the window plus a second for stores with whole-second TTLs.
	if err := sleepCtx(ctx, window+TimeTolerance); err != nil {
		return err
	}
	n, end, err := s.Count(ctx, key)
	if err != nil || n != 0 || !end.IsZero() {
		return fmt.Errorf("got: Count after the window = %d, %v, %v; want 0, zero time, nil (expired == absent)", n, end, err)
	}
	before := time.Now()
	n, end, err = s.Incr(ctx, key, window)
	if err != nil || n != 1 {
		return fmt.Errorf("got: Incr after the window = %d, %v; want 1, nil (a new window)", n, err)
	}
	if !near(end, before.Add(window)) {
		return fmt.Errorf("new window ends %v, want about %v", end, before.Add(window))
	}
	return nil
}

func attemptCancelled(ctx context.Context, s authkit.AttemptStore) error {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var errs []error
	if _, _, err := s.Incr(cctx, "authkittest:c", longWindow); !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("got: Incr: err = %v, want context.Canceled", err))
	}
	if _, _, err := s.Count(cctx, "authkittest:c"); !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("got: Count: err = %v, want context.Canceled", err))
	}
	if err := s.Reset(cctx, "authkittest:c"); !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("got: Reset: err = %v, want context.Canceled", err))
	}
	return errors.Join(errs...)
}

// concurrentIncr checks the atomic counter: 200 concurrent failures on one key
// return each count 1..200 exactly once.
func concurrentIncr(ctx context.Context, s authkit.AttemptStore) error {
	const key, workers = "authkittest:race", 200
	got := make([]int, workers)
	errs := make([]error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			<-start
			got[i], _, errs[i] = s.Incr(ctx, key, longWindow)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	sort.Ints(got)
	for i, n := range got {
		if n != i+1 {
			return fmt.Errorf("%d concurrent Incr returned counts %v..., want each of 1..%d exactly once (lost or duplicated update)", workers, got[:min(len(got), 10)], workers)
		}
	}
	n, _, err := s.Count(ctx, key)
	if err != nil || n != workers {
		return fmt.Errorf("got: Count after %d concurrent Incr = %d, %v", workers, n, err)
	}
	return nil
}

func concurrentKeys(ctx context.Context, s authkit.AttemptStore) error {
	const keys, per = 16, 8
	errs := make([]error, keys*per)
	var wg sync.WaitGroup
	for i := range keys * per {
		wg.Go(func() {
			k := fmt.Sprintf("authkittest:k:%d", i%keys)
			_, _, errs[i] = s.Incr(ctx, k, longWindow)
			if errs[i] == nil {
				_, _, errs[i] = s.Count(ctx, k)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for k := range keys {
		n, _, err := s.Count(ctx, fmt.Sprintf("authkittest:k:%d", k))
		if err != nil || n != per {
			return fmt.Errorf("key %d: Count = %d, %v; want %d", k, n, err, per)
		}
	}
	return nil
}
