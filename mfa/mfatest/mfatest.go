// Package mfatest checks implementations of [mfa.Store], [mfa.ReplayStore]
// and [mfa.ChallengeStore] against their documented contracts, so that
// memstore, the Redis and SQL adapters and a host application's own stores
// all run the same cases.
//
// Each Run function runs every case in a parallel subtest; newStore is called
// once per case and must return an empty, isolated store (register cleanup
// with t.Cleanup). Each Test function runs the same cases concurrently
// without subtests and returns errors.Join of the failures, each prefixed
// with the case name and a colon.
//
// Timing contract: stores may keep times at second precision (SQLite) or
// microsecond precision (PostgreSQL); round-trip cases compare times with a
// tolerance of one second. The TTL cases use the store's real clock: an
// entry with an expiry 1.5 s ahead must be visible at once and gone 2.7 s
// later (room for whole-second rounding). Those cases sleep; all others run
// without waiting.
package mfatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/mfa"
)

// Concurrency is the number of goroutines the concurrent and atomic cases use.
const Concurrency = 64

const (
	ttl      = 1500 * time.Millisecond
	ttlWait  = 2700 * time.Millisecond
	timeSlop = time.Second
)

// hostileIDs are user ids and keys that must be stored literally (Redis glob
// characters, SQL LIKE wildcards, separators, quotes, NUL).
var hostileIDs = []string{"*", "%", "_", ":", "a:b", "'", `"`, "\\", "u*", "[a]", "?", "{tag}", " ", "ü", "a b"}

type testCase[S any] struct {
	name string
	run  func(ctx context.Context, s S) error
}

func run[S any](t *testing.T, cases []testCase[S], newStore func(t *testing.T) S) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.run(t.Context(), newStore(t)); err != nil {
				t.Error(err)
			}
		})
	}
}

func test[S any](cases []testCase[S], newStore func() (S, error)) error {
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := newStore()
			if err != nil {
				errs[i] = fmt.Errorf("%s: newStore: %w", c.name, err)
				return
			}
			if err := c.run(context.Background(), s); err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// parallel runs f(i) for i in [0, n) from n goroutines released together.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

func timeClose(a, b time.Time) bool {
	d := a.Sub(b)
	return d < timeSlop && d > -timeSlop
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// binaryBlob returns n bytes including NUL, 0xff and invalid UTF-8.
func binaryBlob(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*131) + seed
	}
	if n > 3 {
		b[0], b[1], b[2] = 0, 0xff, 0xc3
	}
	return b
}

func mac(i int) []byte {
	b := binaryBlob(32, byte(i))
	b[5] = byte(i)
	b[6] = byte(i >> 8)
	return b
}

// ---- mfa.Store ----

var storeCases = []testCase[mfa.Store]{
	{"GetMissing", func(ctx context.Context, s mfa.Store) error {
		_, found, err := s.Get(ctx, "nobody")
		if err != nil || found {
			return fmt.Errorf("Get(missing) = found %v, err %v; want false, nil", found, err)
		}
		return nil
	}},
	{"RoundTrip", func(ctx context.Context, s mfa.Store) error {
		now := time.Now()
		want := mfa.Enrollment{Secret: binaryBlob(60, 1), ConfirmedAt: now.Add(-time.Hour), Pending: binaryBlob(61, 2), PendingAt: now}
		if err := s.Put(ctx, "u1", want); err != nil {
			return fmt.Errorf("s.Put: %w", err)
		}
		got, found, err := s.Get(ctx, "u1")
		if err != nil || !found {
			return fmt.Errorf("s.Get = found %v, err %v; want true, nil", found, err)
		}
		return enrollmentEqual(got, want)
	}},
	{"Overwrite", func(ctx context.Context, s mfa.Store) error {
		first := mfa.Enrollment{Pending: binaryBlob(50, 3), PendingAt: time.Now()}
		second := mfa.Enrollment{Secret: binaryBlob(50, 4), ConfirmedAt: time.Now()}
		if err := s.Put(ctx, "u1", first); err != nil {
			return err
		}
		if err := s.Put(ctx, "u1", second); err != nil {
			return err
		}
		got, found, err := s.Get(ctx, "u1")
		if err != nil || !found {
			return fmt.Errorf("s.Get = found %v, err %v", found, err)
		}
		return enrollmentEqual(got, second)
	}},
	{"BinarySafe", func(ctx context.Context, s mfa.Store) error {
		want := mfa.Enrollment{Secret: binaryBlob(4096, 5)}
		if err := s.Put(ctx, "u1", want); err != nil {
			return err
		}
		got, _, err := s.Get(ctx, "u1")
		if err != nil {
			return err
		}
		if err := enrollmentEqual(got, want); err != nil {
			return err
		}
		if err := s.ReplaceBackupCodes(ctx, "u1", [][]byte{make([]byte, 32), {0xff, 0, 0xfe}}); err != nil {
			return err
		}
		for _, m := range [][]byte{{0xff, 0, 0xfe}, make([]byte, 32)} {
			if used, err := s.UseBackupCode(ctx, "u1", m); err != nil || !used {
				return fmt.Errorf("UseBackupCode(%x) = %v, %v; want true, nil", m, used, err)
			}
		}
		return nil
	}},
	{"DeleteMissing", func(ctx context.Context, s mfa.Store) error {
		if err := s.Delete(ctx, "nobody"); err != nil {
			return fmt.Errorf("Delete(missing) = %v, want nil", err)
		}
		return nil
	}},
	{"DeleteRemovesEnrollmentAndCodes", func(ctx context.Context, s mfa.Store) error {
		if err := s.Put(ctx, "u1", mfa.Enrollment{Secret: []byte("s")}); err != nil {
			return err
		}
		if err := s.ReplaceBackupCodes(ctx, "u1", [][]byte{mac(1)}); err != nil {
			return err
		}
		if err := s.Delete(ctx, "u1"); err != nil {
			return err
		}
		if _, found, err := s.Get(ctx, "u1"); err != nil || found {
			return fmt.Errorf("s.Get after Delete = found %v, err %v", found, err)
		}
		if used, err := s.UseBackupCode(ctx, "u1", mac(1)); err != nil || used {
			return fmt.Errorf("UseBackupCode after Delete = %v, %v; want false, nil", used, err)
		}
		return nil
	}},
	{"PutKeepsBackupCodes", func(ctx context.Context, s mfa.Store) error {
		if err := s.ReplaceBackupCodes(ctx, "u1", [][]byte{mac(1)}); err != nil {
			return err
		}
		if err := s.Put(ctx, "u1", mfa.Enrollment{Secret: []byte("s")}); err != nil {
			return err
		}
		if used, err := s.UseBackupCode(ctx, "u1", mac(1)); err != nil || !used {
			return fmt.Errorf("UseBackupCode after Put = %v, %v; want true, nil", used, err)
		}
		return nil
	}},
	{"BackupCodeSingleUse", func(ctx context.Context, s mfa.Store) error {
		if err := s.ReplaceBackupCodes(ctx, "u1", [][]byte{mac(1), mac(2)}); err != nil {
			return err
		}
		for i, step := range []struct {
			m    []byte
			want bool
		}{{mac(1), true}, {mac(1), false}, {mac(3), false}, {mac(2), true}, {mac(2), false}} {
			used, err := s.UseBackupCode(ctx, "u1", step.m)
			if err != nil || used != step.want {
				return fmt.Errorf("use #%d = %v, %v; want %v, nil", i, used, err, step.want)
			}
		}
		return nil
	}},
	{"ReplaceVoidsOldSet", func(ctx context.Context, s mfa.Store) error {
		if err := s.ReplaceBackupCodes(ctx, "u1", [][]byte{mac(1), mac(2)}); err != nil {
			return err
		}
		if err := s.ReplaceBackupCodes(ctx, "u1", [][]byte{mac(3)}); err != nil {
			return err
		}
		for _, c := range []struct {
			m    []byte
			want bool
		}{{mac(1), false}, {mac(2), false}, {mac(3), true}} {
			if used, err := s.UseBackupCode(ctx, "u1", c.m); err != nil || used != c.want {
				return fmt.Errorf("UseBackupCode(%x) = %v, %v; want %v", c.m[:4], used, err, c.want)
			}
		}
		if err := s.ReplaceBackupCodes(ctx, "u1", nil); err != nil {
			return fmt.Errorf("ReplaceBackupCodes(nil): %w", err)
		}
		if err := s.ReplaceBackupCodes(ctx, "u1", [][]byte{mac(4)}); err != nil {
			return err
		}
		if err := s.ReplaceBackupCodes(ctx, "u1", nil); err != nil {
			return err
		}
		if used, err := s.UseBackupCode(ctx, "u1", mac(4)); err != nil || used {
			return fmt.Errorf("UseBackupCode after clearing = %v, %v; want false", used, err)
		}
		return nil
	}},
	{"BackupCodesPerUser", func(ctx context.Context, s mfa.Store) error {
		if err := s.ReplaceBackupCodes(ctx, "u1", [][]byte{mac(1)}); err != nil {
			return err
		}
		if err := s.ReplaceBackupCodes(ctx, "u2", [][]byte{mac(2)}); err != nil {
			return err
		}
		if used, err := s.UseBackupCode(ctx, "u2", mac(1)); err != nil || used {
			return fmt.Errorf("u2 used u1's code: %v, %v", used, err)
		}
		if used, err := s.UseBackupCode(ctx, "u1", mac(1)); err != nil || !used {
			return fmt.Errorf("u1's own code: %v, %v", used, err)
		}
		if used, err := s.UseBackupCode(ctx, "u2", mac(2)); err != nil || !used {
			return fmt.Errorf("u2's own code: %v, %v", used, err)
		}
		return nil
	}},
	{"HostileIDs", func(ctx context.Context, s mfa.Store) error {
		for i, id := range hostileIDs {
			if err := s.Put(ctx, id, mfa.Enrollment{Secret: []byte(id + "#")}); err != nil {
				return fmt.Errorf("Put(%q): %w", id, err)
			}
			if err := s.ReplaceBackupCodes(ctx, id, [][]byte{mac(i)}); err != nil {
				return fmt.Errorf("ReplaceBackupCodes(%q): %w", id, err)
			}
		}
		if err := s.Delete(ctx, "*"); err != nil {
			return err
		}
		for i, id := range hostileIDs {
			e, found, err := s.Get(ctx, id)
			if id == "*" {
				if found || err != nil {
					return fmt.Errorf("Get(%q) after Delete = %v, %v", id, found, err)
				}
				continue
			}
			if err != nil || !found || string(e.Secret) != id+"#" {
				return fmt.Errorf("Get(%q) = %q, %v, %v; want %q", id, e.Secret, found, err, id+"#")
			}
			for j := range hostileIDs {
				if j == i {
					continue
				}
				if used, err := s.UseBackupCode(ctx, id, mac(j)); err != nil || used {
					return fmt.Errorf("UseBackupCode(%q, code of %q) = %v, %v", id, hostileIDs[j], used, err)
				}
			}
			if used, err := s.UseBackupCode(ctx, id, mac(i)); err != nil || !used {
				return fmt.Errorf("UseBackupCode(%q) = %v, %v; want true", id, used, err)
			}
		}
		return nil
	}},
	{"CancelledContext", func(_ context.Context, s mfa.Store) error {
		ctx := cancelled()
		var errs []error
		_, _, err := s.Get(ctx, "u1")
		errs = append(errs, canceledErr("Get", err))
		errs = append(errs, canceledErr("Put", s.Put(ctx, "u1", mfa.Enrollment{Secret: []byte("s")})))
		errs = append(errs, canceledErr("Delete", s.Delete(ctx, "u1")))
		errs = append(errs, canceledErr("ReplaceBackupCodes", s.ReplaceBackupCodes(ctx, "u1", [][]byte{mac(1)})))
		_, err = s.UseBackupCode(ctx, "u1", mac(1))
		errs = append(errs, canceledErr("UseBackupCode", err))
		return errors.Join(errs...)
	}},
	{"Concurrent", func(ctx context.Context, s mfa.Store) error {
		errs := make([]error, Concurrency)
		parallel(Concurrency, func(i int) {
			id := fmt.Sprintf("user-%d", i%8)
			own := fmt.Sprintf("own-%d", i)
			want := mfa.Enrollment{Secret: binaryBlob(40, byte(i))}
			if err := s.Put(ctx, own, want); err != nil {
				errs[i] = err
				return
			}
			if err := s.Put(ctx, id, want); err != nil {
				errs[i] = err
				return
			}
			if _, _, err := s.Get(ctx, id); err != nil {
				errs[i] = err
				return
			}
			if err := s.ReplaceBackupCodes(ctx, own, [][]byte{mac(i)}); err != nil {
				errs[i] = err
				return
			}
			got, found, err := s.Get(ctx, own)
			if err != nil || !found || !bytes.Equal(got.Secret, want.Secret) {
				errs[i] = fmt.Errorf("Get(%s) = %v, %v", own, found, err)
				return
			}
			if used, err := s.UseBackupCode(ctx, own, mac(i)); err != nil || !used {
				errs[i] = fmt.Errorf("UseBackupCode(%s) = %v, %v", own, used, err)
			}
		})
		return errors.Join(errs...)
	}},
	{"AtomicBackupCode", func(ctx context.Context, s mfa.Store) error {
		if err := s.ReplaceBackupCodes(ctx, "u1", [][]byte{mac(1), mac(2)}); err != nil {
			return err
		}
		var mu sync.Mutex
		wins := 0
		var errs []error
		parallel(Concurrency, func(int) {
			used, err := s.UseBackupCode(ctx, "u1", mac(1))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if used {
				wins++
			}
		})
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if wins != 1 {
			return fmt.Errorf("%d goroutines spent one backup code, want exactly 1", wins)
		}
		if used, err := s.UseBackupCode(ctx, "u1", mac(2)); err != nil || !used {
			return fmt.Errorf("other code of the set: %v, %v; want true", used, err)
		}
		return nil
	}},
}

func canceledErr(op string, err error) error {
	if !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s with cancelled ctx = %v, want context.Canceled", op, err)
	}
	return nil
}

func enrollmentEqual(got, want mfa.Enrollment) error {
	switch {
	case !bytes.Equal(got.Secret, want.Secret):
		return fmt.Errorf("got.Secret = %x, want %x", got.Secret, want.Secret)
	case !bytes.Equal(got.Pending, want.Pending):
		return fmt.Errorf("got.Pending = %x, want %x", got.Pending, want.Pending)
	case got.ConfirmedAt.IsZero() != want.ConfirmedAt.IsZero() || !timeClose(got.ConfirmedAt, want.ConfirmedAt):
		return fmt.Errorf("got.ConfirmedAt = %v, want %v", got.ConfirmedAt, want.ConfirmedAt)
	case got.PendingAt.IsZero() != want.PendingAt.IsZero() || !timeClose(got.PendingAt, want.PendingAt):
		return fmt.Errorf("got.PendingAt = %v, want %v", got.PendingAt, want.PendingAt)
	}
	return nil
}

// Run checks an [mfa.Store] implementation: missing, round trip, overwrite,
// binary-safe data, delete (missing is nil; it removes the backup codes),
// Put keeps backup codes, single-use codes, replace voids the old set,
// per-user isolation, hostile ids, cancelled ctx, 64 concurrent goroutines,
// and exactly one winner among 64 goroutines spending one code (ASVS 6.5.1).
func Run(t *testing.T, newStore func(t *testing.T) mfa.Store) {
	t.Helper()
	run(t, storeCases, newStore)
}

// Test runs the [Run] cases and returns errors.Join of the failures.
func Test(newStore func() (mfa.Store, error)) error { return test(storeCases, newStore) }

// ---- mfa.ReplayStore ----

func far() time.Time { return time.Now().Add(time.Hour) }

func advance(ctx context.Context, s mfa.ReplayStore, user string, step uint64, expiry time.Time, want bool) error {
	ok, err := s.Advance(ctx, user, step, expiry)
	if err != nil {
		return fmt.Errorf("Advance(%q, %d): %w", user, step, err)
	}
	if ok != want {
		return fmt.Errorf("Advance(%q, %d) = %v, want %v", user, step, ok, want)
	}
	return nil
}

func seq(ctx context.Context, s mfa.ReplayStore, steps ...struct {
	user string
	step uint64
	want bool
}) error {
	for _, st := range steps {
		if err := advance(ctx, s, st.user, st.step, far(), st.want); err != nil {
			return err
		}
	}
	return nil
}

type adv = struct {
	user string
	step uint64
	want bool
}

var replayCases = []testCase[mfa.ReplayStore]{
	{"FirstAdvance", func(ctx context.Context, s mfa.ReplayStore) error {
		return seq(ctx, s, adv{"u1", 100, true})
	}},
	{"SameStepRejected", func(ctx context.Context, s mfa.ReplayStore) error { // T1
		return seq(ctx, s, adv{"u1", 100, true}, adv{"u1", 100, false}, adv{"u1", 100, false})
	}},
	{"EarlierStepRejected", func(ctx context.Context, s mfa.ReplayStore) error { // T2
		return seq(ctx, s, adv{"u1", 100, true}, adv{"u1", 99, false}, adv{"u1", 0, false}, adv{"u1", 100, false}, adv{"u1", 101, true}, adv{"u1", 100, false})
	}},
	{"StepZero", func(ctx context.Context, s mfa.ReplayStore) error {
		return seq(ctx, s, adv{"u1", 0, true}, adv{"u1", 0, false}, adv{"u1", 1, true})
	}},
	{"PerUser", func(ctx context.Context, s mfa.ReplayStore) error {
		return seq(ctx, s, adv{"u1", 100, true}, adv{"u2", 100, true}, adv{"u2", 50, false}, adv{"u1", 100, false})
	}},
	{"LargeSteps", func(ctx context.Context, s mfa.ReplayStore) error { // T4: steps beyond 32 bits
		return seq(ctx, s, adv{"u1", 666666666, true}, adv{"u1", 1 << 32, true}, adv{"u1", 1<<32 + 1, true},
			adv{"u1", 1 << 32, false}, adv{"u1", 1<<52 + 5, true}, adv{"u1", 1<<52 + 4, false}, adv{"u1", mfa.MaxStep, true}, adv{"u1", mfa.MaxStep, false})
	}},
	{"ExpiredIsMissing", func(ctx context.Context, s mfa.ReplayStore) error {
		if err := advance(ctx, s, "u1", 100, time.Now().Add(-time.Minute), true); err != nil {
			return err
		}
		return advance(ctx, s, "u1", 50, far(), true)
	}},
	{"ShortTTL", func(ctx context.Context, s mfa.ReplayStore) error {
		// u1: a 1.5 s record is honoured, then gone. u2: a later claim
		// extends the expiry. One sleep serves both.
		if err := advance(ctx, s, "u1", 100, time.Now().Add(ttl), true); err != nil {
			return err
		}
		if err := advance(ctx, s, "u1", 100, time.Now().Add(ttl), false); err != nil {
			return err
		}
		if err := advance(ctx, s, "u2", 100, time.Now().Add(ttl), true); err != nil {
			return err
		}
		if err := advance(ctx, s, "u2", 101, far(), true); err != nil {
			return err
		}
		time.Sleep(ttlWait)
		if err := advance(ctx, s, "u1", 50, far(), true); err != nil {
			return fmt.Errorf("after the TTL: %w", err)
		}
		if err := advance(ctx, s, "u2", 101, far(), false); err != nil {
			return fmt.Errorf("expiry not extended by a later claim: %w", err)
		}
		return nil
	}},
	{"HostileIDs", func(ctx context.Context, s mfa.ReplayStore) error {
		for i, id := range hostileIDs {
			if err := advance(ctx, s, id, uint64(100+i), far(), true); err != nil {
				return err
			}
		}
		for i, id := range hostileIDs {
			if err := advance(ctx, s, id, uint64(100+i), far(), false); err != nil {
				return err
			}
			if err := advance(ctx, s, id, uint64(100+i+1), far(), true); err != nil {
				return err
			}
		}
		return nil
	}},
	{"CancelledContext", func(_ context.Context, s mfa.ReplayStore) error {
		_, err := s.Advance(cancelled(), "u1", 1, far())
		return canceledErr("Advance", err)
	}},
	{"AtomicSameStep", func(ctx context.Context, s mfa.ReplayStore) error { // S22
		var mu sync.Mutex
		wins := 0
		var errs []error
		parallel(Concurrency, func(int) {
			ok, err := s.Advance(ctx, "u1", 777, far())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				wins++
			}
		})
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if wins != 1 {
			return fmt.Errorf("%d goroutines claimed one step, want exactly 1", wins)
		}
		return nil
	}},
	{"ConcurrentMonotonic", func(ctx context.Context, s mfa.ReplayStore) error {
		errs := make([]error, Concurrency)
		parallel(Concurrency, func(i int) {
			_, errs[i] = s.Advance(ctx, "u1", uint64(i+1), far())
		})
		if err := errors.Join(errs...); err != nil {
			return err
		}
		return seq(ctx, s, adv{"u1", Concurrency, false}, adv{"u1", Concurrency + 1, true})
	}},
}

// RunReplay checks an [mfa.ReplayStore]: first claim, same step and earlier
// steps rejected (RFC 6238 §5.2; SECURITY T1, T2), steps beyond 32 bits
// up to [mfa.MaxStep] (T4), expiry in the past and a 1.5 s TTL honoured (a later claim extends
// the expiry), per-user isolation, hostile ids, cancelled ctx, exactly one
// winner among 64 goroutines claiming one step (S22), and a monotonic
// result when 64 goroutines claim different steps.
func RunReplay(t *testing.T, newStore func(t *testing.T) mfa.ReplayStore) {
	t.Helper()
	run(t, replayCases, newStore)
}

// TestReplay runs the [RunReplay] cases and returns errors.Join of the failures.
func TestReplay(newStore func() (mfa.ReplayStore, error)) error {
	return test(replayCases, newStore)
}

// ---- mfa.ChallengeStore ----

func challenge(user string, expiry time.Time) mfa.Challenge {
	return mfa.Challenge{UserID: user, PasswordAt: time.Now(), Expiry: expiry, Attempts: 2, Data: binaryBlob(100, 9)}
}

func challengeEqual(got, want mfa.Challenge) error {
	switch {
	case got.UserID != want.UserID:
		return fmt.Errorf("got.UserID = %q, want %q", got.UserID, want.UserID)
	case got.Attempts != want.Attempts:
		return fmt.Errorf("got.Attempts = %d, want %d", got.Attempts, want.Attempts)
	case !bytes.Equal(got.Data, want.Data):
		return fmt.Errorf("got.Data = %x, want %x", got.Data, want.Data)
	case !timeClose(got.PasswordAt, want.PasswordAt):
		return fmt.Errorf("got.PasswordAt = %v, want %v", got.PasswordAt, want.PasswordAt)
	case !timeClose(got.Expiry, want.Expiry):
		return fmt.Errorf("got.Expiry = %v, want %v", got.Expiry, want.Expiry)
	}
	return nil
}

func take(ctx context.Context, s mfa.ChallengeStore, key string, want bool) (mfa.Challenge, error) {
	c, found, err := s.Take(ctx, key)
	if err != nil {
		return c, fmt.Errorf("Take(%q): %w", key, err)
	}
	if found != want {
		return c, fmt.Errorf("Take(%q) found = %v, want %v", key, found, want)
	}
	return c, nil
}

var challengeCases = []testCase[mfa.ChallengeStore]{
	{"TakeMissing", func(ctx context.Context, s mfa.ChallengeStore) error {
		_, err := take(ctx, s, "nothing", false)
		return err
	}},
	{"RoundTrip", func(ctx context.Context, s mfa.ChallengeStore) error {
		want := challenge("u1", far())
		if err := s.Save(ctx, "k1", want); err != nil {
			return err
		}
		got, err := take(ctx, s, "k1", true)
		if err != nil {
			return err
		}
		return challengeEqual(got, want)
	}},
	{"TakeDeletes", func(ctx context.Context, s mfa.ChallengeStore) error {
		if err := s.Save(ctx, "k1", challenge("u1", far())); err != nil {
			return err
		}
		if _, err := take(ctx, s, "k1", true); err != nil {
			return err
		}
		_, err := take(ctx, s, "k1", false)
		return err
	}},
	{"SaveOverwrites", func(ctx context.Context, s mfa.ChallengeStore) error {
		if err := s.Save(ctx, "k1", challenge("u1", far())); err != nil {
			return err
		}
		want := challenge("u2", far())
		want.Attempts, want.Data = 3, nil
		if err := s.Save(ctx, "k1", want); err != nil {
			return err
		}
		got, err := take(ctx, s, "k1", true)
		if err != nil {
			return err
		}
		return challengeEqual(got, want)
	}},
	{"ExpiredIsMissing", func(ctx context.Context, s mfa.ChallengeStore) error {
		if err := s.Save(ctx, "k1", challenge("u1", time.Now().Add(-time.Minute))); err != nil {
			return err
		}
		_, err := take(ctx, s, "k1", false)
		return err
	}},
	{"ShortTTL", func(ctx context.Context, s mfa.ChallengeStore) error {
		if err := s.Save(ctx, "k1", challenge("u1", time.Now().Add(ttl))); err != nil {
			return err
		}
		if err := s.Save(ctx, "k2", challenge("u1", time.Now().Add(ttl))); err != nil {
			return err
		}
		if _, err := take(ctx, s, "k1", true); err != nil {
			return err
		}
		time.Sleep(ttlWait)
		_, err := take(ctx, s, "k2", false)
		return err
	}},
	{"HostileKeys", func(ctx context.Context, s mfa.ChallengeStore) error {
		for _, id := range hostileIDs {
			if err := s.Save(ctx, id, challenge(id, far())); err != nil {
				return err
			}
		}
		for _, id := range hostileIDs {
			got, err := take(ctx, s, id, true)
			if err != nil {
				return err
			}
			if got.UserID != id {
				return fmt.Errorf("Take(%q).UserID = %q", id, got.UserID)
			}
		}
		return nil
	}},
	{"CancelledContext", func(_ context.Context, s mfa.ChallengeStore) error {
		ctx := cancelled()
		_, _, err := s.Take(ctx, "k1")
		return errors.Join(canceledErr("Save", s.Save(ctx, "k1", challenge("u1", far()))), canceledErr("Take", err))
	}},
	{"AtomicTake", func(ctx context.Context, s mfa.ChallengeStore) error {
		if err := s.Save(ctx, "k1", challenge("u1", far())); err != nil {
			return err
		}
		var mu sync.Mutex
		wins := 0
		var errs []error
		parallel(Concurrency, func(int) {
			_, found, err := s.Take(ctx, "k1")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if found {
				wins++
			}
		})
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if wins != 1 {
			return fmt.Errorf("%d goroutines took one challenge, want exactly 1", wins)
		}
		return nil
	}},
	{"Concurrent", func(ctx context.Context, s mfa.ChallengeStore) error {
		errs := make([]error, Concurrency)
		parallel(Concurrency, func(i int) {
			key := fmt.Sprintf("k%d", i)
			want := challenge(fmt.Sprintf("u%d", i), far())
			if err := s.Save(ctx, key, want); err != nil {
				errs[i] = err
				return
			}
			got, err := take(ctx, s, key, true)
			if err == nil {
				err = challengeEqual(got, want)
			}
			errs[i] = err
		})
		return errors.Join(errs...)
	}},
}

// RunChallenge checks an [mfa.ChallengeStore]: missing, round trip
// (binary-safe data), Take deletes, Save overwrites, expiry in the past and
// a 1.5 s TTL honoured, hostile keys, cancelled ctx, exactly one winner
// among 64 goroutines taking one challenge, and 64 concurrent goroutines.
func RunChallenge(t *testing.T, newStore func(t *testing.T) mfa.ChallengeStore) {
	t.Helper()
	run(t, challengeCases, newStore)
}

// TestChallenge runs the [RunChallenge] cases and returns errors.Join of
// the failures.
func TestChallenge(newStore func() (mfa.ChallengeStore, error)) error {
	return test(challengeCases, newStore)
}
