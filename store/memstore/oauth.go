package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/authkit-go/authkit/oauth"
)

// OAuthStates is an in-memory [oauth.StateStore]: pending OAuth
// transactions keyed by state, each taken at most once.
type OAuthStates struct {
	mu  sync.Mutex
	m   map[string]oauth.Pending
	now func() time.Time
}

// newOAuthStates returns an empty store. now defaults to time.Now when nil.
func newOAuthStates(now func() time.Time) *OAuthStates {
	if now == nil {
		now = time.Now
	}
	return &OAuthStates{m: make(map[string]oauth.Pending), now: now}
}

// Save implements [oauth.StateStore]. An expiry in the past stores nothing.
func (s *OAuthStates) Save(ctx context.Context, state string, p oauth.Pending) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.now().Before(p.Expiry) {
		delete(s.m, state)
		return nil
	}
	s.m[state] = p
	return nil
}

// Take implements [oauth.StateStore]: get and delete under one lock, so
// among concurrent takers of one state exactly one finds it.
func (s *OAuthStates) Take(ctx context.Context, state string) (oauth.Pending, bool, error) {
	if err := ctx.Err(); err != nil {
		return oauth.Pending{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[state]
	if !ok {
		return oauth.Pending{}, false, nil
	}
	delete(s.m, state)
	if !s.now().Before(p.Expiry) {
		return oauth.Pending{}, false, nil
	}
	return p, true, nil
}

// Purge drops expired transactions.
func (s *OAuthStates) Purge() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, p := range s.m {
		if !now.Before(p.Expiry) {
			delete(s.m, k)
		}
	}
}
