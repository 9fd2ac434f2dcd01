package mfatest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/mfa/mfatest"
	"github.com/authkit-go/authkit/store/memstore"
)

// memstore passes every suite.
func TestMemstore(t *testing.T) {
	t.Run("Store", func(t *testing.T) {
		t.Parallel()
		mfatest.Run(t, func(t *testing.T) mfa.Store { return memtest.New(t, nil).MFA() })
	})
	t.Run("ReplayStore", func(t *testing.T) {
		t.Parallel()
		mfatest.RunReplay(t, func(t *testing.T) mfa.ReplayStore { return memtest.New(t, nil).TOTPReplay() })
	})
}

func TestTestFunctionsPassMemstore(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := mfatest.Test(func() (mfa.Store, error) { return memtest.New(t, nil).MFA(), nil }); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() {
		if err := mfatest.TestReplay(func() (mfa.ReplayStore, error) { return memtest.New(t, nil).TOTPReplay(), nil }); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
}

// ---- deliberately broken stores ----

// brokenStore is an mfa.Store with switchable bugs.
type brokenStore struct {
	ignoreVersion    bool // Put is an upsert (no compare-and-set)
	slowCompare      bool // Put compares and writes in two steps
	reuseCodes       bool // UseBackupCode never removes a code
	racyUse          bool // UseBackupCode checks and removes in two steps
	appendCodes      bool // Put adds codes instead of replacing the set
	deleteKeepsCodes bool // Delete leaves the codes
	ignoreCtx        bool // never looks at the context

	race  *meeting
	mu    sync.Mutex
	e     map[string]mfa.Enrollment
	codes map[string]map[string]bool
}

func newBroken(mod func(*brokenStore)) *brokenStore {
	s := &brokenStore{race: newMeeting(), e: map[string]mfa.Enrollment{}, codes: map[string]map[string]bool{}}
	mod(s)
	return s
}

// meeting pairs callers of wait: each waits (up to 200 ms) until another
// one arrives, so a check-then-act bug races deterministically even on a
// loaded machine, without relying on a sleep being long enough.
type meeting struct {
	mu      sync.Mutex
	waiting chan struct{}
}

func newMeeting() *meeting { return &meeting{} }

func (m *meeting) wait() {
	m.mu.Lock()
	if m.waiting != nil {
		close(m.waiting)
		m.waiting = nil
		m.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	m.waiting = ch
	m.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(200 * time.Millisecond):
		m.mu.Lock()
		if m.waiting == ch {
			m.waiting = nil
		}
		m.mu.Unlock()
	}
}

func (s *brokenStore) ctxErr(ctx context.Context) error {
	if s.ignoreCtx {
		return nil
	}
	return ctx.Err()
}

func (s *brokenStore) Get(ctx context.Context, u string) (mfa.Enrollment, bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return mfa.Enrollment{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.e[u]
	return e, ok, nil
}

func (s *brokenStore) Put(ctx context.Context, u string, prev uint64, e mfa.Enrollment, codes [][]byte) (bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	cur, found := s.e[u]
	match := (prev == 0 && !found) || (prev != 0 && found && cur.Version == prev)
	if s.slowCompare {
		s.mu.Unlock()
		s.race.wait()
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if !match && !s.ignoreVersion {
		return false, nil
	}
	s.e[u] = e
	if len(codes) > 0 {
		if !s.appendCodes || s.codes[u] == nil {
			s.codes[u] = map[string]bool{}
		}
		for _, c := range codes {
			s.codes[u][string(c)] = true
		}
	}
	return true, nil
}

func (s *brokenStore) Delete(ctx context.Context, u string) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.e, u)
	if !s.deleteKeepsCodes {
		delete(s.codes, u)
	}
	return nil
}

func (s *brokenStore) UseBackupCode(ctx context.Context, u string, c []byte) (bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	ok := s.codes[u][string(c)]
	if s.racyUse {
		s.mu.Unlock()
		if !ok {
			return false, nil
		}
		s.race.wait()
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if ok && !s.reuseCodes {
		delete(s.codes[u], string(c))
	}
	return ok, nil
}

// replayEqual accepts a step equal to the last one.
type replayEqual struct {
	mu   sync.Mutex
	last map[string]uint64
}

func (s *replayEqual) Advance(ctx context.Context, u string, step uint64, _ time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.last[u]; ok && step < last {
		return false, nil
	}
	s.last[u] = step
	return true, nil
}

// replayRacy reads and writes in two steps.
type replayRacy struct {
	race *meeting
	mu   sync.Mutex
	last map[string]uint64
}

func (s *replayRacy) Advance(ctx context.Context, u string, step uint64, _ time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	last, ok := s.last[u]
	s.mu.Unlock()
	if ok && step <= last {
		return false, nil
	}
	s.race.wait()
	s.mu.Lock()
	s.last[u] = step
	s.mu.Unlock()
	return true, nil
}

// replayOverwrites records every step, even a rejected lower one.
type replayOverwrites struct {
	mu   sync.Mutex
	last map[string]uint64
}

func (s *replayOverwrites) Advance(ctx context.Context, u string, step uint64, _ time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.last[u]
	s.last[u] = step
	return !ok || step > last, nil
}

// replayUint32 truncates steps to 32 bits.
type replayUint32 struct{ *memstore.TOTPReplay }

func (s replayUint32) Advance(ctx context.Context, u string, step uint64, exp time.Time) (bool, error) {
	return s.TOTPReplay.Advance(ctx, u, uint64(uint32(step)), exp)
}

// replayNoExpiry keeps records forever.
type replayNoExpiry struct{ *memstore.TOTPReplay }

func (s replayNoExpiry) Advance(ctx context.Context, u string, step uint64, _ time.Time) (bool, error) {
	return s.TOTPReplay.Advance(ctx, u, step, time.Now().Add(time.Hour))
}

func TestSuiteRejectsBrokenStores(t *testing.T) {
	t.Parallel()
	store := func(f func() mfa.Store) func() (mfa.Store, error) {
		return func() (mfa.Store, error) { return f(), nil }
	}
	replay := func(f func() mfa.ReplayStore) func() (mfa.ReplayStore, error) {
		return func() (mfa.ReplayStore, error) { return f(), nil }
	}
	var wg sync.WaitGroup
	for _, c := range []struct {
		name string
		test func() error
		fail []string
	}{
		{"backup code usable twice", func() error {
			return mfatest.Test(store(func() mfa.Store { return newBroken(func(s *brokenStore) { s.reuseCodes = true }) }))
		}, []string{"BackupCodeSingleUse", "AtomicBackupCode"}},
		{"non-atomic UseBackupCode", func() error {
			return mfatest.Test(store(func() mfa.Store { return newBroken(func(s *brokenStore) { s.racyUse = true }) }))
		}, []string{"AtomicBackupCode"}},
		{"Put appends codes", func() error {
			return mfatest.Test(store(func() mfa.Store { return newBroken(func(s *brokenStore) { s.appendCodes = true }) }))
		}, []string{"PutWithCodesVoidsOldSet"}},
		{"delete keeps codes", func() error {
			return mfatest.Test(store(func() mfa.Store { return newBroken(func(s *brokenStore) { s.deleteKeepsCodes = true }) }))
		}, []string{"DeleteRemovesEnrollmentAndCodes", "PutAfterDeleteDoesNotResurrect"}},
		{"ignores ctx", func() error {
			return mfatest.Test(store(func() mfa.Store { return newBroken(func(s *brokenStore) { s.ignoreCtx = true }) }))
		}, []string{"CancelledContext"}},
		{"Put is an upsert", func() error {
			return mfatest.Test(store(func() mfa.Store { return newBroken(func(s *brokenStore) { s.ignoreVersion = true }) }))
		}, []string{"CreateOnlyWhenAbsent", "UpdateNeedsCurrentVersion", "UpdateOfMissingFails", "PutAfterDeleteDoesNotResurrect",
			"PutAfterDeleteAndNewEnrollmentFails", "AtomicCompareAndSet", "AtomicCreate", "InFlightPutRacingDeleteNeverSurvives"}},
		{"non-atomic compare-and-set", func() error {
			return mfatest.Test(store(func() mfa.Store { return newBroken(func(s *brokenStore) { s.slowCompare = true }) }))
		}, []string{"AtomicCompareAndSet", "AtomicCreate"}},
		{"replay accepts equal step", func() error {
			return mfatest.TestReplay(replay(func() mfa.ReplayStore { return &replayEqual{last: map[string]uint64{}} }))
		}, []string{"SameStepRejected", "AtomicSameStep", "StepZero"}},
		{"non-atomic Advance", func() error {
			return mfatest.TestReplay(replay(func() mfa.ReplayStore { return &replayRacy{race: newMeeting(), last: map[string]uint64{}} }))
		}, []string{"AtomicSameStep"}},
		{"rejected step overwrites", func() error {
			return mfatest.TestReplay(replay(func() mfa.ReplayStore { return &replayOverwrites{last: map[string]uint64{}} }))
		}, []string{"EarlierStepRejected"}},
		{"steps truncated to 32 bits", func() error {
			return mfatest.TestReplay(replay(func() mfa.ReplayStore { return replayUint32{memtest.New(t, nil).TOTPReplay()} }))
		}, []string{"LargeSteps"}},
		{"replay never expires", func() error {
			return mfatest.TestReplay(replay(func() mfa.ReplayStore { return replayNoExpiry{memtest.New(t, nil).TOTPReplay()} }))
		}, []string{"ShortTTL", "ExpiredIsMissing"}},
	} {
		// Goroutines rather than parallel subtests: the TTL cases sleep,
		// and -parallel would run only GOMAXPROCS of them at once.
		wg.Go(func() { suite.WantFailed(t, c.test(), c.fail...) })
	}
	wg.Wait()
}
