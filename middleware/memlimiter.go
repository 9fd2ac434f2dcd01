package middleware

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is the default [MemoryLimiterConfig.MaxKeys].
const DefaultMaxKeys = 100_000

// MemoryLimiterConfig configures [NewMemoryLimiter]: Limit events per Per
// for each key, as a token bucket holding Burst events that refills at
// Limit/Per.
type MemoryLimiterConfig struct {
	// Limit is the number of events allowed per Per (> 0).
	Limit int
	// Per is the period of Limit (> 0): a key that stays idle for Per has its
	// full Burst again.
	Per time.Duration
	// Burst is the bucket size; default Limit.
	Burst int
	// MaxKeys bounds the number of keys kept (memory about 200 bytes plus the
	// key per entry). Default [DefaultMaxKeys]. Keys whose bucket is full again
	// (idle) are evicted, which changes nothing for them. A busy key is never
	// evicted, since it would come back with a full bucket: when every key
	// is busy, a new key is denied (with the RetryAfter until the oldest key
	// goes idle) while known keys are served as usual. Size MaxKeys well
	// above the number of clients active within Per: a flood of MaxKeys
	// distinct keys, each renewed within Per, keeps every new client out
	// for as long as it is sustained (known clients are unaffected), and
	// new clients get in again once the oldest key is idle (RetryAfter). With
	// [IPKey] keys an attacker needs that many addresses (IPv4) or /64s.
	MaxKeys int
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// MemoryLimiter is the in-process [Limiter], built on golang.org/x/time/rate
// token buckets, one per key. Memory is bounded: idle keys (whose bucket has
// refilled) are evicted as other calls come in, and at most MaxKeys keys are
// kept. It starts no goroutines. It is safe for concurrent use; state is per
// process, so use a shared (Redis) Limiter when several instances serve the
// same clients.
type MemoryLimiter struct {
	limit   rate.Limit
	burst   int
	idle    time.Duration // time after which an unused bucket is full again
	maxKeys int
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]*limiterEntry
	// LRU list: head is the most recently used entry, tail the least.
	head, tail *limiterEntry
}

type limiterEntry struct {
	key        string
	lim        *rate.Limiter
	last       time.Time
	prev, next *limiterEntry
}

// NewMemoryLimiter validates cfg and returns a MemoryLimiter. Its errors
// satisfy errors.Is(err, [ErrInvalidConfig]).
func NewMemoryLimiter(cfg MemoryLimiterConfig) (*MemoryLimiter, error) {
	v, err := newMemoryLimiter(cfg)
	if err != nil {
		return nil, invalidConfig(err)
	}
	return v, nil
}

func newMemoryLimiter(cfg MemoryLimiterConfig) (*MemoryLimiter, error) {
	if cfg.Limit <= 0 {
		return nil, errors.New("middleware: memory limiter Limit must be > 0")
	}
	if cfg.Per <= 0 {
		return nil, errors.New("middleware: memory limiter Per must be > 0")
	}
	if cfg.Burst < 0 || cfg.MaxKeys < 0 {
		return nil, fmt.Errorf("middleware: memory limiter Burst (%d) and MaxKeys (%d) must be >= 0", cfg.Burst, cfg.MaxKeys)
	}
	l := &MemoryLimiter{
		limit:   rate.Limit(float64(cfg.Limit) / cfg.Per.Seconds()),
		burst:   cfg.Burst,
		maxKeys: cfg.MaxKeys,
		now:     cfg.Now,
		keys:    make(map[string]*limiterEntry),
	}
	if l.burst == 0 {
		l.burst = cfg.Limit
	}
	if l.maxKeys == 0 {
		l.maxKeys = DefaultMaxKeys
	}
	if l.now == nil {
		l.now = time.Now
	}
	// A bucket refills completely in burst/limit seconds.
	idle := float64(l.burst) / float64(l.limit) * float64(time.Second)
	if idle >= math.MaxInt64 {
		l.idle = math.MaxInt64
	} else {
		l.idle = time.Duration(math.Ceil(idle))
	}
	return l, nil
}

// Allow implements [Limiter]. It returns ctx.Err() if ctx is already done.
// It does not allocate for a key it already holds.
func (l *MemoryLimiter) Allow(ctx context.Context, key string) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evictIdle(now)
	e := l.keys[key]
	if e == nil {
		if len(l.keys) >= l.maxKeys {
			// Every key is busy (evictIdle ran). Evicting one would hand
			// it a fresh budget on its next call: deny the newcomer.
			wait := l.idle - now.Sub(l.tail.last)
			if wait <= 0 {
				wait = time.Nanosecond
			}
			return Decision{RetryAfter: wait}, nil
		}
		e = &limiterEntry{key: key, lim: rate.NewLimiter(l.limit, l.burst)}
		l.keys[key] = e
	} else {
		l.unlink(e)
	}
	l.pushFront(e)
	if now.After(e.last) {
		e.last = now
	}

	tokens := e.lim.TokensAt(now)
	if tokens >= 1 && e.lim.AllowN(now, 1) {
		return Decision{Allowed: true, Remaining: int(tokens - 1)}, nil
	}
	// Denied calls consume nothing. Wait for the missing fraction of a token.
	missing := 1 - tokens
	wait := time.Duration(math.Ceil(missing / float64(l.limit) * float64(time.Second)))
	if wait <= 0 {
		wait = time.Nanosecond
	}
	return Decision{RetryAfter: wait}, nil
}

// Len returns the number of keys currently held.
func (l *MemoryLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// Purge evicts every idle key (one whose bucket is full again). Allow already
// does this incrementally; Purge lets a host reclaim memory on its own
// schedule.
func (l *MemoryLimiter) Purge() {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evictIdle(now)
}

// evictIdle removes idle entries from the LRU tail. Entries are ordered by
// last use, so it stops at the first busy one; each key is evicted at most
// once, so the cost is amortized O(1) per Allow.
func (l *MemoryLimiter) evictIdle(now time.Time) {
	for l.tail != nil && now.Sub(l.tail.last) >= l.idle {
		l.remove(l.tail)
	}
}

func (l *MemoryLimiter) remove(e *limiterEntry) {
	l.unlink(e)
	delete(l.keys, e.key)
}

func (l *MemoryLimiter) unlink(e *limiterEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (l *MemoryLimiter) pushFront(e *limiterEntry) {
	e.next = l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
}
