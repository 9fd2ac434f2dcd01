package limitertest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/middleware/limitertest"
	"github.com/authkit-go/authkit/store/memstore"
)

// newWindowLimiter is a WindowLimiter over a fresh memstore.Attempts.
func newWindowLimiter(cfg limitertest.Config) (middleware.Limiter, error) {
	return middleware.NewWindowLimiter(middleware.WindowLimiterConfig{
		Counter: memstore.NewAttempts(memstore.AttemptsConfig{}),
		Limit:   cfg.Limit,
		Window:  cfg.Window,
	})
}

// TestWindowLimiterOnMemstore runs the suite against the fixed-window
// limiter over the in-memory counter, with the real clock.
func TestWindowLimiterOnMemstore(t *testing.T) {
	limitertest.Run(t, func(t *testing.T, cfg limitertest.Config) middleware.Limiter {
		l, err := newWindowLimiter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

func TestWindowLimiterOnMemstorePassesTest(t *testing.T) {
	t.Parallel()
	if err := limitertest.Test(newWindowLimiter); err != nil {
		t.Fatal(err)
	}
}

// counter is a correct fixed-window reference whose behaviour the broken
// variants below change one rule at a time.
type counter struct {
	cfg     limitertest.Config
	mu      sync.Mutex
	n       map[string]int
	start   map[string]time.Time
	breakFn string
}

func newCounter(cfg limitertest.Config, breakFn string) *counter {
	return &counter{cfg: cfg, n: map[string]int{}, start: map[string]time.Time{}, breakFn: breakFn}
}

func (c *counter) Allow(ctx context.Context, key string) (middleware.Decision, error) {
	if c.breakFn != "ignoreCtx" {
		if err := ctx.Err(); err != nil {
			return middleware.Decision{}, err
		}
	}
	switch c.breakFn {
	case "alwaysAllow":
		return middleware.Decision{Allowed: true}, nil
	case "sharedKey":
		key = ""
	case "prefixKey": // collapses keys at the first ':' after the prefix, like a bad glob
		if i := strings.LastIndexByte(key, ':'); i >= 0 {
			key = key[:i]
		}
	}
	if c.breakFn == "racy" {
		c.mu.Lock()
		n, ok := c.n[key]
		if !ok {
			c.start[key] = time.Now()
		}
		c.mu.Unlock()
		time.Sleep(2 * time.Millisecond) // read-modify-write without holding the lock
		if n >= c.cfg.Limit {
			return middleware.Decision{RetryAfter: c.cfg.Window}, nil
		}
		c.mu.Lock()
		c.n[key] = n + 1
		c.mu.Unlock()
		return middleware.Decision{Allowed: true, Remaining: c.cfg.Limit - n - 1}, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if st, ok := c.start[key]; !ok || (c.breakFn != "neverRecover" && now.Sub(st) >= c.cfg.Window) {
		c.start[key], c.n[key] = now, 0
	}
	if c.n[key] >= c.cfg.Limit {
		if c.breakFn == "denialsExtend" {
			c.start[key] = now // every knock restarts the window
		}
		ra := c.cfg.Window - now.Sub(c.start[key])
		if c.breakFn == "zeroRetryAfter" {
			ra = 0
		}
		return middleware.Decision{RetryAfter: ra}, nil
	}
	c.n[key]++
	rem := c.cfg.Limit - c.n[key]
	if c.breakFn == "badRemaining" {
		rem = c.cfg.Limit
	}
	return middleware.Decision{Allowed: true, Remaining: rem}, nil
}

// TestSuiteRejectsBrokenLimiters proves each case detects the violation it
// exists for: the reference passes, and every broken variant fails the named
// case.
func TestSuiteRejectsBrokenLimiters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		breakFn  string
		wantCase []string // each must appear in the error
	}{
		{"", nil},
		{"alwaysAllow", []string{"BurstThenDeny", "KeysIndependent", "HostileKeys", "ConcurrentOneKey", "ConcurrentManyKeys"}},
		{"sharedKey", []string{"KeysIndependent", "HostileKeys", "ConcurrentManyKeys"}},
		{"prefixKey", []string{"HostileKeys"}},
		{"racy", []string{"ConcurrentOneKey"}},
		{"neverRecover", []string{"RecoverAfterRetryAfter", "DeniedDoNotDelay"}},
		{"denialsExtend", []string{"DeniedDoNotDelay"}},
		{"zeroRetryAfter", []string{"BurstThenDeny", "RecoverAfterRetryAfter"}},
		{"badRemaining", []string{"BurstThenDeny"}},
		{"ignoreCtx", []string{"CancelledContext"}},
	}
	// Several cases wait for real time; run every limiter at once rather
	// than as parallel subtests, which -parallel (GOMAXPROCS) would serialize.
	errs := make([]error, len(tests))
	var wg sync.WaitGroup
	for i, tt := range tests {
		wg.Go(func() {
			errs[i] = limitertest.Test(func(cfg limitertest.Config) (middleware.Limiter, error) {
				return newCounter(cfg, tt.breakFn), nil
			})
		})
	}
	wg.Wait()
	for i, tt := range tests {
		name := tt.breakFn
		if name == "" {
			name = "reference"
		}
		t.Run(name, func(t *testing.T) {
			err := errs[i]
			if tt.wantCase == nil {
				if err != nil {
					t.Fatalf("reference limiter failed the suite: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("broken limiter %q passed the suite", tt.breakFn)
			}
			for _, c := range tt.wantCase {
				if !strings.Contains(err.Error(), c+":") {
					t.Errorf("broken limiter %q: case %s did not fail; errors:\n%v", tt.breakFn, c, err)
				}
			}
		})
	}
}
