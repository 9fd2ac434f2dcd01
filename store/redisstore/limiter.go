package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/middleware"
)

// LimiterConfig configures [Store.Limiter]: Limit events per Per for each
// key, with bursts of up to Burst events, like
// [middleware.MemoryLimiterConfig].
type LimiterConfig struct {
	// Name distinguishes this policy's keys from those of other limiters on
	// the same Store (for example "signup-ip" or "reset-mail"). Required.
	Name string
	// Limit is the number of events allowed per Per (> 0).
	Limit int
	// Per is the period of Limit (> 0): a key that stays idle for Per has
	// its full Burst again. Per/Limit is rounded to whole microseconds.
	Per time.Duration
	// Burst is the number of events a fresh or idle key may make at once;
	// default Limit.
	Burst int
}

// Limiter is a Redis [middleware.Limiter] implementing GCRA, the generic
// cell rate algorithm (a token bucket that stores a single timestamp per
// key, the theoretical arrival time). Each Allow is one script that reads
// the Redis server's clock (TIME), so every process sharing the server
// decides on the same clock and the same state: concurrent calls from any
// number of processes allow exactly min(N, Burst) events on a fresh key,
// and denied calls consume nothing. The key <prefix>rl:<name>:<key> holds
// the arrival time in µs and expires when the bucket is full again.
type Limiter struct {
	s        *Store
	name     string
	interval int64 // µs between events at the sustained rate
	burst    int
}

var _ middleware.Limiter = (*Limiter)(nil)

// Limiter returns a Redis rate limiter enforcing cfg on this Store's client
// and prefix. It does no I/O.
func (s *Store) Limiter(cfg LimiterConfig) (*Limiter, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("%w: LimiterConfig.Name is empty", ErrInvalidConfig)
	}
	if cfg.Limit <= 0 || cfg.Per <= 0 {
		return nil, fmt.Errorf("%w: LimiterConfig.Limit and Per must be positive", ErrInvalidConfig)
	}
	if cfg.Burst < 0 {
		return nil, fmt.Errorf("%w: LimiterConfig.Burst is negative", ErrInvalidConfig)
	}
	if cfg.Burst == 0 {
		cfg.Burst = cfg.Limit
	}
	interval := (cfg.Per.Microseconds() + int64(cfg.Limit)/2) / int64(cfg.Limit)
	if interval < 1 {
		return nil, fmt.Errorf("%w: LimiterConfig: Per/Limit is below one microsecond", ErrInvalidConfig)
	}
	if interval*int64(cfg.Burst) > int64(365*24*time.Hour/time.Microsecond) {
		return nil, fmt.Errorf("%w: LimiterConfig: Burst*Per/Limit exceeds a year", ErrInvalidConfig)
	}
	return &Limiter{s: s, name: cfg.Name, interval: interval, burst: cfg.Burst}, nil
}

// gcra: KEYS[1], ARGV[1] interval (µs), ARGV[2] burst. Returns {allowed,
// remaining, retry after (µs)}. Times are µs on the server clock, below
// 2^53, exact in Lua's doubles.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local newtat = tat + interval
local allowAt = newtat - burst * interval
if now < allowAt then
  return {0, 0, allowAt - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', newtat), 'PX', math.ceil((newtat - now) / 1000))
return {1, math.floor((now - allowAt) / interval), 0}
`)

// Allow implements [middleware.Limiter] with one script (one round trip).
func (l *Limiter) Allow(ctx context.Context, key string) (middleware.Decision, error) {
	ctx, cancel := l.s.bound(ctx)
	defer cancel()
	v, err := l.s.run(ctx, gcra, []string{l.s.key("rl", l.name) + ":" + esc(key)}, l.interval, l.burst).Int64Slice()
	if err != nil {
		return middleware.Decision{}, wrap("limiter", err)
	}
	if len(v) != 3 {
		return middleware.Decision{}, wrap("limiter", errCorrupt)
	}
	if v[0] == 1 {
		return middleware.Decision{Allowed: true, Remaining: int(v[1])}, nil
	}
	retry := time.Duration(v[2]) * time.Microsecond
	if retry <= 0 {
		retry = time.Microsecond
	}
	return middleware.Decision{RetryAfter: retry}, nil
}
