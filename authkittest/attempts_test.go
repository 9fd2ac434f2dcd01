package authkittest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
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
	tests := []struct {
		flaw  string
		cases []string
	}{
		{"", nil},
		{"sharedKey", []string{"KeysIndependent", "HostileKeys", "ConcurrentKeys"}},
		{"neverExpires", []string{"WindowExpires"}},
		{"extendsWindow", []string{"WindowNotExtended"}},
		{"driftingEnd", []string{"WindowEndStable"}},
		{"countIncrements", []string{"CountDoesNotChange"}},
		{"resetNoop", []string{"Reset"}},
		{"resetMissingErr", []string{"ResetMissing"}},
		{"globReset", []string{"HostileKeys"}},
		{"racy", []string{"ConcurrentIncr"}},
		{"ignoreCtx", []string{"CancelledContext"}},
		{"missingHasTime", []string{"CountMissing", "Reset", "WindowExpires"}},
	}
	// The suite waits for real time in one case; run every store at once
	// rather than as parallel subtests, which -parallel (GOMAXPROCS) would
	// serialize.
	errs := make([]error, len(tests))
	var wg sync.WaitGroup
	for i, tt := range tests {
		wg.Go(func() {
			errs[i] = authkittest.TestAttemptStore(func() (authkit.AttemptStore, error) { return newRef(tt.flaw), nil })
		})
	}
	wg.Wait()
	for i, tt := range tests {
		name := tt.flaw
		if name == "" {
			name = "reference"
		}
		t.Run(name, func(t *testing.T) {
			err := errs[i]
			if tt.cases == nil {
				if err != nil {
					t.Fatalf("reference store failed: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("store with flaw %q passed the suite", tt.flaw)
			}
			for _, c := range tt.cases {
				if !strings.Contains(err.Error(), c+":") {
					t.Errorf("flaw %q: case %s did not fail; errors:\n%v", tt.flaw, c, err)
				}
			}
		})
	}
}
