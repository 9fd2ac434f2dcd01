// Package mfatest checks implementations of [mfa.Store] and
// [mfa.ReplayStore] against their documented contracts, so that
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

	"github.com/authkit-go/authkit/internal/suite"
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

// put calls s.Put and checks ok against want.
func put(ctx context.Context, s mfa.Store, user string, prev uint64, e mfa.Enrollment, codes [][]byte, want bool) error {
	ok, err := s.Put(ctx, user, prev, e, codes)
	if err != nil {
		return fmt.Errorf("Put(%q, prev %d, version %d): %w", user, prev, e.Version, err)
	}
	if ok != want {
		return fmt.Errorf("Put(%q, prev %d, version %d) = %v, want %v", user, prev, e.Version, ok, want)
	}
	return nil
}

// get calls s.Get and checks found against want.
func get(ctx context.Context, s mfa.Store, user string, want bool) (mfa.Enrollment, error) {
	e, found, err := s.Get(ctx, user)
	if err != nil {
		return e, fmt.Errorf("Get(%q): %w", user, err)
	}
	if found != want {
		return e, fmt.Errorf("Get(%q) found = %v, want %v", user, found, want)
	}
	return e, nil
}

// useCodes spends each code and checks the result against want.
func useCodes(ctx context.Context, s mfa.Store, user string, want bool, codes ...[]byte) error {
	for _, c := range codes {
		used, err := s.UseBackupCode(ctx, user, c)
		if err != nil || used != want {
			return fmt.Errorf("UseBackupCode(%q, %x…) = %v, %v; want %v, nil", user, c[:4], used, err, want)
		}
	}
	return nil
}

// confirmedAt is a fixed, whole-second time, so enrollments built twice
// compare equal.
var confirmedAt = time.Unix(1_790_000_000, 0)

// active returns an active enrollment at version v with a secret derived
// from seed.
func active(v uint64, seed byte) mfa.Enrollment {
	return mfa.Enrollment{Version: v, Secret: binaryBlob(40, seed), ConfirmedAt: confirmedAt}
}

var storeCases = suite.Suite[mfa.Store]{Name: "mfatest", Cases: []suite.Case[mfa.Store]{
	{Name: "GetMissing", Check: func(ctx context.Context, s mfa.Store) error {
		_, err := get(ctx, s, "nobody", false)
		return err
	}},
	{Name: "RoundTrip", Check: func(ctx context.Context, s mfa.Store) error {
		now := time.Now()
		want := mfa.Enrollment{Version: 1<<63 + 5, Secret: binaryBlob(60, 1), ConfirmedAt: now.Add(-time.Hour),
			Pending: binaryBlob(61, 2), PendingAt: now, PendingReplaces: true}
		if err := put(ctx, s, "u1", 0, want, nil, true); err != nil {
			return err
		}
		got, err := get(ctx, s, "u1", true)
		if err != nil {
			return err
		}
		if err := enrollmentEqual(got, want); err != nil {
			return err
		}
		next := mfa.Enrollment{Version: 1<<64 - 1, Pending: binaryBlob(20, 3), PendingAt: now}
		if err := put(ctx, s, "u1", want.Version, next, nil, true); err != nil {
			return err
		}
		if got, err = get(ctx, s, "u1", true); err != nil {
			return err
		}
		return enrollmentEqual(got, next)
	}},
	{Name: "CreateOnlyWhenAbsent", Check: func(ctx context.Context, s mfa.Store) error {
		first := active(11, 1)
		if err := put(ctx, s, "u1", 0, first, [][]byte{mac(1)}, true); err != nil {
			return err
		}
		if err := put(ctx, s, "u1", 0, active(12, 2), [][]byte{mac(2)}, false); err != nil {
			return err
		}
		got, err := get(ctx, s, "u1", true)
		if err != nil {
			return err
		}
		if err := enrollmentEqual(got, first); err != nil {
			return fmt.Errorf("after a refused create: %w", err)
		}
		return errors.Join(useCodes(ctx, s, "u1", false, mac(2)), useCodes(ctx, s, "u1", true, mac(1)))
	}},
	{Name: "UpdateNeedsCurrentVersion", Check: func(ctx context.Context, s mfa.Store) error {
		if err := put(ctx, s, "u1", 0, active(21, 1), nil, true); err != nil {
			return err
		}
		for _, step := range []struct {
			prev, next uint64
			want       bool
		}{{22, 23, false}, {21, 24, true}, {21, 25, false}, {24, 26, true}} {
			if err := put(ctx, s, "u1", step.prev, active(step.next, byte(step.next)), nil, step.want); err != nil {
				return err
			}
		}
		got, err := get(ctx, s, "u1", true)
		if err != nil {
			return err
		}
		return enrollmentEqual(got, active(26, 26))
	}},
	{Name: "UpdateOfMissingFails", Check: func(ctx context.Context, s mfa.Store) error {
		if err := put(ctx, s, "u1", 7, active(8, 1), [][]byte{mac(1)}, false); err != nil {
			return err
		}
		if _, err := get(ctx, s, "u1", false); err != nil {
			return err
		}
		return useCodes(ctx, s, "u1", false, mac(1))
	}},
	{Name: "PutAfterDeleteDoesNotResurrect", Check: func(ctx context.Context, s mfa.Store) error {
		// A confirm (or any write) that read the enrollment, then lost the
		// race to a Delete (MFA disabled, account reset), writes nothing.
		if err := put(ctx, s, "u1", 0, active(31, 1), [][]byte{mac(1)}, true); err != nil {
			return err
		}
		read, err := get(ctx, s, "u1", true)
		if err != nil {
			return err
		}
		if err := s.Delete(ctx, "u1"); err != nil {
			return err
		}
		if err := put(ctx, s, "u1", read.Version, active(32, 2), [][]byte{mac(2)}, false); err != nil {
			return fmt.Errorf("in-flight write after Delete: %w", err)
		}
		if _, err := get(ctx, s, "u1", false); err != nil {
			return fmt.Errorf("after the in-flight write: %w", err)
		}
		return useCodes(ctx, s, "u1", false, mac(1), mac(2))
	}},
	{Name: "PutAfterDeleteAndNewEnrollmentFails", Check: func(ctx context.Context, s mfa.Store) error {
		if err := put(ctx, s, "u1", 0, active(41, 1), nil, true); err != nil {
			return err
		}
		if err := s.Delete(ctx, "u1"); err != nil {
			return err
		}
		fresh := active(42, 2)
		if err := put(ctx, s, "u1", 0, fresh, [][]byte{mac(2)}, true); err != nil {
			return err
		}
		if err := put(ctx, s, "u1", 41, active(43, 3), [][]byte{mac(3)}, false); err != nil {
			return fmt.Errorf("stale write over a new enrollment: %w", err)
		}
		got, err := get(ctx, s, "u1", true)
		if err != nil {
			return err
		}
		if err := enrollmentEqual(got, fresh); err != nil {
			return err
		}
		return errors.Join(useCodes(ctx, s, "u1", false, mac(3)), useCodes(ctx, s, "u1", true, mac(2)))
	}},
	{Name: "BinarySafe", Check: func(ctx context.Context, s mfa.Store) error {
		want := mfa.Enrollment{Version: 1, Secret: binaryBlob(4096, 5)}
		codes := [][]byte{make([]byte, 32), {0xff, 0, 0xfe, 0}}
		if err := put(ctx, s, "u1", 0, want, codes, true); err != nil {
			return err
		}
		got, err := get(ctx, s, "u1", true)
		if err != nil {
			return err
		}
		if err := enrollmentEqual(got, want); err != nil {
			return err
		}
		return useCodes(ctx, s, "u1", true, codes[1], codes[0])
	}},
	{Name: "DeleteMissing", Check: func(ctx context.Context, s mfa.Store) error {
		if err := s.Delete(ctx, "nobody"); err != nil {
			return fmt.Errorf("Delete(missing) = %v, want nil", err)
		}
		return nil
	}},
	{Name: "DeleteRemovesEnrollmentAndCodes", Check: func(ctx context.Context, s mfa.Store) error {
		if err := put(ctx, s, "u1", 0, active(1, 1), [][]byte{mac(1)}, true); err != nil {
			return err
		}
		if err := s.Delete(ctx, "u1"); err != nil {
			return err
		}
		if _, err := get(ctx, s, "u1", false); err != nil {
			return err
		}
		return useCodes(ctx, s, "u1", false, mac(1))
	}},
	{Name: "PutWithoutCodesKeepsBackupCodes", Check: func(ctx context.Context, s mfa.Store) error {
		if err := put(ctx, s, "u1", 0, active(1, 1), [][]byte{mac(1), mac(2)}, true); err != nil {
			return err
		}
		if err := put(ctx, s, "u1", 1, active(2, 2), nil, true); err != nil {
			return err
		}
		return useCodes(ctx, s, "u1", true, mac(1), mac(2))
	}},
	{Name: "BackupCodeSingleUse", Check: func(ctx context.Context, s mfa.Store) error {
		if err := put(ctx, s, "u1", 0, active(1, 1), [][]byte{mac(1), mac(2)}, true); err != nil {
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
	{Name: "PutWithCodesVoidsOldSet", Check: func(ctx context.Context, s mfa.Store) error {
		if err := put(ctx, s, "u1", 0, active(1, 1), [][]byte{mac(1), mac(2)}, true); err != nil {
			return err
		}
		if err := put(ctx, s, "u1", 1, active(2, 1), [][]byte{mac(3)}, true); err != nil {
			return err
		}
		if err := put(ctx, s, "u1", 1, active(3, 1), [][]byte{mac(4)}, false); err != nil {
			return err
		}
		return errors.Join(useCodes(ctx, s, "u1", false, mac(1), mac(2), mac(4)), useCodes(ctx, s, "u1", true, mac(3)))
	}},
	{Name: "BackupCodesPerUser", Check: func(ctx context.Context, s mfa.Store) error {
		if err := put(ctx, s, "u1", 0, active(1, 1), [][]byte{mac(1)}, true); err != nil {
			return err
		}
		if err := put(ctx, s, "u2", 0, active(1, 2), [][]byte{mac(2)}, true); err != nil {
			return err
		}
		return errors.Join(useCodes(ctx, s, "u2", false, mac(1)), useCodes(ctx, s, "u1", true, mac(1)),
			useCodes(ctx, s, "u2", true, mac(2)))
	}},
	{Name: "HostileIDs", Check: func(ctx context.Context, s mfa.Store) error {
		for i, id := range hostileIDs {
			if err := put(ctx, s, id, 0, mfa.Enrollment{Version: uint64(i + 1), Secret: []byte(id + "#")}, [][]byte{mac(i)}, true); err != nil {
				return err
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
			if err != nil || !found || string(e.Secret) != id+"#" || e.Version != uint64(i+1) {
				return fmt.Errorf("Get(%q) = %q v%d, %v, %v; want %q v%d", id, e.Secret, e.Version, found, err, id+"#", i+1)
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
	{Name: "CancelledContext", Check: func(_ context.Context, s mfa.Store) error {
		ctx := cancelled()
		var errs []error
		_, _, err := s.Get(ctx, "u1")
		errs = append(errs, canceledErr("Get", err))
		_, err = s.Put(ctx, "u1", 0, active(1, 1), [][]byte{mac(1)})
		errs = append(errs, canceledErr("Put", err))
		errs = append(errs, canceledErr("Delete", s.Delete(ctx, "u1")))
		_, err = s.UseBackupCode(ctx, "u1", mac(1))
		errs = append(errs, canceledErr("UseBackupCode", err))
		return errors.Join(errs...)
	}},
	{Name: "Concurrent", Check: func(ctx context.Context, s mfa.Store) error {
		errs := make([]error, Concurrency)
		parallel(Concurrency, func(i int) {
			own := fmt.Sprintf("own-%d", i)
			want := active(uint64(i+1), byte(i))
			if err := put(ctx, s, own, 0, want, [][]byte{mac(i)}, true); err != nil {
				errs[i] = err
				return
			}
			if _, _, err := s.Get(ctx, fmt.Sprintf("own-%d", (i+1)%Concurrency)); err != nil {
				errs[i] = err
				return
			}
			got, err := get(ctx, s, own, true)
			if err == nil {
				err = enrollmentEqual(got, want)
			}
			if err == nil {
				err = useCodes(ctx, s, own, true, mac(i))
			}
			errs[i] = err
		})
		return errors.Join(errs...)
	}},
	{Name: "AtomicCompareAndSet", Check: func(ctx context.Context, s mfa.Store) error {
		// Of 64 writers that read one version, exactly one writes.
		if err := put(ctx, s, "u1", 0, active(1000, 1), nil, true); err != nil {
			return err
		}
		oks := make([]bool, Concurrency)
		errs := make([]error, Concurrency)
		parallel(Concurrency, func(i int) {
			oks[i], errs[i] = s.Put(ctx, "u1", 1000, active(uint64(2000+i), byte(i)), [][]byte{mac(i)})
		})
		if err := errors.Join(errs...); err != nil {
			return err
		}
		winner := -1
		for i, ok := range oks {
			if ok {
				if winner >= 0 {
					return fmt.Errorf("writers %d and %d both won one compare-and-set", winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			return fmt.Errorf("no writer won")
		}
		got, err := get(ctx, s, "u1", true)
		if err != nil {
			return err
		}
		if err := enrollmentEqual(got, active(uint64(2000+winner), byte(winner))); err != nil {
			return err
		}
		for i := range Concurrency {
			if err := useCodes(ctx, s, "u1", i == winner, mac(i)); err != nil {
				return err
			}
		}
		return nil
	}},
	{Name: "AtomicCreate", Check: func(ctx context.Context, s mfa.Store) error {
		var mu sync.Mutex
		wins := 0
		var errs []error
		parallel(Concurrency, func(i int) {
			ok, err := s.Put(ctx, "u1", 0, active(uint64(i+1), byte(i)), nil)
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
			return fmt.Errorf("%d goroutines created one enrollment, want exactly 1", wins)
		}
		return nil
	}},
	{Name: "InFlightPutRacingDeleteNeverSurvives", Check: func(ctx context.Context, s mfa.Store) error {
		// Each round, writers that read version v race a Delete. Whatever
		// the order, the user ends with no enrollment and no codes: a write
		// before the Delete is removed by it, one after it finds no v.
		const rounds = 16
		for r := range rounds {
			user := fmt.Sprintf("u%d", r)
			v := uint64(100 + r)
			if err := put(ctx, s, user, 0, active(v, 1), nil, true); err != nil {
				return err
			}
			errs := make([]error, 8)
			parallel(8, func(i int) {
				if i == 0 {
					errs[i] = s.Delete(ctx, user)
					return
				}
				_, errs[i] = s.Put(ctx, user, v, active(uint64(1000+i), byte(i)), [][]byte{mac(i)})
			})
			if err := errors.Join(errs...); err != nil {
				return err
			}
			if _, err := get(ctx, s, user, false); err != nil {
				return fmt.Errorf("round %d: %w", r, err)
			}
			for i := 1; i < 8; i++ {
				if err := useCodes(ctx, s, user, false, mac(i)); err != nil {
					return fmt.Errorf("round %d: %w", r, err)
				}
			}
		}
		return nil
	}},
	{Name: "AtomicBackupCode", Check: func(ctx context.Context, s mfa.Store) error {
		if err := put(ctx, s, "u1", 0, active(1, 1), [][]byte{mac(1), mac(2)}, true); err != nil {
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
		return useCodes(ctx, s, "u1", true, mac(2))
	}},
}}

func canceledErr(op string, err error) error {
	if !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s with cancelled ctx = %v, want context.Canceled", op, err)
	}
	return nil
}

func enrollmentEqual(got, want mfa.Enrollment) error {
	switch {
	case got.Version != want.Version:
		return fmt.Errorf("got.Version = %d, want %d", got.Version, want.Version)
	case got.PendingReplaces != want.PendingReplaces:
		return fmt.Errorf("got.PendingReplaces = %v, want %v", got.PendingReplaces, want.PendingReplaces)
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

// Run checks an [mfa.Store] implementation: missing, round trip (versions
// up to 2^64−1), create only when absent, update only at the current
// version, no update of a missing user, an in-flight write after Delete
// (and after Delete plus a new enrollment) writes nothing, binary-safe
// data, delete (missing is nil; it removes the backup codes), a Put without
// codes keeps them and one with codes voids the old set, single-use codes,
// per-user isolation, hostile ids, cancelled ctx, 64 concurrent goroutines,
// exactly one winner among 64 writers of one version and among 64
// creators, writers racing a Delete never survive it, and exactly one
// winner among 64 goroutines spending one code (ASVS 6.5.1).
func Run(t *testing.T, newStore func(t *testing.T) mfa.Store) {
	t.Helper()
	storeCases.Run(t, newStore)
}

// Test runs the [Run] cases and returns errors.Join of the failures.
func Test(newStore func() (mfa.Store, error)) error { return storeCases.Test(newStore) }

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

var replayCases = suite.Suite[mfa.ReplayStore]{Name: "mfatest", Cases: []suite.Case[mfa.ReplayStore]{
	{Name: "FirstAdvance", Check: func(ctx context.Context, s mfa.ReplayStore) error {
		return seq(ctx, s, adv{"u1", 100, true})
	}},
	{Name: "SameStepRejected", Check: func(ctx context.Context, s mfa.ReplayStore) error {
		return seq(ctx, s, adv{"u1", 100, true}, adv{"u1", 100, false}, adv{"u1", 100, false})
	}},
	{Name: "EarlierStepRejected", Check: func(ctx context.Context, s mfa.ReplayStore) error {
		return seq(ctx, s, adv{"u1", 100, true}, adv{"u1", 99, false}, adv{"u1", 0, false}, adv{"u1", 100, false}, adv{"u1", 101, true}, adv{"u1", 100, false})
	}},
	{Name: "StepZero", Check: func(ctx context.Context, s mfa.ReplayStore) error {
		return seq(ctx, s, adv{"u1", 0, true}, adv{"u1", 0, false}, adv{"u1", 1, true})
	}},
	{Name: "PerUser", Check: func(ctx context.Context, s mfa.ReplayStore) error {
		return seq(ctx, s, adv{"u1", 100, true}, adv{"u2", 100, true}, adv{"u2", 50, false}, adv{"u1", 100, false})
	}},
	{Name: "LargeSteps", Check: func(ctx context.Context, s mfa.ReplayStore) error { // steps beyond 32 bits
		return seq(ctx, s, adv{"u1", 666666666, true}, adv{"u1", 1 << 32, true}, adv{"u1", 1<<32 + 1, true},
			adv{"u1", 1 << 32, false}, adv{"u1", 1<<52 + 5, true}, adv{"u1", 1<<52 + 4, false}, adv{"u1", mfa.MaxStep, true}, adv{"u1", mfa.MaxStep, false})
	}},
	{Name: "ExpiredIsMissing", Check: func(ctx context.Context, s mfa.ReplayStore) error {
		if err := advance(ctx, s, "u1", 100, time.Now().Add(-time.Minute), true); err != nil {
			return err
		}
		return advance(ctx, s, "u1", 50, far(), true)
	}},
	{Name: "ShortTTL", Check: func(ctx context.Context, s mfa.ReplayStore) error {
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
	{Name: "HostileIDs", Check: func(ctx context.Context, s mfa.ReplayStore) error {
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
	{Name: "CancelledContext", Check: func(_ context.Context, s mfa.ReplayStore) error {
		_, err := s.Advance(cancelled(), "u1", 1, far())
		return canceledErr("Advance", err)
	}},
	{Name: "AtomicSameStep", Check: func(ctx context.Context, s mfa.ReplayStore) error {
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
	{Name: "ConcurrentMonotonic", Check: func(ctx context.Context, s mfa.ReplayStore) error {
		errs := make([]error, Concurrency)
		parallel(Concurrency, func(i int) {
			_, errs[i] = s.Advance(ctx, "u1", uint64(i+1), far())
		})
		if err := errors.Join(errs...); err != nil {
			return err
		}
		return seq(ctx, s, adv{"u1", Concurrency, false}, adv{"u1", Concurrency + 1, true})
	}},
}}

// RunReplay checks an [mfa.ReplayStore]: first claim, same step and earlier
// steps rejected (RFC 6238 §5.2), steps beyond 32 bits
// up to [mfa.MaxStep], expiry in the past and a 1.5 s TTL honoured (a later claim extends
// the expiry), per-user isolation, hostile ids, cancelled ctx, exactly one
// winner among 64 goroutines claiming one step, and a monotonic
// result when 64 goroutines claim different steps.
func RunReplay(t *testing.T, newStore func(t *testing.T) mfa.ReplayStore) {
	t.Helper()
	replayCases.Run(t, newStore)
}

// TestReplay runs the [RunReplay] cases and returns errors.Join of the failures.
func TestReplay(newStore func() (mfa.ReplayStore, error)) error {
	return replayCases.Test(newStore)
}
