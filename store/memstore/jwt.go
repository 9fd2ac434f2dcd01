package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// RefreshTokens is an in-memory [jwt.RefreshStore]. Revoked families are
// remembered (so a token created into one later is dead) until the family's
// absolute expiry, or for jwt.DefaultFamilyLifetime if the family was unknown.
type RefreshTokens struct {
	mu       sync.Mutex
	now      func() time.Time
	tokens   map[string]jwt.RefreshToken
	families map[string]map[string]struct{} // family → token ids
	users    map[string]map[string]struct{} // user → families
	famExp   map[string]time.Time           // family → absolute expiry
	revoked  map[string]time.Time           // family → tombstone expiry
}

var _ jwt.RefreshStore = (*RefreshTokens)(nil)

// NewRefreshTokens returns an empty store. now is used only by Purge and for
// tombstones of unknown families (nil means time.Now); Use takes its time as
// an argument.
func NewRefreshTokens(now func() time.Time) *RefreshTokens {
	if now == nil {
		now = time.Now
	}
	return &RefreshTokens{now: now, tokens: map[string]jwt.RefreshToken{},
		families: map[string]map[string]struct{}{}, users: map[string]map[string]struct{}{},
		famExp: map[string]time.Time{}, revoked: map[string]time.Time{}}
}

// Create implements jwt.RefreshStore.
func (s *RefreshTokens) Create(ctx context.Context, t jwt.RefreshToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dead := s.revoked[t.FamilyID]; dead {
		return nil // created into a revoked family: dead from the start
	}
	s.tokens[t.ID] = t
	add(s.families, t.FamilyID, t.ID)
	add(s.users, t.UserID, t.FamilyID)
	if t.FamilyExpiry.After(s.famExp[t.FamilyID]) {
		s.famExp[t.FamilyID] = t.FamilyExpiry
	}
	return nil
}

func add(m map[string]map[string]struct{}, k, v string) {
	set := m[k]
	if set == nil {
		set = map[string]struct{}{}
		m[k] = set
	}
	set[v] = struct{}{}
}

// Use implements jwt.RefreshStore.
func (s *RefreshTokens) Use(ctx context.Context, id string, now time.Time) (jwt.RefreshToken, bool, error) {
	if err := ctx.Err(); err != nil {
		return jwt.RefreshToken{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok {
		return jwt.RefreshToken{}, false, nil
	}
	if !now.Before(t.Expiry) {
		s.deleteToken(t)
		return jwt.RefreshToken{}, false, nil
	}
	prev := t
	if t.UsedAt.IsZero() {
		t.UsedAt = now
		s.tokens[id] = t
	}
	return prev, true, nil
}

func (s *RefreshTokens) deleteToken(t jwt.RefreshToken) {
	delete(s.tokens, t.ID)
	if f := s.families[t.FamilyID]; f != nil {
		delete(f, t.ID)
	}
}

// RevokeFamily implements jwt.RefreshStore.
func (s *RefreshTokens) RevokeFamily(ctx context.Context, familyID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeFamily(familyID)
	return nil
}

func (s *RefreshTokens) revokeFamily(familyID string) {
	exp, ok := s.famExp[familyID]
	if !ok {
		exp = s.now().Add(jwt.DefaultFamilyLifetime)
	}
	s.revoked[familyID] = exp
	for id := range s.families[familyID] {
		if t, ok := s.tokens[id]; ok {
			delete(s.tokens, id)
			if u := s.users[t.UserID]; u != nil {
				delete(u, familyID)
			}
		}
	}
	delete(s.families, familyID)
	delete(s.famExp, familyID)
}

// RevokeUser implements jwt.RefreshStore.
func (s *RefreshTokens) RevokeUser(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for f := range s.users[userID] {
		s.revokeFamily(f)
	}
	delete(s.users, userID)
	return nil
}

// Purge drops expired tokens and tombstones.
func (s *RefreshTokens) Purge() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if !now.Before(t.Expiry) {
			s.deleteToken(t)
		}
	}
	for f, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, f)
		}
	}
	for f, exp := range s.famExp {
		if !now.Before(exp) && len(s.families[f]) == 0 {
			delete(s.famExp, f)
			delete(s.families, f)
		}
	}
}

// NotBefore is an in-memory [jwt.NotBeforeStore], one entry per user who
// logged out everywhere. Purge drops entries that can no longer matter.
type NotBefore struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]time.Time
}

var _ jwt.NotBeforeStore = (*NotBefore)(nil)

// NewNotBefore returns an empty store; now is used by Purge (nil means
// time.Now).
func NewNotBefore(now func() time.Time) *NotBefore {
	if now == nil {
		now = time.Now
	}
	return &NotBefore{now: now, m: map[string]time.Time{}}
}

// SetNotBefore implements jwt.NotBeforeStore: the later time wins.
func (s *NotBefore) SetNotBefore(ctx context.Context, userID string, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[userID]; !ok || t.After(cur) {
		s.m[userID] = t
	}
	return nil
}

// NotBefore implements jwt.NotBeforeStore.
func (s *NotBefore) NotBefore(ctx context.Context, userID string) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[userID]
	return t, ok, nil
}

// Purge drops not-before times older than jwt.MaxAccessTokenLifetime: every
// access token issued before them has expired anyway.
func (s *NotBefore) Purge() {
	cutoff := s.now().Add(-jwt.MaxAccessTokenLifetime)
	s.mu.Lock()
	defer s.mu.Unlock()
	for u, t := range s.m {
		if t.Before(cutoff) {
			delete(s.m, u)
		}
	}
}
