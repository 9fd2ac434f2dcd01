package memstore

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/authkit-go/authkit/mfa"
)

// MFA is an in-memory [mfa.Store]: enrollments and backup-code MACs per
// user, with Put (compare-and-set on the version, plus the optional new
// code set) and UseBackupCode atomic under one mutex. Use newMFA.
type MFA struct {
	mu          sync.Mutex
	enrollments map[string]mfa.Enrollment
	codes       map[string]map[string]struct{} // userID -> set of MACs
}

var _ mfa.Store = (*MFA)(nil)

// newMFA returns an empty MFA store.
func newMFA() *MFA {
	return &MFA{enrollments: map[string]mfa.Enrollment{}, codes: map[string]map[string]struct{}{}}
}

func cloneEnrollment(e mfa.Enrollment) mfa.Enrollment {
	e.Secret = bytes.Clone(e.Secret)
	e.Pending = bytes.Clone(e.Pending)
	return e
}

// Get implements [mfa.Store].
func (s *MFA) Get(ctx context.Context, userID string) (mfa.Enrollment, bool, error) {
	if err := ctx.Err(); err != nil {
		return mfa.Enrollment{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.enrollments[userID]
	if !ok {
		return mfa.Enrollment{}, false, nil
	}
	return cloneEnrollment(e), true, nil
}

// Put implements [mfa.Store].
func (s *MFA) Put(ctx context.Context, userID string, prev uint64, e mfa.Enrollment, codeMACs [][]byte) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if e.Version == 0 {
		return false, errors.New("memstore: mfa put: version 0")
	}
	var set map[string]struct{}
	if len(codeMACs) > 0 {
		set = make(map[string]struct{}, len(codeMACs))
		for _, m := range codeMACs {
			set[string(m)] = struct{}{}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, found := s.enrollments[userID]
	switch {
	case prev == 0 && found, prev != 0 && (!found || cur.Version != prev):
		return false, nil
	case prev == 0:
		delete(s.codes, userID)
	}
	s.enrollments[userID] = cloneEnrollment(e)
	if set != nil {
		s.codes[userID] = set
	}
	return true, nil
}

// Delete implements [mfa.Store].
func (s *MFA) Delete(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.enrollments, userID)
	delete(s.codes, userID)
	return nil
}

// UseBackupCode implements [mfa.Store].
func (s *MFA) UseBackupCode(ctx context.Context, userID string, codeMAC []byte) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.codes[userID]
	if _, ok := set[string(codeMAC)]; !ok {
		return false, nil
	}
	delete(set, string(codeMAC))
	return true, nil
}

// TOTPReplay is an in-memory [mfa.ReplayStore]; Advance is atomic under
// one mutex. Expired records are dropped when touched or by Purge.
type TOTPReplay struct {
	now  func() time.Time
	mu   sync.Mutex
	last map[string]totpReplayEntry
}

type totpReplayEntry struct {
	step   uint64
	expiry time.Time
}

var _ mfa.ReplayStore = (*TOTPReplay)(nil)

// newTOTPReplay returns an empty TOTPReplay store. now is its clock for
// expiry (nil means time.Now); tests inject one to expire without sleeping.
func newTOTPReplay(now func() time.Time) *TOTPReplay {
	if now == nil {
		now = time.Now
	}
	return &TOTPReplay{now: now, last: map[string]totpReplayEntry{}}
}

// Advance implements [mfa.ReplayStore].
func (s *TOTPReplay) Advance(ctx context.Context, userID string, step uint64, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.last[userID]; ok && now.Before(e.expiry) && step <= e.step {
		return false, nil
	}
	if !now.Before(expiry) {
		delete(s.last, userID)
		return true, nil
	}
	s.last[userID] = totpReplayEntry{step: step, expiry: expiry}
	return true, nil
}

// Purge drops expired entries.
func (s *TOTPReplay) Purge() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.last {
		if !now.Before(e.expiry) {
			delete(s.last, k)
		}
	}
}
