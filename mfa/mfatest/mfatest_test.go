package mfatest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/mfa/mfatest"
	"github.com/authkit-go/authkit/store/memstore"
)

// memstore passes every suite.
func TestMemstore(t *testing.T) {
	t.Run("Store", func(t *testing.T) {
		t.Parallel()
		mfatest.Run(t, func(*testing.T) mfa.Store { return memstore.NewMFA() })
	})
	t.Run("ReplayStore", func(t *testing.T) {
		t.Parallel()
		mfatest.RunReplay(t, func(*testing.T) mfa.ReplayStore { return memstore.NewTOTPReplay(nil) })
	})
	t.Run("ChallengeStore", func(t *testing.T) {
		t.Parallel()
		mfatest.RunChallenge(t, func(*testing.T) mfa.ChallengeStore { return memstore.NewMFAChallenges(nil) })
	})
}

func TestTestFunctionsPassMemstore(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := mfatest.Test(func() (mfa.Store, error) { return memstore.NewMFA(), nil }); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() {
		if err := mfatest.TestReplay(func() (mfa.ReplayStore, error) { return memstore.NewTOTPReplay(nil), nil }); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() {
		if err := mfatest.TestChallenge(func() (mfa.ChallengeStore, error) { return memstore.NewMFAChallenges(nil), nil }); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
}

// ---- deliberately broken stores ----

// reuseBackup never removes a spent backup code.
type reuseBackup struct{ *memstore.MFA }

func (s reuseBackup) UseBackupCode(ctx context.Context, userID string, mac []byte) (bool, error) {
	used, err := s.MFA.UseBackupCode(ctx, userID, mac)
	if used {
		_ = s.MFA.ReplaceBackupCodes(ctx, userID, [][]byte{mac}) // put it back (drops the rest too)
	}
	return used, err
}

// racyBackup checks and deletes in two steps.
type racyBackup struct {
	*memstore.MFA
	mu   sync.Mutex
	sets map[string]map[string]bool
}

func newRacyBackup() *racyBackup {
	return &racyBackup{MFA: memstore.NewMFA(), sets: map[string]map[string]bool{}}
}

func (s *racyBackup) ReplaceBackupCodes(ctx context.Context, userID string, macs [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := map[string]bool{}
	for _, m := range macs {
		set[string(m)] = true
	}
	s.sets[userID] = set
	return s.MFA.ReplaceBackupCodes(ctx, userID, macs)
}

func (s *racyBackup) UseBackupCode(ctx context.Context, userID string, mac []byte) (bool, error) {
	s.mu.Lock()
	ok := s.sets[userID][string(mac)]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	time.Sleep(20 * time.Millisecond) // a wide window, so the race shows even on a loaded machine
	s.mu.Lock()
	delete(s.sets[userID], string(mac))
	s.mu.Unlock()
	return true, nil
}

// appendBackup adds codes instead of replacing the set.
type appendBackup struct {
	*memstore.MFA
	mu  sync.Mutex
	all map[string][][]byte
}

func (s *appendBackup) ReplaceBackupCodes(ctx context.Context, userID string, macs [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.all == nil {
		s.all = map[string][][]byte{}
	}
	s.all[userID] = append(s.all[userID], macs...)
	return s.MFA.ReplaceBackupCodes(ctx, userID, s.all[userID])
}

// deleteKeepsCodes forgets to delete the backup codes.
type deleteKeepsCodes struct{ *memstore.MFA }

func (s deleteKeepsCodes) Delete(ctx context.Context, userID string) error {
	e, _, _ := s.MFA.Get(ctx, userID)
	_ = e
	return s.MFA.Put(ctx, userID, mfa.Enrollment{}) // record stays (found), codes stay
}

// ignoresCtx never looks at the context.
type ignoresCtx struct{ *memstore.MFA }

func (s ignoresCtx) Get(_ context.Context, id string) (mfa.Enrollment, bool, error) {
	return s.MFA.Get(context.Background(), id)
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
	time.Sleep(20 * time.Millisecond) // a wide window, so the race shows even on a loaded machine
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

// replayUint32 truncates steps to 32 bits (a T4 bug).
type replayUint32 struct{ *memstore.TOTPReplay }

func (s replayUint32) Advance(ctx context.Context, u string, step uint64, exp time.Time) (bool, error) {
	return s.TOTPReplay.Advance(ctx, u, uint64(uint32(step)), exp)
}

// replayNoExpiry keeps records forever.
type replayNoExpiry struct{ *memstore.TOTPReplay }

func (s replayNoExpiry) Advance(ctx context.Context, u string, step uint64, _ time.Time) (bool, error) {
	return s.TOTPReplay.Advance(ctx, u, step, time.Now().Add(time.Hour))
}

// takeKeeps returns the challenge but does not delete it.
type takeKeeps struct{ *memstore.MFAChallenges }

func (s takeKeeps) Take(ctx context.Context, key string) (mfa.Challenge, bool, error) {
	c, found, err := s.MFAChallenges.Take(ctx, key)
	if found {
		_ = s.MFAChallenges.Save(ctx, key, c)
	}
	return c, found, err
}

// challengeNoExpiry ignores Expiry.
type challengeNoExpiry struct{ *memstore.MFAChallenges }

func (s challengeNoExpiry) Save(ctx context.Context, key string, c mfa.Challenge) error {
	c.Expiry = time.Now().Add(time.Hour)
	return s.MFAChallenges.Save(ctx, key, c)
}

// wantFailures checks that each named case is among the failures in err.
func wantFailures(err error, cases ...string) error {
	if err == nil {
		return fmt.Errorf("suite passed a broken store; want failures in %v", cases)
	}
	for _, c := range cases {
		if !strings.Contains(err.Error(), c+":") {
			return fmt.Errorf("case %s did not fail; errors:\n%v", c, err)
		}
	}
	return nil
}

func TestSuiteRejectsBrokenStores(t *testing.T) {
	t.Parallel()
	store := func(f func() mfa.Store) func() (mfa.Store, error) {
		return func() (mfa.Store, error) { return f(), nil }
	}
	replay := func(f func() mfa.ReplayStore) func() (mfa.ReplayStore, error) {
		return func() (mfa.ReplayStore, error) { return f(), nil }
	}
	challenge := func(f func() mfa.ChallengeStore) func() (mfa.ChallengeStore, error) {
		return func() (mfa.ChallengeStore, error) { return f(), nil }
	}
	var wg sync.WaitGroup
	for _, c := range []struct {
		name string
		test func() error
		fail []string
	}{
		{"backup code usable twice", func() error {
			return mfatest.Test(store(func() mfa.Store { return reuseBackup{memstore.NewMFA()} }))
		}, []string{"BackupCodeSingleUse", "AtomicBackupCode"}},
		{"non-atomic UseBackupCode", func() error {
			return mfatest.Test(store(func() mfa.Store { return newRacyBackup() }))
		}, []string{"AtomicBackupCode"}},
		{"replace appends", func() error {
			return mfatest.Test(store(func() mfa.Store { return &appendBackup{MFA: memstore.NewMFA()} }))
		}, []string{"ReplaceVoidsOldSet"}},
		{"delete keeps codes", func() error {
			return mfatest.Test(store(func() mfa.Store { return deleteKeepsCodes{memstore.NewMFA()} }))
		}, []string{"DeleteRemovesEnrollmentAndCodes", "HostileIDs"}},
		{"ignores ctx", func() error {
			return mfatest.Test(store(func() mfa.Store { return ignoresCtx{memstore.NewMFA()} }))
		}, []string{"CancelledContext"}},
		{"T1 replay accepts equal step", func() error {
			return mfatest.TestReplay(replay(func() mfa.ReplayStore { return &replayEqual{last: map[string]uint64{}} }))
		}, []string{"SameStepRejected", "AtomicSameStep", "StepZero"}},
		{"S22 non-atomic Advance", func() error {
			return mfatest.TestReplay(replay(func() mfa.ReplayStore { return &replayRacy{last: map[string]uint64{}} }))
		}, []string{"AtomicSameStep"}},
		{"T2 rejected step overwrites", func() error {
			return mfatest.TestReplay(replay(func() mfa.ReplayStore { return &replayOverwrites{last: map[string]uint64{}} }))
		}, []string{"EarlierStepRejected"}},
		{"T4 steps truncated to 32 bits", func() error {
			return mfatest.TestReplay(replay(func() mfa.ReplayStore { return replayUint32{memstore.NewTOTPReplay(nil)} }))
		}, []string{"LargeSteps"}},
		{"replay never expires", func() error {
			return mfatest.TestReplay(replay(func() mfa.ReplayStore { return replayNoExpiry{memstore.NewTOTPReplay(nil)} }))
		}, []string{"ShortTTL", "ExpiredIsMissing"}},
		{"Take keeps the challenge", func() error {
			return mfatest.TestChallenge(challenge(func() mfa.ChallengeStore { return takeKeeps{memstore.NewMFAChallenges(nil)} }))
		}, []string{"TakeDeletes", "AtomicTake"}},
		{"challenge never expires", func() error {
			return mfatest.TestChallenge(challenge(func() mfa.ChallengeStore { return challengeNoExpiry{memstore.NewMFAChallenges(nil)} }))
		}, []string{"ExpiredIsMissing", "ShortTTL"}},
	} {
		// Goroutines rather than parallel subtests: the TTL cases sleep,
		// and -parallel would run only GOMAXPROCS of them at once.
		wg.Go(func() {
			if err := wantFailures(c.test(), c.fail...); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		})
	}
	wg.Wait()
}
