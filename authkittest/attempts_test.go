package authkittest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/internal/suite"
)

// refStore is a correct AttemptStore; flaw switches on one defect at a time.
type refStore struct {
	flaw string
	mu   sync.Mutex
	n    map[string]int
	end  map[string]time.Time
}

func newRef(flaw string) *refStore {
	return &refStore{flaw: flaw, n: map[string]int{}, end: map[string]time.Time{}}
}

func (s *refStore) key(k string) string {
	if s.flaw == "sharedKey" {
		return ""
	}
	return k
}

func (s *refStore) live(k string, now time.Time) bool {
	e, ok := s.end[k]
	return ok && (s.flaw == "neverExpires" || now.Before(e))
}

func (s *refStore) Incr(ctx context.Context, key string, window time.Duration) (int, time.Time, error) {
	if err := ctx.Err(); err != nil && s.flaw != "ignoreCtx" {
		return 0, time.Time{}, err
	}
	key = s.key(key)
	now := time.Now()
	if s.flaw == "racy" {
		s.mu.Lock()
		n := s.n[key]
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.n[key], s.end[key] = n+1, now.Add(window)
		return n + 1, s.end[key], nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live(key, now) {
		s.n[key], s.end[key] = 0, now.Add(window)
	}
	if s.flaw == "extendsWindow" {
		s.end[key] = now.Add(window)
	}
	s.n[key]++
	if s.flaw == "driftingEnd" { // an end recomputed from a rounded TTL
		return s.n[key], s.end[key].Add(time.Duration(s.n[key]) * 700 * time.Millisecond), nil
	}
	return s.n[key], s.end[key], nil
}

func (s *refStore) Count(ctx context.Context, key string) (int, time.Time, error) {
	if err := ctx.Err(); err != nil && s.flaw != "ignoreCtx" {
		return 0, time.Time{}, err
	}
	key = s.key(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live(key, time.Now()) {
		if s.flaw == "missingHasTime" {
			return 0, time.Now(), nil
		}
		return 0, time.Time{}, nil
	}
	if s.flaw == "countIncrements" {
		s.n[key]++
	}
	return s.n[key], s.end[key], nil
}

func (s *refStore) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil && s.flaw != "ignoreCtx" {
		return err
	}
	key = s.key(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.flaw {
	case "resetNoop":
		return nil
	case "resetMissingErr":
		if _, ok := s.end[key]; !ok {
			return context.DeadlineExceeded // any error
		}
	case "globReset": // like a Redis DEL over KEYS pattern
		if strings.HasSuffix(key, "*") {
			prefix := strings.TrimSuffix(key, "*")
			for k := range s.end {
				if strings.HasPrefix(k, prefix) {
					delete(s.end, k)
					delete(s.n, k)
				}
			}
			return nil
		}
	}
	delete(s.end, key)
	delete(s.n, key)
	return nil
}

// TestSuiteRejectsBrokenAttemptStores proves every case catches the defect it
// exists for.
func TestSuiteRejectsBrokenAttemptStores(t *testing.T) {
	t.Parallel()
	flaws := []suite.Flaw{
		{}, // the reference
		{Name: "sharedKey", Want: []string{"KeysIndependent", "HostileKeys", "ConcurrentKeys"}},
		{Name: "neverExpires", Want: []string{"WindowExpires"}},
		{Name: "extendsWindow", Want: []string{"WindowNotExtended"}},
		{Name: "driftingEnd", Want: []string{"WindowEndStable"}},
		{Name: "countIncrements", Want: []string{"CountDoesNotChange"}},
		{Name: "resetNoop", Want: []string{"Reset"}},
		{Name: "resetMissingErr", Want: []string{"ResetMissing"}},
		{Name: "globReset", Want: []string{"HostileKeys"}},
		{Name: "racy", Want: []string{"ConcurrentIncr"}},
		{Name: "ignoreCtx", Want: []string{"CancelledContext"}},
		{Name: "missingHasTime", Want: []string{"CountMissing", "Reset", "WindowExpires"}},
	}
	suite.CheckFlaws(t, flaws, func(flaw string) error {
		return authkittest.TestAttemptStore(func() (authkit.AttemptStore, error) { return newRef(flaw), nil })
	})
}
