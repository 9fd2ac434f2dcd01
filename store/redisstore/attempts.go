package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/mfa"
)

// Attempts is the Redis [authkit.AttemptStore], which also satisfies
// [mfa.AttemptCounter]: the hash <prefix>at:<key> holds the count n and the
// window end e (Unix ms, Config.Now) and expires when the window ends,
// counted by Redis's own clock (PEXPIRE with the window's length), so a
// server clock that differs from the application's cannot drop a counter
// early or keep it past its window. The counter never exists without a
// TTL: the script that creates it sets one, and restores one if it is
// missing.
type Attempts struct{ s *Store }

var (
	_ authkit.AttemptStore = (*Attempts)(nil)
	_ mfa.AttemptCounter   = (*Attempts)(nil)
)

// Attempts returns the [authkit.AttemptStore] / [mfa.AttemptCounter] adapter.
func (s *Store) Attempts() *Attempts { return &Attempts{s} }

// incrAttempt: KEYS[1], ARGV[1] now (ms), ARGV[2] window end for a new
// window (ms). Starts a new window if the key is absent or its window has
// ended, then counts one; returns {n, window end}. Expiries are relative
// (PEXPIRE end − now), never absolute times of the application's clock.
var incrAttempt = redis.NewScript(`
local now = tonumber(ARGV[1])
local e = redis.call('HGET', KEYS[1], 'e')
local fresh = false
if not e or tonumber(e) <= now then
  redis.call('DEL', KEYS[1])
  e = ARGV[2]
  redis.call('HSET', KEYS[1], 'e', e)
  fresh = true
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if fresh or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', tonumber(e) - now))
end
return {n, e}
`)

// Incr implements [authkit.AttemptStore] with one script, so N concurrent
// calls on one key return 1..N, each once.
func (x *Attempts) Incr(ctx context.Context, key string, window time.Duration) (int, time.Time, error) {
	if window <= 0 {
		return 0, time.Time{}, wrap("attempts incr", fmt.Errorf("window %v is not positive", window))
	}
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	now := x.s.now()
	v, err := x.s.run(ctx, incrAttempt, []string{x.s.key("at", key)}, ms(now), ms(now.Add(window))).Slice()
	if err != nil {
		return 0, time.Time{}, wrap("attempts incr", err)
	}
	n, end, err := parseAttempt(v)
	return n, end, wrap("attempts incr", err)
}

func parseAttempt(v []any) (int, time.Time, error) {
	if len(v) != 2 {
		return 0, time.Time{}, errCorrupt
	}
	n, ok := v[0].(int64)
	es, ok2 := v[1].(string)
	if !ok || !ok2 {
		return 0, time.Time{}, errCorrupt
	}
	e, err := strconv.ParseInt(es, 10, 64)
	if err != nil {
		return 0, time.Time{}, errCorrupt
	}
	return int(n), time.UnixMilli(e), nil
}

// Count implements [authkit.AttemptStore]: one HMGET.
func (x *Attempts) Count(ctx context.Context, key string) (int, time.Time, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	v, err := x.s.rdb.HMGet(ctx, x.s.key("at", key), "n", "e").Result()
	if err != nil {
		return 0, time.Time{}, wrap("attempts count", err)
	}
	ns, ok1 := v[0].(string)
	es, ok2 := v[1].(string)
	if !ok1 || !ok2 {
		return 0, time.Time{}, nil
	}
	n, err1 := strconv.Atoi(ns)
	e, err2 := strconv.ParseInt(es, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, time.Time{}, wrap("attempts count", errCorrupt)
	}
	end := time.UnixMilli(e)
	if !end.After(x.s.now()) {
		return 0, time.Time{}, nil
	}
	return n, end, nil
}

// Reset implements [authkit.AttemptStore]: one DEL.
func (x *Attempts) Reset(ctx context.Context, key string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	return wrap("attempts reset", x.s.rdb.Del(ctx, x.s.key("at", key)).Err())
}
