package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/authkit-go/authkit/session"
)

// Sessions is an in-memory [session.Store] with a per-user index, so
// ListUser and DeleteUser cost O(that user's sessions). Expired records are
// treated as missing, dropped when touched, and reclaimed in bulk by
// [Sessions.Purge] or, on a timer the host starts, [Sessions.Run]; no
// constructor starts a goroutine. Safe for concurrent use.
type Sessions struct {
	now    func() time.Time
	mu     sync.RWMutex
	recs   map[string]session.Record
	byUser map[string]map[string]struct{}
}

var _ session.Store = (*Sessions)(nil)

// newSessions returns an empty store. now is its clock (nil means
// time.Now); tests inject one to expire records without sleeping.
func newSessions(now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{now: now, recs: map[string]session.Record{}, byUser: map[string]map[string]struct{}{}}
}

func cloneRecord(r session.Record) session.Record {
	r.SecretHash = clone(r.SecretHash)
	r.Data = clone(r.Data)
	return r
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

func (s *Sessions) live(r session.Record, now time.Time) bool {
	return now.Before(r.Expiry())
}

// Find implements [session.Store]; an expired record is missing and is
// dropped.
func (s *Sessions) Find(ctx context.Context, id string) (session.Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return session.Record{}, false, err
	}
	now := s.now()
	s.mu.RLock()
	r, ok := s.recs[id]
	s.mu.RUnlock()
	if !ok {
		return session.Record{}, false, nil
	}
	if !s.live(r, now) {
		s.mu.Lock()
		if cur, ok := s.recs[id]; ok && !s.live(cur, now) {
			s.deleteLocked(id, cur.UserID)
		}
		s.mu.Unlock()
		return session.Record{}, false, nil
	}
	return cloneRecord(r), true, nil
}

// Create implements [session.Store]: insert only. A record already
// expired is not kept.
func (s *Sessions) Create(ctx context.Context, id string, rec session.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec = cloneRecord(rec)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.recs[id]; ok {
		if s.live(old, now) {
			return fmt.Errorf("memstore: session create: %w", session.ErrIDInUse)
		}
		s.deleteLocked(id, old.UserID)
	}
	s.insertLocked(id, rec, now)
	return nil
}

// Update implements [session.Store]: it writes only over a live record of
// the same user, under the store's lock.
func (s *Sessions) Update(ctx context.Context, id string, rec session.Record) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	rec = cloneRecord(rec)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.recs[id]
	if !ok || !s.live(old, now) || old.UserID != rec.UserID {
		return false, nil
	}
	s.deleteLocked(id, old.UserID)
	if !s.live(rec, now) {
		return false, nil
	}
	s.insertLocked(id, rec, now)
	return true, nil
}

// Rotate implements [session.Store]: under the store's lock, a live oldID
// is removed and rec inserted under newID.
func (s *Sessions) Rotate(ctx context.Context, oldID, newID string, rec session.Record) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	rec = cloneRecord(rec)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.recs[oldID]
	if !ok || !s.live(old, now) {
		return false, nil
	}
	if cur, ok := s.recs[newID]; ok && s.live(cur, now) {
		return false, fmt.Errorf("memstore: session rotate: %w", session.ErrIDInUse)
	}
	s.deleteLocked(oldID, old.UserID)
	if !s.live(rec, now) {
		return true, nil // the old id is ended; an expired record is not kept
	}
	s.insertLocked(newID, rec, now)
	return true, nil
}

// insertLocked stores rec under id and indexes it; an expired rec is not
// kept. Whatever id held before (an expired, unpurged record, possibly of
// another user) is dropped with its index entry first, so that user's
// ListUser and DeleteUser never reach the new record.
func (s *Sessions) insertLocked(id string, rec session.Record, now time.Time) {
	if old, ok := s.recs[id]; ok {
		s.deleteLocked(id, old.UserID)
	}
	if !s.live(rec, now) {
		return
	}
	s.recs[id] = rec
	if rec.UserID != "" {
		ids := s.byUser[rec.UserID]
		if ids == nil {
			ids = map[string]struct{}{}
			s.byUser[rec.UserID] = ids
		}
		ids[id] = struct{}{}
	}
}

func (s *Sessions) deleteLocked(id, userID string) {
	delete(s.recs, id)
	if ids := s.byUser[userID]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(s.byUser, userID)
		}
	}
}

// Delete implements [session.Store]; a missing id is not an error.
func (s *Sessions) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.recs[id]; ok {
		s.deleteLocked(id, old.UserID)
	}
	return nil
}

// ListUser implements [session.Store] through the per-user index.
func (s *Sessions) ListUser(ctx context.Context, userID string) (map[string]session.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]session.Record{}
	if userID == "" {
		return out, nil
	}
	for id := range s.byUser[userID] {
		if r := s.recs[id]; s.live(r, now) {
			out[id] = cloneRecord(r)
		}
	}
	return out, nil
}

// DeleteUser implements [session.Store] through the per-user index.
func (s *Sessions) DeleteUser(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if userID == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.byUser[userID] {
		delete(s.recs, id)
	}
	delete(s.byUser, userID)
	return nil
}

// Purge drops every expired record and returns how many it dropped. Call
// it on the host's own schedule to reclaim memory; correctness never
// depends on it.
func (s *Sessions) Purge() int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, r := range s.recs {
		if !s.live(r, now) {
			s.deleteLocked(id, r.UserID)
			n++
		}
	}
	return n
}

// Len returns the number of records held, expired ones included until
// they are purged.
func (s *Sessions) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.recs)
}
