package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/jwt"
)

// RefreshTokens is the Redis [jwt.RefreshStore]: refresh families and the
// per-user not-before.
//
// Keys, with S the shard of the user (jwt.RefreshShard, also the first
// characters of every token id), F a family id and U a user id:
//
//	rt:{S}:<id>  hash: the token (f u ia ex ua ni nk sd fk)   PX until its Expiry
//	rf:{S}:F     hash: the family (u fe at amr acr mfa ct r)  PX until FamilyExpiry
//	ru:{S}:U     zset: U's family keys, score FamilyExpiry    PX until the latest
//	nb:{S}:U     string: U's not-before (µs)                  no expiry
//	ep:{S}       hash: the shard's epoch (s: server µs, a: app µs) no expiry
//
// Every key of one user carries the hash tag {S}, so each operation is one
// Lua script in one Cluster slot: Create checks the not-before and writes
// the family, the token and the index; Rotate checks the family, the
// not-before and the epoch, marks the presented token used and writes the
// successor (or answers a retry, or revokes the family on reuse);
// UpdateSignIn replaces the family's sign-in facts after the same checks
// as Rotate; RevokeToken and RevokeUser mark families revoked. The scripts read the
// family and not-before keys named in the token record: undeclared keys of
// the script's own slot, which Redis allows (the keys in KEYS route the
// script to that slot).
//
// Fail closed: a token whose family record is gone (evicted, flushed) is
// invalid; the not-before and epoch records have no TTL, so a
// volatile-* eviction policy never removes them. If the epoch of a shard
// is missing (a flush, a restore, an allkeys-* eviction), the next script
// that needs it recreates it with the current time: families created
// before it can no longer rotate and NotBefore returns at least its time,
// so no token issued before the loss is accepted again. A restored
// snapshot (RDB, AOF) brings its epochs back with it, and with them the
// families revoked after the snapshot: after a restore, delete the
// store's ep:{*} keys so that every shard starts a new epoch.
//
// Clocks: expiries are relative (PEXPIRE with a duration computed from the
// caller's time), never absolute application-clock times, so Redis drops a
// record after its lifetime by its own clock even when that clock is off;
// the family creation time and the epoch's "s" come from the server's
// TIME, so they compare on one clock.
//
// Upgrading from the earlier layout (rt:{F}, rp:, ru:U, nb:U keys): tokens
// issued before cannot rotate (their users sign in again), and the first
// call for each shard creates its epoch, which refuses the access tokens
// issued before it (at most one access-token lifetime of them).
type RefreshTokens struct{ s *Store }

var _ jwt.RefreshStore = (*RefreshTokens)(nil)

// RefreshTokens returns the [jwt.RefreshStore] adapter.
func (s *Store) RefreshTokens() *RefreshTokens { return &RefreshTokens{s} }

// NotBefore returns the same adapter as RefreshTokens, for configuration
// that names the [jwt.NotBeforeStore] part (a Verifier).
func (s *Store) NotBefore() *RefreshTokens { return &RefreshTokens{s} }

func (x *RefreshTokens) shardKey(kind, shard, id string) string {
	return x.s.prefix + kind + ":{" + shard + "}:" + esc(id)
}
func (x *RefreshTokens) epochKey(shard string) string { return x.s.prefix + "ep:{" + shard + "}" }

// errShard is returned for a token id that does not name a shard.
var errShard = errors.New("token id without a shard (not made by jwt.RefreshTokenID)")

// luaHelpers are shared by the scripts. now and the stored times are Unix
// µs, exact in Lua's doubles; numbers are formatted with %.0f, never
// tostring (which would write 1.8e+15).
const luaHelpers = `
local function num(v) return string.format('%.0f', v) end
local function servernow()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- epoch returns the server time of the shard's epoch, creating the epoch
-- (server time, application time appnow) if it is missing.
local function epoch(key, appnow)
  local s = redis.call('HGET', key, 's')
  if s then return tonumber(s) end
  local n = servernow()
  redis.call('HSET', key, 's', num(n), 'a', appnow)
  return n
end
local function pxrel(key, untilus, nowus)
  local ms = math.ceil((untilus - nowus) / 1000)
  if ms < 1 then ms = 1 end
  redis.call('PEXPIRE', key, num(ms))
end
`

// createFamily: KEYS tok fam usr nb ep. ARGV: 1 family id, 2 user, 3 ia,
// 4 ex, 5 fe, 6 auth time, 7 amr (JSON), 8 acr, 9 mfa, 10 now (app µs),
// 11 token id. Returns 0 if the user's not-before is after the auth time
// (nothing stored), 1 otherwise.
var createFamily = redis.NewScript(luaHelpers + `
local nb = redis.call('GET', KEYS[4])
if nb and tonumber(nb) > tonumber(ARGV[6]) then return 0 end
local now = tonumber(ARGV[10])
epoch(KEYS[5], ARGV[10])
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('HGET', KEYS[2], 'r') == '1' then return 1 end
else
  redis.call('HSET', KEYS[2], 'u', ARGV[2], 'fe', ARGV[5], 'at', ARGV[6], 'amr', ARGV[7], 'acr', ARGV[8],
    'mfa', ARGV[9], 'ct', num(servernow()), 'nk', KEYS[4], 'r', '0')
  pxrel(KEYS[2], tonumber(ARGV[5]), now)
  redis.call('ZADD', KEYS[3], ARGV[5], KEYS[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[10])
  local top = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  if top[2] then pxrel(KEYS[3], tonumber(top[2]), now) end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'f', ARGV[1], 'u', ARGV[2], 'ia', ARGV[3], 'ex', ARGV[4], 'ua', '', 'ni', '', 'nk', '', 'sd', '', 'fk', KEYS[2])
pxrel(KEYS[1], tonumber(ARGV[4]), now)
return 1
`)

// rotate: KEYS tok ep next. ARGV: 1 now (app µs), 2 grace (µs), 3 next id,
// 4 next ia, 5 next ex, 6 sealed. Returns {code, f, u, fe, at, amr, acr,
// mfa, id, ia, ex, sealed}; code 0 invalid (nothing else), 1 rotated, 2
// retried, 3 reused (the family is now revoked; id ia ex are the presented
// token's).
var rotate = redis.NewScript(luaHelpers + `
local t = redis.call('HMGET', KEYS[1], 'f', 'u', 'ia', 'ex', 'ua', 'ni', 'nk', 'sd', 'fk')
if not t[1] or not t[9] then return {0} end
local fk = t[9]
local f = redis.call('HMGET', fk, 'u', 'fe', 'at', 'amr', 'acr', 'mfa', 'ct', 'nk', 'r')
if not f[1] or f[9] == '1' then return {0} end
local now = tonumber(ARGV[1])
local fe = tonumber(f[2])
if tonumber(t[4]) <= now or fe <= now then return {0} end
local nb = redis.call('GET', f[8])
if nb and tonumber(nb) > tonumber(f[3]) then return {0} end
if tonumber(f[7]) < epoch(KEYS[2], ARGV[1]) then return {0} end
if t[5] == '' then
  local ex = math.min(tonumber(ARGV[5]), fe)
  redis.call('HSET', KEYS[1], 'ua', ARGV[1], 'ni', ARGV[3], 'nk', KEYS[3], 'sd', ARGV[6])
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[3], 'f', t[1], 'u', t[2], 'ia', ARGV[4], 'ex', num(ex), 'ua', '', 'ni', '', 'nk', '', 'sd', '', 'fk', fk)
  pxrel(KEYS[3], ex, now)
  return {1, t[1], t[2], f[2], f[3], f[4], f[5], f[6], ARGV[3], ARGV[4], num(ex), ''}
end
local grace = tonumber(ARGV[2])
local since = now - tonumber(t[5])
if grace > 0 and since < grace and since > -grace and t[7] ~= '' then
  local n = redis.call('HMGET', t[7], 'ia', 'ex', 'ua', 'fk')
  if n[2] and n[3] == '' and n[4] == fk and tonumber(n[2]) > now then
    return {2, t[1], t[2], f[2], f[3], f[4], f[5], f[6], t[6], n[1], n[2], t[8]}
  end
end
redis.call('HSET', fk, 'r', '1')
return {3, t[1], t[2], f[2], f[3], f[4], f[5], f[6], ARGV[7], t[3], t[4], ''}
`)

// updateSignIn: KEYS tok ep. ARGV: 1 now (app µs), 2 user, 3 auth time,
// 4 amr (JSON), 5 acr, 6 mfa. Replaces the sign-in facts of the family of
// an unused, live token of the user and returns {1, f, ia, ex, fe}, or {0}
// when nothing changed. HSET keeps the family's expiry.
var updateSignIn = redis.NewScript(luaHelpers + `
local t = redis.call('HMGET', KEYS[1], 'u', 'ex', 'ua', 'fk', 'f', 'ia')
if not t[1] or not t[4] or t[1] ~= ARGV[2] or t[3] ~= '' then return {0} end
local f = redis.call('HMGET', t[4], 'u', 'fe', 'at', 'ct', 'nk', 'r')
if not f[1] or f[6] == '1' or f[1] ~= ARGV[2] then return {0} end
local now = tonumber(ARGV[1])
if tonumber(t[2]) <= now or tonumber(f[2]) <= now then return {0} end
local nb = redis.call('GET', f[5])
if nb and (tonumber(nb) > tonumber(f[3]) or tonumber(nb) > tonumber(ARGV[3])) then return {0} end
if tonumber(f[4]) < epoch(KEYS[2], ARGV[1]) then return {0} end
redis.call('HSET', t[4], 'at', ARGV[3], 'amr', ARGV[4], 'acr', ARGV[5], 'mfa', ARGV[6])
return {1, t[5], t[6], t[2], f[2]}
`)

// revokeToken: KEYS tok. Marks the token's family revoked and returns the
// token's user; false if the token is unknown.
var revokeToken = redis.NewScript(`
local t = redis.call('HMGET', KEYS[1], 'fk', 'u')
if not t[1] then return false end
if redis.call('EXISTS', t[1]) == 1 then redis.call('HSET', t[1], 'r', '1') end
return t[2]
`)

// revokeUser: KEYS usr. Marks every family in the user's index revoked.
var revokeUser = redis.NewScript(`
for _, fk in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', fk) == 1 then redis.call('HSET', fk, 'r', '1') end
end
return 1
`)

// setNotBefore: KEYS nb ep, ARGV 1 time (µs), 2 now (app µs). The later
// time wins; no expiry.
var setNotBefore = redis.NewScript(luaHelpers + `
epoch(KEYS[2], ARGV[2])
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`)

// getNotBefore: KEYS nb ep, ARGV 1 now (app µs). Returns {not-before or
// ”, the epoch's application time}.
var getNotBefore = redis.NewScript(luaHelpers + `
epoch(KEYS[2], ARGV[1])
return {redis.call('GET', KEYS[1]) or '', redis.call('HGET', KEYS[2], 'a')}
`)

func usOf(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// Create implements [jwt.RefreshStore] with one script.
func (x *RefreshTokens) Create(ctx context.Context, t jwt.RefreshToken) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	shard, ok := jwt.RefreshIDShard(t.ID)
	if !ok || shard != jwt.RefreshShard(t.UserID) {
		return false, wrap("refresh create", errShard)
	}
	now := x.s.now()
	if !t.Expiry.After(now) {
		// Rotate would report it invalid anyway.
		return true, ctxErr("refresh create", ctx)
	}
	amr, err := json.Marshal(t.SignIn.AMR)
	if err != nil {
		return false, wrap("refresh create", err)
	}
	mfa := "0"
	if t.SignIn.MFA {
		mfa = "1"
	}
	n, err := x.s.run(ctx, createFamily, []string{x.shardKey("rt", shard, t.ID), x.shardKey("rf", shard, t.FamilyID),
		x.shardKey("ru", shard, t.UserID), x.shardKey("nb", shard, t.UserID), x.epochKey(shard)},
		t.FamilyID, t.UserID, us(t.IssuedAt), usOf(t.Expiry), usOf(t.FamilyExpiry), usOf(t.SignIn.AuthTime),
		amr, t.SignIn.ACR, mfa, usOf(now), t.ID).Int()
	if err != nil {
		return false, wrap("refresh create", err)
	}
	return n == 1, nil
}

// Rotate implements [jwt.RefreshStore] with one script in the user's slot.
func (x *RefreshTokens) Rotate(ctx context.Context, r jwt.Rotation) (jwt.RotateResult, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	shard, ok := jwt.RefreshIDShard(r.ID)
	if !ok {
		return jwt.RotateResult{}, ctxErr("refresh rotate", ctx)
	}
	if ns, ok := jwt.RefreshIDShard(r.Next.ID); !ok || ns != shard {
		return jwt.RotateResult{}, wrap("refresh rotate", fmt.Errorf("successor in another shard: %w", errShard))
	}
	v, err := x.s.run(ctx, rotate, []string{x.shardKey("rt", shard, r.ID), x.epochKey(shard), x.shardKey("rt", shard, r.Next.ID)},
		usOf(r.Now), strconv.FormatInt(r.Grace.Microseconds(), 10), r.Next.ID, us(r.Next.IssuedAt), usOf(r.Next.Expiry),
		r.Sealed, r.ID).Slice()
	if err != nil {
		return jwt.RotateResult{}, wrap("refresh rotate", err)
	}
	code, _ := v[0].(int64)
	if code == 0 {
		return jwt.RotateResult{}, nil
	}
	if len(v) != 12 || code > 3 {
		return jwt.RotateResult{}, wrap("refresh rotate", errCorrupt)
	}
	s := make([]string, len(v))
	for i, e := range v[1:] {
		var ok bool
		if s[i+1], ok = e.(string); !ok {
			return jwt.RotateResult{}, wrap("refresh rotate", errCorrupt)
		}
	}
	t := jwt.RefreshToken{FamilyID: s[1], UserID: s[2], ID: s[8]}
	var errs [5]error
	t.FamilyExpiry, errs[0] = fromUS(s[3])
	t.SignIn.AuthTime, errs[1] = fromUS(s[4])
	errs[2] = json.Unmarshal([]byte(s[5]), &t.SignIn.AMR)
	t.SignIn.ACR, t.SignIn.MFA = s[6], s[7] == "1"
	t.IssuedAt, errs[3] = fromUS(s[9])
	t.Expiry, errs[4] = fromUS(s[10])
	if err := errors.Join(errs[:]...); err != nil {
		return jwt.RotateResult{}, wrap("refresh rotate", fmt.Errorf("%w: %v", errCorrupt, err))
	}
	res := jwt.RotateResult{Token: t}
	switch code {
	case 1:
		res.Outcome = jwt.Rotated
	case 2:
		res.Outcome, res.Sealed = jwt.RotateRetried, []byte(s[11])
	case 3:
		res.Outcome = jwt.RotateReused
	}
	return res, nil
}

// UpdateSignIn implements [jwt.RefreshStore] with one script in the
// user's slot.
func (x *RefreshTokens) UpdateSignIn(ctx context.Context, u jwt.SignInUpdate) (jwt.RefreshToken, bool, error) {
	const op = "refresh update sign-in"
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	shard, ok := jwt.RefreshIDShard(u.ID)
	if !ok || shard != jwt.RefreshShard(u.UserID) {
		return jwt.RefreshToken{}, false, ctxErr(op, ctx)
	}
	amr, err := json.Marshal(u.SignIn.AMR)
	if err != nil {
		return jwt.RefreshToken{}, false, wrap(op, err)
	}
	mfa := "0"
	if u.SignIn.MFA {
		mfa = "1"
	}
	v, err := x.s.run(ctx, updateSignIn, []string{x.shardKey("rt", shard, u.ID), x.epochKey(shard)},
		usOf(u.Now), u.UserID, usOf(u.SignIn.AuthTime), amr, u.SignIn.ACR, mfa).Slice()
	if err != nil {
		return jwt.RefreshToken{}, false, wrap(op, err)
	}
	if code, _ := v[0].(int64); code == 0 {
		return jwt.RefreshToken{}, false, nil
	}
	if len(v) != 5 {
		return jwt.RefreshToken{}, false, wrap(op, errCorrupt)
	}
	var s [4]string
	for i, e := range v[1:] {
		var ok bool
		if s[i], ok = e.(string); !ok {
			return jwt.RefreshToken{}, false, wrap(op, errCorrupt)
		}
	}
	t := jwt.RefreshToken{ID: u.ID, FamilyID: s[0], UserID: u.UserID, SignIn: u.SignIn}
	var errs [3]error
	t.IssuedAt, errs[0] = fromUS(s[1])
	t.Expiry, errs[1] = fromUS(s[2])
	t.FamilyExpiry, errs[2] = fromUS(s[3])
	if err := errors.Join(errs[:]...); err != nil {
		return jwt.RefreshToken{}, false, wrap(op, fmt.Errorf("%w: %v", errCorrupt, err))
	}
	return t, true, nil
}

// RevokeToken implements [jwt.RefreshStore] with one script.
func (x *RefreshTokens) RevokeToken(ctx context.Context, id string) (string, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	shard, ok := jwt.RefreshIDShard(id)
	if !ok {
		return "", false, ctxErr("refresh revoke", ctx)
	}
	user, err := x.s.run(ctx, revokeToken, []string{x.shardKey("rt", shard, id)}).Text()
	if err == redis.Nil {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrap("refresh revoke", err)
	}
	return user, true, nil
}

// RevokeUser implements [jwt.RefreshStore] with one script over the
// user's family index.
func (x *RefreshTokens) RevokeUser(ctx context.Context, userID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	return wrap("refresh revoke user", x.s.run(ctx, revokeUser,
		[]string{x.shardKey("ru", jwt.RefreshShard(userID), userID)}).Err())
}

// SetNotBefore implements [jwt.NotBeforeStore] with one script: the later
// time wins, atomically; the record never expires (an evicted not-before
// would revive revoked tokens).
func (x *RefreshTokens) SetNotBefore(ctx context.Context, userID string, t time.Time) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	shard := jwt.RefreshShard(userID)
	return wrap("set not-before", x.s.run(ctx, setNotBefore,
		[]string{x.shardKey("nb", shard, userID), x.epochKey(shard)}, usOf(t), usOf(x.s.now())).Err())
}

// NotBefore implements [jwt.NotBeforeStore] with one script: the later of
// the user's not-before and the shard's epoch (always found).
func (x *RefreshTokens) NotBefore(ctx context.Context, userID string) (time.Time, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	shard := jwt.RefreshShard(userID)
	v, err := x.s.run(ctx, getNotBefore, []string{x.shardKey("nb", shard, userID), x.epochKey(shard)},
		usOf(x.s.now())).StringSlice()
	if err != nil {
		return time.Time{}, false, wrap("not-before", err)
	}
	if len(v) != 2 {
		return time.Time{}, false, wrap("not-before", errCorrupt)
	}
	nb, err1 := fromUS(v[0])
	ep, err2 := fromUS(v[1])
	if err1 != nil || err2 != nil || ep.IsZero() {
		return time.Time{}, false, wrap("not-before", errCorrupt)
	}
	if nb.After(ep) {
		return nb, true, nil
	}
	return ep, true, nil
}

// Prefix returns the key prefix of the store the adapter belongs to.
func (x *RefreshTokens) Prefix() string { return x.s.prefix }
