package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/authkit-go/authkit"
)

// OneTimeTokens is the in-memory [authkit.OneTimeTokenStore] for
// password-reset and email-verification tokens. It is keyed
// by the token's hash, as the root package passes it, never by the token.
// Take is atomic. Expired records are dropped when touched or by
// [OneTimeTokens.Purge]. It is safe for concurrent use.
type OneTimeTokens struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]authkit.OneTimeToken
}

// newOneTimeTokens returns an empty store. now returns the current time; nil
// means time.Now (tests inject a fake clock).
func newOneTimeTokens(now func() time.Time) *OneTimeTokens {
	if now == nil {
		now = time.Now
	}
	return &OneTimeTokens{now: now, m: make(map[string]authkit.OneTimeToken)}
}

// Save implements [authkit.OneTimeTokenStore]. A record already expired is
// not kept.
func (s *OneTimeTokens) Save(ctx context.Context, tokenHash string, t authkit.OneTimeToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.now().Before(t.Expiry) {
		delete(s.m, tokenHash)
		return nil
	}
	s.m[tokenHash] = t
	return nil
}

// Take implements [authkit.OneTimeTokenStore]: it returns and deletes the
// record in one critical section.
func (s *OneTimeTokens) Take(ctx context.Context, tokenHash string) (authkit.OneTimeToken, bool, error) {
	if err := ctx.Err(); err != nil {
		return authkit.OneTimeToken{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[tokenHash]
	if !ok {
		return authkit.OneTimeToken{}, false, nil
	}
	delete(s.m, tokenHash)
	if !s.now().Before(t.Expiry) {
		return authkit.OneTimeToken{}, false, nil
	}
	return t, true, nil
}

// Purge drops expired records and returns how many it removed.
func (s *OneTimeTokens) Purge() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, n := s.now(), 0
	for k, t := range s.m {
		if !now.Before(t.Expiry) {
			delete(s.m, k)
			n++
		}
	}
	return n
}

// Len returns the number of stored records, expired ones included until
// purged.
func (s *OneTimeTokens) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
