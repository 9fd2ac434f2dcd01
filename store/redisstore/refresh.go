package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/jwt"
)

// RefreshTokens is the Redis [jwt.RefreshStore].
//
// Keys, with F the family id and U the user id:
//
//	<prefix>rt:{F}:<id>   hash: the token (f u ia ex fe ua), expires at Expiry
//	<prefix>rf:{F}        hash: x = latest FamilyExpiry (Unix ms), r = "1" once
//	                      revoked; expires at x, or when revoked at the later
//	                      of x and now + RevokedFamilyRetention
//	<prefix>rp:<id>       string: F, the family of token id; expires at Expiry
//	<prefix>ru:U          sorted set of U's families, score FamilyExpiry (ms)
//
// A token and its family share the hash tag {F}, so the scripts that create
// and use a token see the revocation tombstone atomically, on a Cluster too.
// Use gets only the token id (the jwt package derives it from the token),
// so it first reads the pointer rp:<id> and then runs the use script in the
// family's slot: two round trips. The alternative, keeping the family id
// only in a token record outside the family's slot, would need the same
// second round trip for the tombstone check and would lose its atomicity.
//
// Create adds the family to the user's set before it writes the token, so a
// RevokeUser that starts after Create returned sees every family.
type RefreshTokens struct{ s *Store }

var _ jwt.RefreshStore = (*RefreshTokens)(nil)

// RefreshTokens returns the [jwt.RefreshStore] adapter.
func (s *Store) RefreshTokens() *RefreshTokens { return &RefreshTokens{s} }

func (x *RefreshTokens) tokenKey(fam, id string) string {
	return x.s.tagged("rt", fam) + ":" + esc(id)
}
func (x *RefreshTokens) familyKey(fam string) string { return x.s.tagged("rf", fam) }
func (x *RefreshTokens) ptrKey(id string) string     { return x.s.key("rp", id) }
func (x *RefreshTokens) userKey(user string) string  { return x.s.key("ru", user) }

// createToken: KEYS[1] token, KEYS[2] family. ARGV: f u ia ex fe (µs),
// token expiry (ms), family expiry (ms), now (Config.Now, Unix ms rounded
// down). Expiries are set relative to now (PEXPIRE), so Redis counts them
// on its own clock. Returns 0 if the family is revoked (nothing is
// stored), 1 otherwise.
var createToken = redis.NewScript(`
if redis.call('HGET', KEYS[2], 'r') == '1' then return 0 end
local now = tonumber(ARGV[8])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'f', ARGV[1], 'u', ARGV[2], 'ia', ARGV[3], 'ex', ARGV[4], 'fe', ARGV[5], 'ua', '')
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.max(1, tonumber(ARGV[6]) - now)))
local keep = math.max(tonumber(ARGV[6]), tonumber(ARGV[7]))
local x = tonumber(redis.call('HGET', KEYS[2], 'x') or '0')
if keep > x then
  redis.call('HSET', KEYS[2], 'x', string.format('%.0f', keep))
  redis.call('PEXPIRE', KEYS[2], string.format('%.0f', math.max(1, keep - now)))
end
return 1
`)

// useToken: KEYS[1] token, KEYS[2] family, ARGV[1] now (µs). Returns the
// record before the call (f u ia ex fe ua) and sets ua = now if it was
// empty; nil if the token is missing, expired or its family revoked.
var useToken = redis.NewScript(`
if redis.call('HGET', KEYS[2], 'r') == '1' then return false end
local v = redis.call('HMGET', KEYS[1], 'f', 'u', 'ia', 'ex', 'fe', 'ua')
if not v[1] then return false end
if v[4] ~= '' and tonumber(v[4]) <= tonumber(ARGV[1]) then return false end
if v[6] == '' then redis.call('HSET', KEYS[1], 'ua', ARGV[1]) end
return v
`)

// revokeFamily: KEYS[1] family, ARGV[1] keep-at-least (Unix ms), ARGV[2]
// now (Config.Now, Unix ms rounded down). Marks the family revoked and
// keeps the tombstone until the later of its latest family expiry and
// ARGV[1], counted from now on Redis's clock (PEXPIRE).
var revokeFamily = redis.NewScript(`
redis.call('HSET', KEYS[1], 'r', '1')
local keep = math.max(tonumber(redis.call('HGET', KEYS[1], 'x') or '0'), tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.max(1, keep - tonumber(ARGV[2]))))
return 1
`)

// Create implements [jwt.RefreshStore]: the family goes into the user's
// set first (one round trip), then the pointer and the token are written
// in one pipeline (a second). A token whose Expiry is not after Config.Now
// is not stored (Use would report it missing anyway).
func (x *RefreshTokens) Create(ctx context.Context, t jwt.RefreshToken) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	now := x.s.now()
	if !t.Expiry.After(now) {
		return ctxErr("refresh create", ctx)
	}
	expMS := ms(t.Expiry)
	famMS := ms(t.FamilyExpiry)
	if famMS < expMS {
		famMS = expMS
	}
	if err := x.s.run(ctx, indexAdd, []string{x.userKey(t.UserID)}, t.FamilyID, famMS, ms(now), "GT").Err(); err != nil {
		return wrap("refresh create", err)
	}
	var set *redis.StatusCmd
	var create *redis.Cmd
	_, _ = x.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		set = p.Set(ctx, x.ptrKey(t.ID), t.FamilyID, time.Duration(ttl(now, t.Expiry))*time.Millisecond)
		create = createToken.EvalSha(ctx, p, []string{x.tokenKey(t.FamilyID, t.ID), x.familyKey(t.FamilyID)},
			t.FamilyID, t.UserID, us(t.IssuedAt), us(t.Expiry), us(t.FamilyExpiry), expMS, famMS, now.UnixMilli())
		return nil
	})
	if err := set.Err(); err != nil {
		return wrap("refresh create", err)
	}
	err := create.Err()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		err = x.s.run(ctx, createToken, []string{x.tokenKey(t.FamilyID, t.ID), x.familyKey(t.FamilyID)},
			t.FamilyID, t.UserID, us(t.IssuedAt), us(t.Expiry), us(t.FamilyExpiry), expMS, famMS, now.UnixMilli()).Err()
	}
	return wrap("refresh create", err)
}

// Use implements [jwt.RefreshStore]: a GET of the pointer, then one script
// in the family's slot that checks the tombstone and the expiry and sets
// UsedAt, atomically.
func (x *RefreshTokens) Use(ctx context.Context, id string, now time.Time) (jwt.RefreshToken, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	fam, err := x.s.rdb.Get(ctx, x.ptrKey(id)).Result()
	if err == redis.Nil {
		return jwt.RefreshToken{}, false, nil
	}
	if err != nil {
		return jwt.RefreshToken{}, false, wrap("refresh use", err)
	}
	v, err := x.s.run(ctx, useToken, []string{x.tokenKey(fam, id), x.familyKey(fam)},
		strconv.FormatInt(now.UnixMicro(), 10)).StringSlice()
	if err == redis.Nil {
		return jwt.RefreshToken{}, false, nil
	}
	if err != nil {
		return jwt.RefreshToken{}, false, wrap("refresh use", err)
	}
	if len(v) != 6 {
		return jwt.RefreshToken{}, false, wrap("refresh use", errCorrupt)
	}
	t := jwt.RefreshToken{ID: id, FamilyID: v[0], UserID: v[1]}
	var errs [4]error
	t.IssuedAt, errs[0] = fromUS(v[2])
	t.Expiry, errs[1] = fromUS(v[3])
	t.FamilyExpiry, errs[2] = fromUS(v[4])
	t.UsedAt, errs[3] = fromUS(v[5])
	for _, e := range errs {
		if e != nil {
			return jwt.RefreshToken{}, false, wrap("refresh use", e)
		}
	}
	return t, true, nil
}

// RevokeFamily implements [jwt.RefreshStore]: one script that sets the
// family's tombstone. The tokens stay until their own expiry but are dead
// to Use, and Create refuses new ones.
func (x *RefreshTokens) RevokeFamily(ctx context.Context, familyID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	now := x.s.now()
	keep := ms(now.Add(x.s.retention))
	return wrap("refresh revoke family", x.s.run(ctx, revokeFamily, []string{x.familyKey(familyID)}, keep, now.UnixMilli()).Err())
}

// RevokeUser implements [jwt.RefreshStore]: it reads the user's family set
// and revokes every family in it that has not reached its FamilyExpiry (one pipeline of scripts, one per family;
// on a Cluster they run in parallel per node).
func (x *RefreshTokens) RevokeUser(ctx context.Context, userID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	now := x.s.now()
	// Families whose FamilyExpiry has passed hold no usable token.
	fams, err := x.s.rdb.ZRangeByScore(ctx, x.userKey(userID), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now.UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return wrap("refresh revoke user", err)
	}
	if len(fams) == 0 {
		return nil
	}
	keep := ms(now.Add(x.s.retention))
	calls := make([]call, len(fams))
	for i, f := range fams {
		calls[i] = call{keys: []string{x.familyKey(f)}, args: []any{keep, now.UnixMilli()}}
	}
	_, err = x.s.runMany(ctx, revokeFamily, calls)
	return wrap("refresh revoke user", err)
}

// NotBefore is the Redis [jwt.NotBeforeStore]: the string
// <prefix>nb:<user> holds the time in Unix µs and expires
// Config.NotBeforeRetention after it.
type NotBefore struct{ s *Store }

var _ jwt.NotBeforeStore = (*NotBefore)(nil)

// NotBefore returns the [jwt.NotBeforeStore] adapter.
func (s *Store) NotBefore() *NotBefore { return &NotBefore{s} }

// setNotBefore: KEYS[1], ARGV[1] time (µs), ARGV[2] remaining lifetime
// (ms, counted by Redis's clock). The later time wins.
var setNotBefore = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// SetNotBefore implements [jwt.NotBeforeStore] with one script: the later
// time wins, atomically.
func (x *NotBefore) SetNotBefore(ctx context.Context, userID string, t time.Time) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	px := ttl(x.s.now(), t.Add(x.s.nbRetention))
	if px < 1 {
		// Every token such a time could refuse has expired already.
		return ctxErr("set not-before", ctx)
	}
	return wrap("set not-before", x.s.run(ctx, setNotBefore, []string{x.s.key("nb", userID)},
		strconv.FormatInt(t.UnixMicro(), 10), px).Err())
}

// NotBefore implements [jwt.NotBeforeStore]: one GET.
func (x *NotBefore) NotBefore(ctx context.Context, userID string) (time.Time, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	v, err := x.s.rdb.Get(ctx, x.s.key("nb", userID)).Result()
	if err == redis.Nil {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrap("not-before", err)
	}
	t, err := fromUS(v)
	if err != nil || t.IsZero() {
		return time.Time{}, false, wrap("not-before", errCorrupt)
	}
	return t, true, nil
}
