package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Decision is a [Limiter]'s answer for one event.
type Decision struct {
	// Allowed reports whether the event may proceed; it has been counted.
	Allowed bool
	// Remaining is how many further events the key could make right now
	// (0 when denied). Informational; it may be approximate in distributed
	// implementations.
	Remaining int
	// RetryAfter is, when Allowed is false, how long the caller should wait
	// before the key's next event can be allowed (> 0). It is 0 when Allowed.
	RetryAfter time.Duration
}

// Limiter limits events per key (a client IP, a login name). Its rates are
// configured per instance, so a host uses one Limiter per policy (for
// example per-IP sign-ups and per-address reset mails).
//
// Implementations must be safe for concurrent use and atomic per key: N
// concurrent calls on a fresh key with a limit of L allow exactly min(N, L).
// Denied calls must never delay the key's next allowed event: a client that
// keeps knocking still gets in once RetryAfter has passed. Keys are opaque
// byte strings: characters such as '*', ':', '%', '{' or quotes have no
// special meaning. err is for system failure only (and wraps ctx.Err() when
// ctx is done); callers fail closed on it. middleware/limitertest checks
// these rules.
//
// [WindowLimiter] implements it on any fixed-window [Counter] (the attempt
// counter of every authkit store); a host with its own limiter plugs it in
// here.
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
}

// Counter is the fixed-window counter a [WindowLimiter] counts on. It is the
// Incr method of authkit.AttemptStore, so the Attempts() of memstore,
// redisstore and sqlstore (and any conforming host store) serve as one.
//
// Incr adds one event for key and returns the count within the current
// window and the window's end. The window starts with the first Incr on an
// absent or expired key and is not extended by later calls; N concurrent
// calls on one key return the counts 1..N, each exactly once.
type Counter interface {
	Incr(ctx context.Context, key string, window time.Duration) (n int, windowEnd time.Time, err error)
}

// DefaultLimiterPrefix is the default [WindowLimiterConfig.Prefix].
const DefaultLimiterPrefix = "rl:"

// WindowLimiterConfig configures [NewWindowLimiter]: at most Limit events
// per key in each fixed Window.
type WindowLimiterConfig struct {
	// Counter keeps the counts (required). Pass a store's Attempts(): a
	// shared store (Redis, SQL) gives one limit across every instance of the
	// host.
	Counter Counter
	// Limit is the number of events allowed per key and window (> 0).
	Limit int
	// Window is the length of a key's window (> 0). It starts at the key's
	// first event and is never extended.
	Window time.Duration
	// Prefix is put before every key so the limiter's counts never meet
	// those of another user of the same Counter (the login lockout, another
	// limiter). Give each policy its own, none of them the start of
	// another's: with policies on "rl:" and "rl:signup:", key "signup:x" of
	// the first would count as key "x" of the second. For example
	// "rl-signup:" next to the default. Default [DefaultLimiterPrefix].
	Prefix string
	// Now returns the current time, used for RetryAfter; it should be the
	// Counter's clock (the store's Config.Now). Default time.Now.
	Now func() time.Time
}

// WindowLimiter is the fixed-window [Limiter]: the first event of a key
// opens a window of Window, and the key may make Limit events in it. Every
// call counts, denied ones included, but no call extends the window, so a
// client that keeps knocking gets in again at the window's end, and
// RetryAfter is the time left until then. A burst of up to 2×Limit across a
// window boundary is possible, the known trade of fixed windows for one
// atomic counter per key.
//
// It keeps no state of its own; it is safe for concurrent use when the
// Counter is. Memory is the Counter's: one entry per key seen in the current
// window (memstore.Attempts drops expired keys when touched or purged;
// Redis and SQL expire them).
type WindowLimiter struct {
	counter Counter
	limit   int
	window  time.Duration
	prefix  string
	now     func() time.Time
}

var _ Limiter = (*WindowLimiter)(nil)

// NewWindowLimiter validates cfg and returns a WindowLimiter. Its errors
// satisfy errors.Is(err, [ErrInvalidConfig]).
func NewWindowLimiter(cfg WindowLimiterConfig) (*WindowLimiter, error) {
	switch {
	case cfg.Counter == nil:
		return nil, invalidConfig(errors.New("middleware: WindowLimiterConfig.Counter is required"))
	case cfg.Limit <= 0:
		return nil, invalidConfig(fmt.Errorf("middleware: WindowLimiterConfig.Limit %d must be > 0", cfg.Limit))
	case cfg.Window <= 0:
		return nil, invalidConfig(fmt.Errorf("middleware: WindowLimiterConfig.Window %v must be > 0", cfg.Window))
	}
	l := &WindowLimiter{counter: cfg.Counter, limit: cfg.Limit, window: cfg.Window, prefix: cfg.Prefix, now: cfg.Now}
	if l.prefix == "" {
		l.prefix = DefaultLimiterPrefix
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Allow implements [Limiter] with one Counter.Incr. A Counter error is
// returned (the caller fails closed); so is ctx.Err() when ctx is already
// done, without counting.
func (l *WindowLimiter) Allow(ctx context.Context, key string) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	n, end, err := l.counter.Incr(ctx, l.prefix+key, l.window)
	if err != nil {
		return Decision{}, err
	}
	if n <= l.limit {
		return Decision{Allowed: true, Remaining: l.limit - n}, nil
	}
	wait := end.Sub(l.now())
	if wait <= 0 {
		// The window has just ended: the next call opens a new one.
		wait = time.Nanosecond
	} else if wait > l.window {
		wait = l.window // a Counter clock ahead of ours
	}
	return Decision{RetryAfter: wait}, nil
}

// RateLimit returns a middleware that asks l about key(r) before every
// request. A denied request gets 429 Too Many Requests with a Retry-After
// header in whole seconds, rounded up (RFC 6585 section 4; RFC 9110 section
// 10.2.3), and {"error":"rate_limited"}. If l fails, the request is refused
// with 503 {"error":"unavailable"} and Retry-After (fail closed). key is typically
// [ClientIPResolver.Key]; an empty key is a valid key shared by all such
// requests.
func RateLimit(l Limiter, key func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, err := l.Allow(r.Context(), key(r))
			if err != nil {
				WriteError(w, http.StatusServiceUnavailable, CodeUnavailable)
				return
			}
			if !d.Allowed {
				WriteRateLimited(w, d.RetryAfter)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// WriteRateLimited writes 429 {"error":"rate_limited"} with Retry-After set
// to [RetryAfterSeconds](retryAfter). The login flow uses it for lockouts so
// that every 429 looks the same.
func WriteRateLimited(w http.ResponseWriter, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.FormatInt(RetryAfterSeconds(retryAfter), 10))
	WriteError(w, http.StatusTooManyRequests, CodeRateLimited)
}

// RetryAfterSeconds converts d to the delay-seconds form of Retry-After
// (RFC 9110 section 10.2.3): whole seconds rounded up, at least 1, so a
// client that obeys it never retries too early.
func RetryAfterSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	if s < 1 {
		s = 1
	}
	return s
}
