package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// windowCounter is a fixed-window [Counter] on a fake clock with the
// semantics of authkit.AttemptStore (memstore.Attempts cannot be imported
// here: it imports this package). fail makes every Incr fail; keys records
// the keys it was asked about.
type windowCounter struct {
	now  func() time.Time
	fail error

	mu   sync.Mutex
	n    map[string]int
	end  map[string]time.Time
	keys []string
}

func newWindowCounter(now func() time.Time) *windowCounter {
	return &windowCounter{now: now, n: map[string]int{}, end: map[string]time.Time{}}
}

func (c *windowCounter) Incr(ctx context.Context, key string, window time.Duration) (int, time.Time, error) {
	if c.fail != nil {
		return 0, time.Time{}, c.fail
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, key)
	if end, ok := c.end[key]; !ok || !now.Before(end) {
		c.n[key], c.end[key] = 0, now.Add(window)
	}
	c.n[key]++
	return c.n[key], c.end[key], nil
}

func mustLimiter(t testing.TB, cfg WindowLimiterConfig) *WindowLimiter {
	t.Helper()
	l, err := NewWindowLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// newTestLimiter is a WindowLimiter of limit events per window on a fresh
// windowCounter driven by clk.
func newTestLimiter(t testing.TB, clk *fakeClock, limit int, window time.Duration) *WindowLimiter {
	t.Helper()
	return mustLimiter(t, WindowLimiterConfig{Counter: newWindowCounter(clk.Now), Limit: limit, Window: window, Now: clk.Now})
}

// TestWindowLimiterAllowsLimitPerWindow: Limit events, Remaining counting
// down, then denials with RetryAfter = window end - now, and a whole new
// window once it has ended.
func TestWindowLimiterAllowsLimitPerWindow(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	l := newTestLimiter(t, clk, 3, 3*time.Second)
	for i := range 3 {
		d, err := l.Allow(ctx, "k")
		if err != nil || d != (Decision{Allowed: true, Remaining: 2 - i}) {
			t.Fatalf("event %d: %+v, %v", i+1, d, err)
		}
	}
	steps := []struct {
		advance time.Duration
		want    Decision
	}{
		{0, Decision{RetryAfter: 3 * time.Second}},
		{400 * time.Millisecond, Decision{RetryAfter: 2600 * time.Millisecond}},
		{2599 * time.Millisecond, Decision{RetryAfter: time.Millisecond}},
		{time.Millisecond, Decision{Allowed: true, Remaining: 2}}, // a new window: the whole limit again
		{0, Decision{Allowed: true, Remaining: 1}},
		{0, Decision{Allowed: true, Remaining: 0}},
		{0, Decision{RetryAfter: 3 * time.Second}},
	}
	for i, s := range steps {
		clk.Add(s.advance)
		d, err := l.Allow(ctx, "k")
		if err != nil || d != s.want {
			t.Fatalf("step %d: %+v, %v; want %+v", i, d, err, s.want)
		}
	}
}

// TestWindowLimiterDeniedCallsNeverExtendTheWindow: a client that knocks
// every 100 ms through a whole window gets in at the window's end, the
// RetryAfter of its first denial.
func TestWindowLimiterDeniedCallsNeverExtendTheWindow(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	l := newTestLimiter(t, clk, 1, time.Minute)
	if d, _ := l.Allow(ctx, "k"); !d.Allowed {
		t.Fatal("first event denied")
	}
	first, err := l.Allow(ctx, "k")
	if err != nil || first.Allowed || first.RetryAfter != time.Minute {
		t.Fatalf("first denial: %+v, %v; want RetryAfter 1m", first, err)
	}
	for i := range 599 {
		clk.Add(100 * time.Millisecond)
		d, err := l.Allow(ctx, "k")
		if err != nil || d.Allowed {
			t.Fatalf("knock %d: %+v, %v; want denied", i+1, d, err)
		}
		if want := first.RetryAfter - time.Duration(i+1)*100*time.Millisecond; d.RetryAfter != want {
			t.Fatalf("knock %d: RetryAfter %v, want %v (denials must not push the window end)", i+1, d.RetryAfter, want)
		}
	}
	clk.Add(100 * time.Millisecond) // first.RetryAfter has passed
	if d, err := l.Allow(ctx, "k"); err != nil || !d.Allowed {
		t.Fatalf("after the first RetryAfter: %+v, %v; want allowed", d, err)
	}
}

// TestWindowLimiterFailsClosedOnCounterError: a Counter failure is an
// error, never an allowance, and RateLimit answers 503.
func TestWindowLimiterFailsClosedOnCounterError(t *testing.T) {
	clk := newFakeClock()
	c := newWindowCounter(clk.Now)
	c.fail = errors.New("redis: connection refused")
	l := mustLimiter(t, WindowLimiterConfig{Counter: c, Limit: 5, Window: time.Minute, Now: clk.Now})
	d, err := l.Allow(t.Context(), "k")
	if !errors.Is(err, c.fail) || d.Allowed {
		t.Fatalf("Allow on a failing counter: %+v, %v; want denied with the counter's error", d, err)
	}
	h := &stateful{}
	rec := httptest.NewRecorder()
	RateLimit(l, func(*http.Request) string { return "k" })(h).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != http.StatusServiceUnavailable || h.calls.Load() != 0 {
		t.Fatalf("status %d calls %d; want 503 and handler not reached", rec.Code, h.calls.Load())
	}
}

// TestWindowLimiterPrefixesKeys: the counter sees Prefix+key (default
// "rl:"), so limiters with their own prefixes on one counter never share
// counts, and a done context is refused before anything is counted.
func TestWindowLimiterPrefixesKeys(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	c := newWindowCounter(clk.Now)
	a := mustLimiter(t, WindowLimiterConfig{Counter: c, Limit: 1, Window: time.Hour, Now: clk.Now})
	b := mustLimiter(t, WindowLimiterConfig{Counter: c, Limit: 1, Window: time.Hour, Prefix: "rl-signup:", Now: clk.Now})
	var got []bool
	for _, l := range []*WindowLimiter{a, a, b, b} {
		d, err := l.Allow(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.Allowed)
	}
	if want := []bool{true, false, true, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("decisions %v, want %v", got, want)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if d, err := a.Allow(cctx, "other"); !errors.Is(err, context.Canceled) || d.Allowed {
		t.Fatalf("Allow with a cancelled context: %+v, %v", d, err)
	}
	want := []string{"rl:k", "rl:k", "rl-signup:k", "rl-signup:k"}
	if fmt.Sprint(c.keys) != fmt.Sprint(want) {
		t.Fatalf("counter keys %q, want %q", c.keys, want)
	}
	// A key of the default limiter that spells the other policy's name
	// plus a key of it still has its own count.
	if d, err := a.Allow(ctx, "signup:k2"); err != nil || !d.Allowed {
		t.Fatalf("default limiter, fresh key \"signup:k2\": %+v, %v; want allowed", d, err)
	}
	if d, err := b.Allow(ctx, "k2"); err != nil || !d.Allowed {
		t.Fatalf("signup limiter, fresh key \"k2\" after the default limiter counted \"signup:k2\": %+v, %v; want allowed", d, err)
	}
}

// TestWindowLimiterConcurrentCallsAllowExactlyTheLimit: 256 goroutines on
// one key with a frozen clock allow exactly Limit (-race).
func TestWindowLimiterConcurrentCallsAllowExactlyTheLimit(t *testing.T) {
	clk := newFakeClock()
	l := newTestLimiter(t, clk, 50, time.Hour)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 256 {
		wg.Go(func() {
			d, err := l.Allow(context.Background(), "shared")
			if err != nil {
				t.Error(err)
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 50 {
		t.Fatalf("allowed %d on the shared key, want exactly 50", allowed.Load())
	}
}

func TestNewWindowLimiterRejectsInvalidConfig(t *testing.T) {
	c := newWindowCounter(time.Now)
	for _, cfg := range []WindowLimiterConfig{
		{},
		{Limit: 1, Window: time.Second},
		{Counter: c, Window: time.Second},
		{Counter: c, Limit: 1},
		{Counter: c, Limit: -1, Window: time.Second},
		{Counter: c, Limit: 1, Window: -time.Second},
	} {
		if _, err := NewWindowLimiter(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewWindowLimiter(%+v): err = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{
		{0, 1}, {-time.Second, 1}, {time.Nanosecond, 1}, {time.Second, 1},
		{time.Second + time.Millisecond, 2}, {90 * time.Second, 90}, {15 * time.Minute, 900},
	} {
		if got := RetryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestRateLimit_429(t *testing.T) {
	clk := newFakeClock()
	l := newTestLimiter(t, clk, 1, 90*time.Second)
	h := &stateful{}
	mw := RateLimit(l, func(r *http.Request) string { return "k" })(h)

	do := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mw.ServeHTTP(rec, httptest.NewRequest("POST", "/auth/login", nil))
		return rec
	}
	if rec := do(); rec.Code != http.StatusNoContent {
		t.Fatalf("first request: %d", rec.Code)
	}
	for _, tt := range []struct {
		advance time.Duration
		want    string
	}{
		{0, "90"},
		{500 * time.Millisecond, "90"}, // 89.5 s rounds up
		{89 * time.Second, "1"},        // 0.5 s rounds up to 1
	} {
		clk.Add(tt.advance)
		rec := do()
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", rec.Code)
		}
		if got := rec.Header().Get("Retry-After"); got != tt.want {
			t.Fatalf("Retry-After %q, want %q", got, tt.want)
		}
		if got := rec.Body.String(); got != "{\"error\":\"rate_limited\"}\n" {
			t.Fatalf("body %q", got)
		}
	}
	if h.calls.Load() != 1 {
		t.Fatalf("handler reached %d times, want 1", h.calls.Load())
	}
	clk.Add(500 * time.Millisecond)
	if rec := do(); rec.Code != http.StatusNoContent {
		t.Fatalf("after the wait: %d", rec.Code)
	}
}

type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string) (Decision, error) {
	return Decision{Allowed: true}, errors.New("redis: connection refused")
}

func TestRateLimit_FailsClosed(t *testing.T) {
	h := &stateful{}
	rec := httptest.NewRecorder()
	RateLimit(failingLimiter{}, func(*http.Request) string { return "k" })(h).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != http.StatusServiceUnavailable || h.calls.Load() != 0 {
		t.Fatalf("status %d calls %d; want 503 and handler not reached", rec.Code, h.calls.Load())
	}
	if got := rec.Body.String(); got != "{\"error\":\"unavailable\"}\n" {
		t.Fatalf("body %q leaks or differs", got)
	}
	if got := rec.Header().Get("Retry-After"); got != "5" {
		t.Fatalf("503 Retry-After %q, want 5", got)
	}
}

// TestRateLimitIgnoresForgedXFF: one client tries 1000 accounts while forging a
// new X-Forwarded-For on every request; the per-IP limit still holds because
// the header is not trusted from that peer.
func TestRateLimitIgnoresForgedXFF(t *testing.T) {
	clk := newFakeClock()
	l := newTestLimiter(t, clk, 100, 15*time.Minute)
	ips, err := NewClientIPResolver(ClientIPResolverConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	h := &stateful{}
	mw := RateLimit(l, ips.Key)(h)
	limited := 0
	for i := range 1000 {
		r := httptest.NewRequest("POST", fmt.Sprintf("/auth/login?account=user%d", i), nil)
		r.RemoteAddr = "203.0.113.5:4000"
		r.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", i/256, i%256))
		rec := httptest.NewRecorder()
		mw.ServeHTTP(rec, r)
		if rec.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	if h.calls.Load() != 100 || limited != 900 {
		t.Fatalf("handler reached %d times, %d limited; want 100 and 900", h.calls.Load(), limited)
	}

	// Behind a trusted proxy, distinct real clients get their own budgets.
	l2 := newTestLimiter(t, clk, 1, time.Hour)
	h2 := &stateful{}
	mw2 := RateLimit(l2, ips.Key)(h2)
	for i := range 10 {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = "10.0.0.1:4000"
		r.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		mw2.ServeHTTP(httptest.NewRecorder(), r)
	}
	if h2.calls.Load() != 10 {
		t.Fatalf("behind a trusted proxy: %d of 10 distinct clients allowed", h2.calls.Load())
	}
}

func TestSecureHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	SecureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "same-origin") // next may override
		w.WriteHeader(http.StatusOK)
	})).ServeHTTP(rec, httptest.NewRequest("POST", "/auth/login", nil))
	want := map[string]string{
		"Cache-Control":           "no-store",
		"Pragma":                  "no-cache",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	}
	for k, v := range want {
		if got := rec.Header().Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// The headers are present even on an error written by an inner layer.
	rec = httptest.NewRecorder()
	SecureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteRateLimited(w, time.Second)
	})).ServeHTTP(rec, httptest.NewRequest("POST", "/auth/login", nil))
	if rec.Header().Get("Cache-Control") != "no-store" || rec.Code != http.StatusTooManyRequests {
		t.Fatalf("error response: %d %v", rec.Code, rec.Header())
	}
}
