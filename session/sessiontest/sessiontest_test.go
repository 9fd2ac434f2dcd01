package sessiontest_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/session/sessiontest"
)

// flaw selects one deliberate contract violation of refStore.
type flaw int

const (
	correct flaw = iota
	ignoresExpiry
	ignoresAbsolute
	forgetsEverything
	updateNoop
	upsertUpdate
	rotateResurrects
	rotateKeepsOld
	createReplaces
	updateMovesUser
	aliasesCaller
	deleteMissingErrs
	deleteUserAll
	truncatesAtNUL
	globIDs
	ignoresCtx
	loses1MiB
	dropsTimes
	rotateExpiredNotFound
)

// refStore is a small reference Store, independent of memstore, that can
// be broken in one way at a time.
type refStore struct {
	flaw flaw
	mu   sync.Mutex
	recs map[string]session.Record
	idx  map[string]map[string]bool
}

func newRef(f flaw) *refStore {
	return &refStore{flaw: f, recs: map[string]session.Record{}, idx: map[string]map[string]bool{}}
}

func (s *refStore) ctxErr(ctx context.Context) error {
	if s.flaw == ignoresCtx {
		return nil
	}
	return ctx.Err()
}

func (s *refStore) key(id string) string {
	if s.flaw == globIDs {
		return strings.Trim(id, "*%_?[]") // treats wildcard characters as noise
	}
	return id
}

func (s *refStore) live(r session.Record) bool {
	switch s.flaw {
	case ignoresExpiry:
		return true
	case ignoresAbsolute:
		return time.Now().Before(r.IdleExpiry)
	}
	return time.Now().Before(r.Expiry())
}

func (s *refStore) Find(ctx context.Context, id string) (session.Record, bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return session.Record{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[s.key(id)]
	if !ok || !s.live(r) || s.flaw == forgetsEverything {
		return session.Record{}, false, nil
	}
	if s.flaw != aliasesCaller {
		r.Data, r.SecretHash = bytes.Clone(r.Data), bytes.Clone(r.SecretHash)
	}
	return r, true, nil
}

func (s *refStore) Create(ctx context.Context, id string, r session.Record) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.recs[s.key(id)]; ok && s.live(old) && s.flaw != createReplaces {
		return session.ErrIDInUse
	}
	s.putLocked(id, r)
	return nil
}

func (s *refStore) Update(ctx context.Context, id string, r session.Record) (bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.recs[s.key(id)]
	if s.flaw != upsertUpdate && (!ok || !s.live(old) || (old.UserID != r.UserID && s.flaw != updateMovesUser)) {
		return false, nil
	}
	if s.flaw == updateNoop {
		return true, nil
	}
	s.putLocked(id, r)
	return true, nil
}

func (s *refStore) Rotate(ctx context.Context, oldID, newID string, r session.Record) (bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.recs[s.key(oldID)]
	if (!ok || !s.live(old)) && s.flaw != rotateResurrects {
		return false, nil
	}
	if s.flaw != rotateKeepsOld {
		delete(s.recs, s.key(oldID))
		delete(s.idx[old.UserID], s.key(oldID))
	}
	if s.flaw == rotateExpiredNotFound && !r.Expiry().After(time.Now()) {
		return false, nil
	}
	s.putLocked(newID, r)
	return true, nil
}

func (s *refStore) putLocked(id string, r session.Record) {
	k := s.key(id)
	if old, ok := s.recs[k]; ok {
		delete(s.idx[old.UserID], k)
	}
	if s.flaw != aliasesCaller {
		r.Data, r.SecretHash = bytes.Clone(r.Data), bytes.Clone(r.SecretHash)
	}
	switch s.flaw {
	case truncatesAtNUL:
		if i := bytes.IndexByte(r.Data, 0); i >= 0 {
			r.Data = r.Data[:i]
		}
	case loses1MiB:
		if len(r.Data) > 64<<10 {
			r.Data = r.Data[:64<<10]
		}
	case dropsTimes:
		r.CreatedAt = time.Time{}
	}
	s.recs[k] = r
	if s.idx[r.UserID] == nil {
		s.idx[r.UserID] = map[string]bool{}
	}
	s.idx[r.UserID][k] = true
}

func (s *refStore) Delete(ctx context.Context, id string) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.key(id)
	old, ok := s.recs[k]
	if !ok && s.flaw == deleteMissingErrs {
		return errors.New("not found")
	}
	delete(s.recs, k)
	delete(s.idx[old.UserID], k)
	return nil
}

func (s *refStore) ListUser(ctx context.Context, userID string) (map[string]session.Record, error) {
	if err := s.ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]session.Record{}
	for k := range s.idx[s.key(userID)] {
		if r, ok := s.recs[k]; ok && s.live(r) {
			out[k] = r
		}
	}
	return out, nil
}

func (s *refStore) DeleteUser(ctx context.Context, userID string) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flaw == deleteUserAll {
		clear(s.recs)
		clear(s.idx)
		return nil
	}
	for k := range s.idx[s.key(userID)] {
		delete(s.recs, k)
	}
	delete(s.idx, s.key(userID))
	return nil
}

func TestRunReference(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store { return newRef(correct) })
}

// TestBrokenStores proves each case fails when the protection it checks is
// removed.
func TestBrokenStores(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flaw flaw
		name string
		want []string // cases that must fail
	}{
		{correct, "correct", nil},
		{ignoresExpiry, "ignoresExpiry", []string{sessiontest.ExpiredIsMissing, sessiontest.TTLHonoured}},
		{ignoresAbsolute, "ignoresAbsolute", []string{sessiontest.ExpiredIsMissing}},
		{forgetsEverything, "forgetsEverything", []string{sessiontest.RoundTrip, sessiontest.Overwrite, sessiontest.BinarySafe}},
		{updateNoop, "updateNoop", []string{sessiontest.Overwrite}},
		{upsertUpdate, "upsertUpdate", []string{sessiontest.UpdateMissing, sessiontest.UpdateAfterDelete,
			sessiontest.UpdateAfterDeleteUser, sessiontest.RaceUpdateDeleteUser}},
		{rotateResurrects, "rotateResurrects", []string{sessiontest.Rotate, sessiontest.RotateAfterDelete,
			sessiontest.RotateAfterDeleteUser}},
		{rotateKeepsOld, "rotateKeepsOld", []string{sessiontest.Rotate}},
		{createReplaces, "createReplaces", []string{sessiontest.CreateNoReplace}},
		{updateMovesUser, "updateMovesUser", []string{sessiontest.UpdateKeepsUser}},
		{aliasesCaller, "aliasesCaller", []string{sessiontest.NoAliasing}},
		{deleteMissingErrs, "deleteMissingErrs", []string{sessiontest.DeleteMissing}},
		{deleteUserAll, "deleteUserAll", []string{sessiontest.DeleteUser}},
		{truncatesAtNUL, "truncatesAtNUL", []string{sessiontest.BinarySafe}},
		{loses1MiB, "loses1MiB", []string{sessiontest.BinarySafe}},
		{globIDs, "globIDs", []string{sessiontest.HostileIDs}},
		{ignoresCtx, "ignoresCtx", []string{sessiontest.CancelledContext}},
		{dropsTimes, "dropsTimes", []string{sessiontest.RoundTrip}},
		{rotateExpiredNotFound, "rotateExpiredNotFound", []string{sessiontest.RotateIntoExpired}},
	}
	// Run every suite at once (each waits ~2.6 s in TTLHonoured); subtests
	// only check the results, so -parallel does not serialize the waits.
	results := make([]error, len(tests))
	var wg sync.WaitGroup
	for i, tc := range tests {
		wg.Go(func() {
			results[i] = sessiontest.Test(func() (session.Store, error) { return newRef(tc.flaw), nil })
		})
	}
	wg.Wait()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := results[i]
			if tc.flaw == correct && err != nil {
				t.Fatalf("the reference store fails: %v", err)
			}
			suite.WantFailed(t, err, tc.want...)
		})
	}
}

func TestFactoryErrorReported(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	err := sessiontest.Test(func() (session.Store, error) { return nil, boom })
	if !errors.Is(err, boom) || len(suite.Failed(err)) != 25 {
		t.Fatalf("Test with failing factory = %v", err)
	}
}
