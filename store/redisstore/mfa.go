package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/mfa"
)

// MFA is the Redis [mfa.Store]. The enrollment is the string
// <prefix>me:{U} (an encoded [mfa.Enrollment]) and the backup codes are the
// set <prefix>mb:{U} of code MACs; both share the hash tag {U} of the user
// id, so Delete removes them with one command, on a Cluster too.
//
// Enrollments and backup codes are long-lived user state, like a row of a
// users table: unlike every other key of this package they have no TTL and
// stay until Delete.
type MFA struct{ s *Store }

var _ mfa.Store = (*MFA)(nil)

// MFA returns the [mfa.Store] adapter.
func (s *Store) MFA() *MFA { return &MFA{s} }

func (x *MFA) enrollKey(user string) string { return x.s.tagged("me", user) }
func (x *MFA) codesKey(user string) string  { return x.s.tagged("mb", user) }

// Get implements [mfa.Store]: one GET.
func (x *MFA) Get(ctx context.Context, userID string) (mfa.Enrollment, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	b, err := x.s.rdb.Get(ctx, x.enrollKey(userID)).Bytes()
	if err == redis.Nil {
		return mfa.Enrollment{}, false, nil
	}
	if err != nil {
		return mfa.Enrollment{}, false, wrap("mfa get", err)
	}
	d := newDec(b)
	e := mfa.Enrollment{Secret: d.bytes(), ConfirmedAt: d.time(), Pending: d.bytes(), PendingAt: d.time()}
	if err := d.done(); err != nil {
		return mfa.Enrollment{}, false, wrap("mfa get", err)
	}
	return e, true, nil
}

// Put implements [mfa.Store]: one SET, without expiry.
func (x *MFA) Put(ctx context.Context, userID string, e mfa.Enrollment) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	en := newEnc(len(e.Secret) + len(e.Pending) + 32)
	en.bytes(e.Secret)
	en.time(e.ConfirmedAt)
	en.bytes(e.Pending)
	en.time(e.PendingAt)
	return wrap("mfa put", x.s.rdb.Set(ctx, x.enrollKey(userID), en.b, 0).Err())
}

// Delete implements [mfa.Store]: one DEL of both keys (same slot).
func (x *MFA) Delete(ctx context.Context, userID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	return wrap("mfa delete", x.s.rdb.Del(ctx, x.enrollKey(userID), x.codesKey(userID)).Err())
}

// replaceCodes: KEYS[1] the set; ARGV the new members.
var replaceCodes = redis.NewScript(`
redis.call('DEL', KEYS[1])
for i = 1, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
return 1
`)

// ReplaceBackupCodes implements [mfa.Store]: one script replaces the whole
// set atomically.
func (x *MFA) ReplaceBackupCodes(ctx context.Context, userID string, codeMACs [][]byte) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	args := make([]any, len(codeMACs))
	for i, c := range codeMACs {
		args[i] = c
	}
	return wrap("mfa replace backup codes", x.s.run(ctx, replaceCodes, []string{x.codesKey(userID)}, args...).Err())
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
// holds the last accepted step and expires at the expiry given to Advance.
type TOTPReplay struct{ s *Store }

var _ mfa.ReplayStore = (*TOTPReplay)(nil)

// TOTPReplay returns the [mfa.ReplayStore] adapter.
func (s *Store) TOTPReplay() *TOTPReplay { return &TOTPReplay{s} }

// advanceStep: KEYS[1], ARGV[1] step, ARGV[2] the record's remaining
// lifetime (ms, counted by Redis's clock), ARGV[3] "1" when the expiry has
// already passed. Steps are below 2^53, so Lua's
// doubles compare them exactly (RFC 6238 §5.2).
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

// Advance implements [mfa.ReplayStore] with one script: the compare and
// the write are atomic, so of concurrent claims of one step exactly one
// wins (SECURITY.md S22). An expiry not after Config.Now claims the step
// without keeping a record.
func (x *TOTPReplay) Advance(ctx context.Context, userID string, step uint64, expiry time.Time) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	if step > mfa.MaxStep {
		return false, wrap("totp advance", fmt.Errorf("step %d above mfa.MaxStep", step))
	}
	px, past := ttl(x.s.now(), expiry), "0"
	if px < 1 {
		px, past = 1, "1"
	}
	n, err := x.s.run(ctx, advanceStep, []string{x.s.key("tr", userID)},
		strconv.FormatUint(step, 10), px, past).Int()
	if err != nil {
		return false, wrap("totp advance", err)
	}
	return n == 1, nil
}

// Challenges is the Redis [mfa.ChallengeStore]: the string
// <prefix>ch:<key> holds an encoded [mfa.Challenge] and expires at its
// Expiry. Take is one GETDEL (Redis 6.2 or newer), atomic by itself.
type Challenges struct{ s *Store }

var _ mfa.ChallengeStore = (*Challenges)(nil)

// Challenges returns the [mfa.ChallengeStore] adapter.
func (s *Store) Challenges() *Challenges { return &Challenges{s} }

// Save implements [mfa.ChallengeStore]: one SET with PX (the lifetime
// left by Config.Now, counted on Redis's clock), or a DEL when c.Expiry is
// not after Config.Now.
func (x *Challenges) Save(ctx context.Context, key string, c mfa.Challenge) error {
	e := newEnc(len(c.UserID) + len(c.Data) + 32)
	e.str(c.UserID)
	e.time(c.PasswordAt)
	e.time(c.Expiry)
	e.int(int64(c.Attempts))
	e.bytes(c.Data)
	return x.s.setOrDelete(ctx, "mfa challenge save", x.s.key("ch", key), e.b, c.Expiry)
}

// Take implements [mfa.ChallengeStore]: one GETDEL.
func (x *Challenges) Take(ctx context.Context, key string) (mfa.Challenge, bool, error) {
	b, found, err := x.s.take(ctx, "mfa challenge take", x.s.key("ch", key))
	if err != nil || !found {
		return mfa.Challenge{}, false, err
	}
	d := newDec(b)
	c := mfa.Challenge{UserID: d.str(), PasswordAt: d.time(), Expiry: d.time(), Attempts: int(d.int()), Data: d.bytes()}
	if err := d.done(); err != nil {
		return mfa.Challenge{}, false, wrap("mfa challenge take", err)
	}
	if !c.Expiry.After(x.s.now()) {
		return mfa.Challenge{}, false, nil
	}
	return c, true, nil
}
