package memstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// RefreshTokens is an in-memory [jwt.RefreshStore]: refresh-token families
// and per-user not-before times under one lock, so Create, Rotate,
// RevokeToken and RevokeUser are each atomic.
//
// Its store epoch is its creation time: NotBefore never returns an earlier
// time, so access tokens issued before the process started (whose
// revocations this store no longer knows) are refused.
type RefreshTokens struct {
	mu       sync.Mutex
	now      func() time.Time
	epoch    time.Time
	tokens   map[string]*memToken
	families map[string]*memFamily
	users    map[string]map[string]struct{} // user → families
	nb       map[string]time.Time
}

type memToken struct {
	rec    jwt.RefreshToken
	next   string // successor id, set by the rotation
	sealed []byte
}

type memFamily struct {
	user    string
	expiry  time.Time
	signIn  jwt.SignIn
	revoked bool
	tokens  map[string]struct{}
}

var _ jwt.RefreshStore = (*RefreshTokens)(nil)

// newRefreshTokens returns an empty store whose epoch is now(); now is
// also used by Purge (nil means time.Now). Rotate takes its time as an
// argument.
func newRefreshTokens(now func() time.Time) *RefreshTokens {
	if now == nil {
		now = time.Now
	}
	return &RefreshTokens{now: now, epoch: now(), tokens: map[string]*memToken{},
		families: map[string]*memFamily{}, users: map[string]map[string]struct{}{},
		nb: map[string]time.Time{}}
}

func copySignIn(s jwt.SignIn) jwt.SignIn {
	s.AMR = slices.Clone(s.AMR)
	return s
}

// Create implements [jwt.RefreshStore].
func (s *RefreshTokens) Create(ctx context.Context, t jwt.RefreshToken) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if nb, ok := s.nb[t.UserID]; ok && nb.After(t.SignIn.AuthTime) {
		return false, nil
	}
	f := s.families[t.FamilyID]
	if f == nil {
		f = &memFamily{user: t.UserID, expiry: t.FamilyExpiry, signIn: copySignIn(t.SignIn), tokens: map[string]struct{}{}}
		s.families[t.FamilyID] = f
		add(s.users, t.UserID, t.FamilyID)
	}
	if f.revoked {
		return true, nil // created into a revoked family: dead from the start
	}
	t.UsedAt = time.Time{}
	t.SignIn = copySignIn(f.signIn)
	s.tokens[t.ID] = &memToken{rec: t}
	f.tokens[t.ID] = struct{}{}
	return true, nil
}

func add(m map[string]map[string]struct{}, k, v string) {
	set := m[k]
	if set == nil {
		set = map[string]struct{}{}
		m[k] = set
	}
	set[v] = struct{}{}
}

// live returns the token and its family if the token can rotate at now.
func (s *RefreshTokens) live(id string, now time.Time) (*memToken, *memFamily) {
	t := s.tokens[id]
	if t == nil {
		return nil, nil
	}
	f := s.families[t.rec.FamilyID]
	if f == nil || f.revoked || !now.Before(t.rec.Expiry) || !now.Before(f.expiry) {
		return nil, nil
	}
	if nb, ok := s.nb[f.user]; ok && nb.After(f.signIn.AuthTime) {
		return nil, nil
	}
	return t, f
}

func (t *memToken) record() jwt.RefreshToken {
	r := t.rec
	r.SignIn = copySignIn(r.SignIn)
	return r
}

// Rotate implements [jwt.RefreshStore] under the store's lock.
func (s *RefreshTokens) Rotate(ctx context.Context, r jwt.Rotation) (jwt.RotateResult, error) {
	if err := ctx.Err(); err != nil {
		return jwt.RotateResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, f := s.live(r.ID, r.Now)
	if t == nil {
		return jwt.RotateResult{}, nil
	}
	if t.rec.UsedAt.IsZero() {
		n := r.Next
		n.FamilyID, n.UserID, n.FamilyExpiry = t.rec.FamilyID, t.rec.UserID, t.rec.FamilyExpiry
		n.UsedAt, n.SignIn = time.Time{}, copySignIn(f.signIn)
		if n.Expiry.After(n.FamilyExpiry) {
			n.Expiry = n.FamilyExpiry
		}
		t.rec.UsedAt, t.next, t.sealed = r.Now, n.ID, slices.Clone(r.Sealed)
		s.tokens[n.ID] = &memToken{rec: n}
		f.tokens[n.ID] = struct{}{}
		return jwt.RotateResult{Outcome: jwt.Rotated, Token: n}, nil
	}
	if d := r.Now.Sub(t.rec.UsedAt); r.Grace > 0 && d < r.Grace && d > -r.Grace {
		if n, _ := s.live(t.next, r.Now); n != nil && n.rec.UsedAt.IsZero() {
			return jwt.RotateResult{Outcome: jwt.RotateRetried, Token: n.record(), Sealed: slices.Clone(t.sealed)}, nil
		}
	}
	prev := t.record()
	s.revokeFamily(t.rec.FamilyID)
	return jwt.RotateResult{Outcome: jwt.RotateReused, Token: prev}, nil
}

// UpdateSignIn implements [jwt.RefreshStore] under the store's lock.
func (s *RefreshTokens) UpdateSignIn(ctx context.Context, u jwt.SignInUpdate) (jwt.RefreshToken, bool, error) {
	if err := ctx.Err(); err != nil {
		return jwt.RefreshToken{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, f := s.live(u.ID, u.Now)
	if t == nil || !t.rec.UsedAt.IsZero() || f.user != u.UserID {
		return jwt.RefreshToken{}, false, nil
	}
	if nb, ok := s.nb[f.user]; ok && nb.After(u.SignIn.AuthTime) {
		return jwt.RefreshToken{}, false, nil
	}
	f.signIn = copySignIn(u.SignIn)
	for id := range f.tokens {
		if x := s.tokens[id]; x != nil {
			x.rec.SignIn = copySignIn(u.SignIn)
		}
	}
	return t.record(), true, nil
}

// RevokeToken implements [jwt.RefreshStore].
func (s *RefreshTokens) RevokeToken(ctx context.Context, id string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[id]
	if t == nil {
		return "", false, nil
	}
	s.revokeFamily(t.rec.FamilyID)
	return t.rec.UserID, true, nil
}

// revokeFamily drops the family's tokens and keeps its record, marked
// revoked, until its expiry (Purge).
func (s *RefreshTokens) revokeFamily(familyID string) {
	f := s.families[familyID]
	if f == nil {
		return
	}
	f.revoked = true
	for id := range f.tokens {
		delete(s.tokens, id)
	}
	clear(f.tokens)
}

// RevokeUser implements [jwt.RefreshStore].
func (s *RefreshTokens) RevokeUser(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for f := range s.users[userID] {
		s.revokeFamily(f)
	}
	return nil
}

// SetNotBefore implements [jwt.NotBeforeStore]: the later time wins.
func (s *RefreshTokens) SetNotBefore(ctx context.Context, userID string, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.nb[userID]; !ok || t.After(cur) {
		s.nb[userID] = t
	}
	return nil
}

// NotBefore implements [jwt.NotBeforeStore]: the later of the user's time
// and the store's epoch (its creation time), always found.
func (s *RefreshTokens) NotBefore(ctx context.Context, userID string) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.nb[userID]
	if !ok || t.Before(s.epoch) {
		t = s.epoch
	}
	return t, true, nil
}

// Purge drops expired tokens and families past their absolute expiry. It
// keeps every not-before time, as the other stores do: a sign-in's
// AuthTime can be arbitrarily old (a family minted for a long-lived
// session), and Create must still refuse one that predates a "log out
// everywhere".
func (s *RefreshTokens) Purge() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if !now.Before(t.rec.Expiry) {
			delete(s.tokens, id)
			if f := s.families[t.rec.FamilyID]; f != nil {
				delete(f.tokens, id)
			}
		}
	}
	for id, f := range s.families {
		if !now.Before(f.expiry) {
			for t := range f.tokens {
				delete(s.tokens, t)
			}
			delete(s.families, id)
			if u := s.users[f.user]; u != nil {
				delete(u, id)
				if len(u) == 0 {
					delete(s.users, f.user)
				}
			}
		}
	}
}
