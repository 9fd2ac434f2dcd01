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

func mustLimiter(t testing.TB, cfg MemoryLimiterConfig) *MemoryLimiter {
	t.Helper()
	l, err := NewMemoryLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestMemoryLimiter_TokenBucket(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	l := mustLimiter(t, MemoryLimiterConfig{Limit: 3, Per: 3 * time.Second, Now: clk.Now})
	for i := range 3 {
		d, err := l.Allow(ctx, "k")
		if err != nil || !d.Allowed || d.Remaining != 2-i || d.RetryAfter != 0 {
			t.Fatalf("event %d: %+v, %v", i+1, d, err)
		}
	}
	steps := []struct {
		advance time.Duration
		want    Decision
	}{
		{0, Decision{RetryAfter: time.Second}},
		{0, Decision{RetryAfter: time.Second}}, // denied calls consume nothing
		{400 * time.Millisecond, Decision{RetryAfter: 600 * time.Millisecond}},
		{600 * time.Millisecond, Decision{Allowed: true}},
		{0, Decision{RetryAfter: time.Second}},
		{10 * time.Second, Decision{Allowed: true, Remaining: 2}}, // refilled to the burst, not beyond
		{0, Decision{Allowed: true, Remaining: 1}},
	}
	for i, s := range steps {
		clk.Add(s.advance)
		d, err := l.Allow(ctx, "k")
		if err != nil || d != s.want {
			t.Fatalf("step %d: %+v, %v; want %+v", i, d, err, s.want)
		}
	}
}

func TestMemoryLimiter_Burst(t *testing.T) {
	clk := newFakeClock()
	l := mustLimiter(t, MemoryLimiterConfig{Limit: 1, Per: time.Minute, Burst: 5, Now: clk.Now})
	for i := range 5 {
		if d, _ := l.Allow(t.Context(), "k"); !d.Allowed {
			t.Fatalf("event %d denied within Burst", i+1)
		}
	}
	if d, _ := l.Allow(t.Context(), "k"); d.Allowed || d.RetryAfter != time.Minute {
		t.Fatalf("after burst: %+v, want RetryAfter 1m", d)
	}
}

// TestMemoryLimiter_IdleEviction checks the memory bound: idle keys (full
// buckets) are evicted by later calls, and the map never exceeds MaxKeys.
func TestMemoryLimiter_IdleEviction(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	l := mustLimiter(t, MemoryLimiterConfig{Limit: 2, Per: time.Minute, MaxKeys: 50, Now: clk.Now})
	for i := range 40 {
		if _, err := l.Allow(ctx, fmt.Sprintf("k%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if l.Len() != 40 {
		t.Fatalf("Len = %d, want 40", l.Len())
	}
	clk.Add(59 * time.Second) // not yet idle: a bucket refills fully in 60 s
	if _, err := l.Allow(ctx, "fresh"); err != nil {
		t.Fatal(err)
	}
	if l.Len() != 41 {
		t.Fatalf("Len = %d before the idle time, want 41", l.Len())
	}
	clk.Add(time.Second)
	if _, err := l.Allow(ctx, "fresh"); err != nil {
		t.Fatal(err)
	}
	if l.Len() != 1 {
		t.Fatalf("Len = %d after the idle time, want 1 (every idle key evicted)", l.Len())
	}
	clk.Add(time.Hour)
	l.Purge()
	if l.Len() != 0 {
		t.Fatalf("Len after Purge = %d", l.Len())
	}

	// A flood of distinct keys (an attacker rotating IPs) never grows the
	// map beyond MaxKeys.
	for i := range 10_000 {
		if _, err := l.Allow(ctx, fmt.Sprintf("flood%d", i)); err != nil {
			t.Fatal(err)
		}
		if n := l.Len(); n > 50 {
			t.Fatalf("Len = %d > MaxKeys after %d keys", n, i+1)
		}
	}
	if l.Len() != 50 {
		t.Fatalf("Len = %d, want MaxKeys 50", l.Len())
	}
}

// TestMemoryLimiter_LRUKeepsActiveKey: when the map is full of busy keys, the
// least recently used one is dropped, not the one in use.
func TestMemoryLimiter_LRUKeepsActiveKey(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	l := mustLimiter(t, MemoryLimiterConfig{Limit: 1, Per: time.Hour, MaxKeys: 3, Now: clk.Now})
	l.Allow(ctx, "hot")
	for i := range 10 {
		l.Allow(ctx, fmt.Sprintf("cold%d", i))
		if d, _ := l.Allow(ctx, "hot"); d.Allowed {
			t.Fatalf("round %d: recently used key was evicted and got a fresh bucket", i)
		}
	}
}

// TestMemoryLimiter_Concurrent: 256 goroutines on one key with a frozen
// clock allow exactly the burst (-race).
func TestMemoryLimiter_Concurrent(t *testing.T) {
	clk := newFakeClock()
	l := mustLimiter(t, MemoryLimiterConfig{Limit: 50, Per: time.Hour, MaxKeys: 8, Now: clk.Now})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 256 {
		wg.Go(func() {
			for i := range 4 {
				key := "shared"
				if i%2 == 1 {
					key = fmt.Sprintf("own%d", g%4) // churn other keys too
				}
				d, err := l.Allow(context.Background(), key)
				if err != nil {
					t.Error(err)
				}
				if d.Allowed && key == "shared" {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 50 {
		t.Fatalf("allowed %d on the shared key, want exactly 50", allowed.Load())
	}
}

func TestNewMemoryLimiter_Invalid(t *testing.T) {
	for _, cfg := range []MemoryLimiterConfig{
		{},
		{Limit: 1},
		{Per: time.Second},
		{Limit: -1, Per: time.Second},
		{Limit: 1, Per: time.Second, Burst: -1},
		{Limit: 1, Per: time.Second, MaxKeys: -1},
	} {
		if _, err := NewMemoryLimiter(cfg); err == nil {
			t.Errorf("NewMemoryLimiter(%+v) succeeded", cfg)
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
	l := mustLimiter(t, MemoryLimiterConfig{Limit: 1, Per: 90 * time.Second, Now: clk.Now})
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
	l := mustLimiter(t, MemoryLimiterConfig{Limit: 100, Per: 15 * time.Minute, Now: clk.Now})
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
	l2 := mustLimiter(t, MemoryLimiterConfig{Limit: 1, Per: time.Hour, Now: clk.Now})
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

// TestMemoryLimiterFullNeverRefillsALimitedKey: an attacker who exhausted
// its budget cannot push its key out of a full table with fresh keys and
// come back with a full bucket.
func TestMemoryLimiterFullNeverRefillsALimitedKey(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	l := mustLimiter(t, MemoryLimiterConfig{Limit: 5, Per: time.Minute, MaxKeys: 2, Now: clk.Now})
	allowed := 0
	for i := range 20 {
		if d, _ := l.Allow(ctx, "attacker"); d.Allowed {
			allowed++
		}
		// Two fresh keys per round: enough to evict "attacker" from an LRU
		// of two if the table made room for them.
		l.Allow(ctx, fmt.Sprintf("x%d", i))
		l.Allow(ctx, fmt.Sprintf("y%d", i))
	}
	if allowed != 5 {
		t.Fatalf("attacker got %d events within one window, limit 5", allowed)
	}
}

// TestMemoryLimiterFullDeniesNewKeysUntilOneIsIdle: a full table of busy
// keys denies new keys with a Retry-After until the oldest goes idle.
func TestMemoryLimiterFullDeniesNewKeysUntilOneIsIdle(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	l := mustLimiter(t, MemoryLimiterConfig{Limit: 2, Per: time.Minute, MaxKeys: 2, Now: clk.Now})
	l.Allow(ctx, "a")
	clk.Add(10 * time.Second)
	l.Allow(ctx, "b")
	d, err := l.Allow(ctx, "c")
	if err != nil || d.Allowed || d.RetryAfter != 50*time.Second {
		t.Fatalf("new key on a full table: %+v, %v; want denied, RetryAfter 50s", d, err)
	}
	if l.Len() != 2 {
		t.Fatalf("Len = %d, want 2", l.Len())
	}
	clk.Add(50 * time.Second) // "a" is idle (full bucket) again
	if d, _ := l.Allow(ctx, "c"); !d.Allowed {
		t.Fatalf("new key after an idle key made room: %+v", d)
	}
}
