package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/mfa"
)

// MFA is the Redis [mfa.Store]. The enrollment is the hash <prefix>me:{U}
// with the field v (the version, decimal) and d (the encoded
// [mfa.Enrollment]); the backup codes are the set <prefix>mb:{U} of code
// MACs. Both share the hash tag {U} of the user id, so one script or one
// DEL covers them, on a Cluster too.
//
// Enrollments and backup codes are long-lived user state, like a row of a
// users table: unlike every other key of this package they have no TTL and
// stay until Delete. Redis must not evict them (maxmemory-policy
// noeviction). An enrollment key in the older single-string format makes
// Get and Put fail (WRONGTYPE) rather than read as "no MFA"; re-enroll
// such users after deleting the key.
type MFA struct{ s *Store }

var _ mfa.Store = (*MFA)(nil)

// MFA returns the [mfa.Store] adapter.
func (s *Store) MFA() *MFA { return &MFA{s} }

func (x *MFA) enrollKey(user string) string { return x.s.tagged("me", user) }
func (x *MFA) codesKey(user string) string  { return x.s.tagged("mb", user) }

// Get implements [mfa.Store]: one HMGET.
func (x *MFA) Get(ctx context.Context, userID string) (mfa.Enrollment, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	v, err := x.s.rdb.HMGet(ctx, x.enrollKey(userID), "v", "d").Result()
	if err != nil {
		return mfa.Enrollment{}, false, wrap("mfa get", err)
	}
	if v[0] == nil && v[1] == nil {
		return mfa.Enrollment{}, false, nil
	}
	vs, ok1 := v[0].(string)
	ds, ok2 := v[1].(string)
	version, err := strconv.ParseUint(vs, 10, 64)
	if !ok1 || !ok2 || err != nil || version == 0 {
		return mfa.Enrollment{}, false, wrap("mfa get", errCorrupt)
	}
	d := newDec([]byte(ds))
	e := mfa.Enrollment{Version: version, Secret: d.bytes(), ConfirmedAt: d.time(), Pending: d.bytes(), PendingAt: d.time(),
		PendingReplaces: d.int() == 1}
	if err := d.done(); err != nil {
		return mfa.Enrollment{}, false, wrap("mfa get", err)
	}
	return e, true, nil
}

// putEnrollment: KEYS[1] the enrollment hash, KEYS[2] the code set;
// ARGV[1] the expected version ("0": none stored), ARGV[2] the new version,
// ARGV[3] the encoded enrollment, ARGV[4..] the new code MACs (none: keep
// the set). Returns 1 when written, 0 when the version did not match.
var putEnrollment = redis.NewScript(`
if ARGV[1] == '0' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  redis.call('DEL', KEYS[2])
elseif redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
if #ARGV > 3 then
  redis.call('DEL', KEYS[2])
  for i = 4, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
end
return 1
`)

// Put implements [mfa.Store]: one script compares the version and writes
// the enrollment (and the new code set) atomically, without expiry.
func (x *MFA) Put(ctx context.Context, userID string, prev uint64, e mfa.Enrollment, codeMACs [][]byte) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	if e.Version == 0 {
		return false, wrap("mfa put", errors.New("version 0"))
	}
	en := newEnc(len(e.Secret) + len(e.Pending) + 40)
	en.bytes(e.Secret)
	en.time(e.ConfirmedAt)
	en.bytes(e.Pending)
	en.time(e.PendingAt)
	replaces := int64(0)
	if e.PendingReplaces {
		replaces = 1
	}
	en.int(replaces)
	args := make([]any, 0, 3+len(codeMACs))
	args = append(args, strconv.FormatUint(prev, 10), strconv.FormatUint(e.Version, 10), en.b)
	for _, c := range codeMACs {
		args = append(args, c)
	}
	n, err := x.s.run(ctx, putEnrollment, []string{x.enrollKey(userID), x.codesKey(userID)}, args...).Int()
	if err != nil {
		return false, wrap("mfa put", err)
	}
	return n == 1, nil
}

// Delete implements [mfa.Store]: one DEL of both keys (same slot).
func (x *MFA) Delete(ctx context.Context, userID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	return wrap("mfa delete", x.s.rdb.Del(ctx, x.enrollKey(userID), x.codesKey(userID)).Err())
}

// UseBackupCode implements [mfa.Store]: one SREM, atomic by itself; of
// concurrent calls with one code exactly one removes it (ASVS 6.5.1).
func (x *MFA) UseBackupCode(ctx context.Context, userID string, codeMAC []byte) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	n, err := x.s.rdb.SRem(ctx, x.codesKey(userID), codeMAC).Result()
	if err != nil {
		return false, wrap("mfa use backup code", err)
	}
	return n == 1, nil
}

// TOTPReplay is the Redis [mfa.ReplayStore]: the string <prefix>tr:<user>
// holds the last accepted step and lives until the expiry given to Advance,
// counted by Redis as a relative TTL.
type TOTPReplay struct{ s *Store }

var _ mfa.ReplayStore = (*TOTPReplay)(nil)

// TOTPReplay returns the [mfa.ReplayStore] adapter.
func (s *Store) TOTPReplay() *TOTPReplay { return &TOTPReplay{s} }

// advanceStep: KEYS[1], ARGV[1] step, ARGV[2] time to live (ms, relative
// to Redis's own clock), ARGV[3] "1" when the expiry has already passed.
// Steps are below 2^53, so Lua's doubles compare them exactly (RFC 6238
// §5.2).
var advanceStep = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`)

// ttlMillis is how long from Config.Now until t, in whole milliseconds
// rounded up; zero or less means t has passed.
func (s *Store) ttlMillis(t time.Time) int64 {
	d := t.Sub(s.now())
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// Advance implements [mfa.ReplayStore] with one script: the compare and
// the write are atomic, so of concurrent claims of one step exactly one
// wins. The record's lifetime is expiry minus Config.Now, set with PX,
// so Redis counts it on its own clock: a Redis clock ahead of the
// application's cannot expire it early. An expiry not after Config.Now
// claims the step without keeping a record.
func (x *TOTPReplay) Advance(ctx context.Context, userID string, step uint64, expiry time.Time) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	if step > mfa.MaxStep {
		return false, wrap("totp advance", fmt.Errorf("step %d above mfa.MaxStep", step))
	}
	ttl := x.s.ttlMillis(expiry)
	past := "0"
	if ttl <= 0 {
		past = "1"
	}
	n, err := x.s.run(ctx, advanceStep, []string{x.s.key("tr", userID)},
		strconv.FormatUint(step, 10), ttl, past).Int()
	if err != nil {
		return false, wrap("totp advance", err)
	}
	return n == 1, nil
}
