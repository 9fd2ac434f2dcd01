package limitertest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/middleware/limitertest"
	"github.com/authkit-go/authkit/store/memstore"
)

// newWindowLimiter is a WindowLimiter over a fresh memstore Attempts.
func newWindowLimiter(cfg limitertest.Config) (middleware.Limiter, error) {
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		return nil, err
	}
	return middleware.NewWindowLimiter(middleware.WindowLimiterConfig{
		Counter: st.Attempts(),
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
	flaws := []suite.Flaw{
		{}, // the reference
		{Name: "alwaysAllow", Want: []string{"BurstThenDeny", "KeysIndependent", "HostileKeys", "ConcurrentOneKey", "ConcurrentManyKeys"}},
		{Name: "sharedKey", Want: []string{"KeysIndependent", "HostileKeys", "ConcurrentManyKeys"}},
		{Name: "prefixKey", Want: []string{"HostileKeys"}},
		{Name: "racy", Want: []string{"ConcurrentOneKey"}},
		{Name: "neverRecover", Want: []string{"RecoverAfterRetryAfter", "DeniedDoNotDelay"}},
		{Name: "denialsExtend", Want: []string{"DeniedDoNotDelay"}},
		{Name: "zeroRetryAfter", Want: []string{"BurstThenDeny", "RecoverAfterRetryAfter"}},
		{Name: "badRemaining", Want: []string{"BurstThenDeny"}},
		{Name: "ignoreCtx", Want: []string{"CancelledContext"}},
	}
	suite.CheckFlaws(t, flaws, func(flaw string) error {
		return limitertest.Test(func(cfg limitertest.Config) (middleware.Limiter, error) { return newCounter(cfg, flaw), nil })
	})
}
