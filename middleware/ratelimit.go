package middleware

import (
	"context"
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
// concurrent calls on a fresh key with a burst of B allow exactly min(N, B).
// Denied calls must not consume capacity (a client that keeps knocking must
// still get in after RetryAfter). Keys are opaque byte strings: characters
// such as '*', ':', '%', '{' or quotes have no special meaning. err is for
// system failure only (and wraps ctx.Err() when ctx is done); callers fail
// closed on it. middleware/limitertest checks these rules.
//
// The in-memory implementation is [MemoryLimiter]; a Redis implementation
// (GCRA or sliding window) satisfies the same contract.
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
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
