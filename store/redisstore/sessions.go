package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/session"
)

// Sessions is the Redis [session.Store].
//
// A record is the hash <prefix>s:<id> with the fields u (the user id), d
// (the encoded record) and e (its expiry in Unix ms, for the scripts). The
// per-user index is the sorted set <prefix>su:<user>: member the session
// id, score the record's expiry in Unix ms. Find is one HGET (one round
// trip). Every key expiry is set relative to Redis's own clock (PEXPIRE
// with a duration), never as an absolute app-clock time, so a skewed clock
// cannot keep a record alive longer or drop it early; the app clock
// ([Config.Now]) additionally hides a record as soon as it says the record
// expired.
//
// The record and the index live in different Cluster slots (a session id is
// looked up alone), so writes are made final against "log out everywhere"
// this way:
//   - Update and the first step of Rotate are scripts on the record key that
//     write only over a live record: once Delete or DeleteUser removed a
//     record, no earlier request can write it again.
//   - Rotate adds the new id to the user's index first, then atomically
//     replaces the old record by a short-lived marker naming the new id
//     (fields m, n), then creates the new record only if its key is absent.
//   - DeleteUser reads the index and, per listed id, deletes a record,
//     follows a marker to the id it names, and leaves a tombstone (field
//     t) on a listed or followed id that does not exist yet, which makes
//     the pending create of a Rotate fail. So a Rotate in flight while
//     DeleteUser runs either sees its old id gone, or its new id is reached
//     through the index or the marker.
//
// Index entries may outlive their records (rotated or expired ids); they
// are skipped by ListUser, removed by DeleteUser, and dropped once their
// score (the record's expiry) has passed.
type Sessions struct{ s *Store }

var _ session.Store = (*Sessions)(nil)

// Sessions returns the [session.Store] adapter.
func (s *Store) Sessions() *Sessions { return &Sessions{s} }

func (x *Sessions) recKey(id string) string     { return x.s.key("s", id) }
func (x *Sessions) indexKey(user string) string { return x.s.key("su", user) }

func encodeSession(r session.Record) []byte {
	e := newEnc(len(r.UserID) + len(r.SecretHash) + len(r.Data) + len(r.IP) + len(r.UserAgent) + 64)
	e.str(r.UserID)
	e.bytes(r.SecretHash)
	e.bytes(r.Data)
	e.time(r.CreatedAt)
	e.time(r.LastSeen)
	e.time(r.IdleExpiry)
	e.time(r.AbsoluteExpiry)
	e.str(r.IP)
	e.str(r.UserAgent)
	return e.b
}

func decodeSession(b []byte) (session.Record, error) {
	d := newDec(b)
	r := session.Record{
		UserID:         d.str(),
		SecretHash:     d.bytes(),
		Data:           d.bytes(),
		CreatedAt:      d.time(),
		LastSeen:       d.time(),
		IdleExpiry:     d.time(),
		AbsoluteExpiry: d.time(),
		IP:             d.str(),
		UserAgent:      d.str(),
	}
	return r, d.done()
}

// sessionIndexAdd adds member ARGV[1] with score ARGV[2] (a Unix-ms
// expiry; a higher existing score is kept) to the index KEYS[1], drops
// members whose score is not after ARGV[3] (now, ms), and makes the index
// live at least as long as its highest score, relative to Redis's clock.
var sessionIndexAdd = redis.NewScript(`
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then
  local ttl = tonumber(top[2]) - tonumber(ARGV[3])
  if ttl > 0 and redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
return 1
`)

// createSession writes the record KEYS[1] (u = ARGV[1], d = ARGV[2],
// e = ARGV[3]) for ARGV[4] ms if the key is absent. It returns 1 when
// written, 0 when a tombstone blocks the id (revoked during a Rotate), -1
// when the key holds anything else.
var createSession = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 't') == 1 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'd', ARGV[2], 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// updateSession rewrites d and e of the record KEYS[1] and its TTL (ARGV[4]
// ms) only if it is a record of user ARGV[1] that is live at ARGV[5]
// (now, ms). It returns 1 when written, else 0.
var updateSession = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'u', 'e')
if not v[2] or tonumber(v[2]) <= tonumber(ARGV[5]) or v[1] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// claimSession is the first step of Rotate: if KEYS[1] is a record live at
// ARGV[1] (now, ms), it is replaced by a marker naming the new id ARGV[2]
// of user ARGV[3], kept ARGV[4] ms. It returns {1, old user} or {0}.
var claimSession = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'u', 'e')
if not v[2] or tonumber(v[2]) <= tonumber(ARGV[1]) then return {0} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'u', v[1], 'm', ARGV[2], 'n', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, v[1]}
`)

// endSession deletes the live record KEYS[1] (expiry after ARGV[1] ms) and
// returns {1, its user}; a missing or expired record, or a rotation marker,
// is left alone ({0}).
var endSession = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'u', 'e')
if not v[2] or tonumber(v[2]) <= tonumber(ARGV[1]) then return {0} end
redis.call('DEL', KEYS[1])
return {1, v[1]}
`)

// killSession is one step of DeleteUser for user ARGV[1]. A record of the
// user is deleted ({1}); a marker of the user is deleted and, if it names a
// new id of the same user, {2, new id, marker TTL ms} is returned so the
// caller follows it; an absent key gets a tombstone for ARGV[2] ms (if
// positive), so a pending Rotate cannot create it. Anything else is left
// alone ({0}).
var killSession = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'u', 'e', 'm', 'n', 't')
if v[5] then return {0} end
if v[3] then
  if v[1] ~= ARGV[1] then return {0} end
  local ttl = redis.call('PTTL', KEYS[1])
  redis.call('DEL', KEYS[1])
  if v[4] ~= ARGV[1] then return {0} end
  return {2, v[3], ttl}
end
if v[1] then
  if v[1] ~= ARGV[1] then return {0} end
  redis.call('DEL', KEYS[1])
  return {1}
end
local t = tonumber(ARGV[2])
if t > 0 then
  redis.call('HSET', KEYS[1], 't', '1')
  redis.call('PEXPIRE', KEYS[1], t)
end
return {0}
`)

// dropSession deletes the record KEYS[1] only if it is a record (not a
// marker or tombstone) of user ARGV[1]. It returns 1 when deleted, else 0.
var dropSession = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'u', 'e')
if not v[2] or v[1] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

// deleteSession deletes the record or marker KEYS[1] and returns its user
// id ("" if none; a tombstone stays).
var deleteSession = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'u')
if not old then return '' end
redis.call('DEL', KEYS[1])
return old
`)

// pxUntil is the Redis-relative TTL in ms of a record expiring at exp (at
// least 1).
func pxUntil(exp, now time.Time) int64 {
	return max(1, ms(exp)-now.UnixMilli())
}

// Find implements [session.Store]: one HGET. A record whose expiry is not
// after Config.Now is missing even if Redis has not dropped it yet.
func (x *Sessions) Find(ctx context.Context, id string) (session.Record, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	b, err := x.s.rdb.HGet(ctx, x.recKey(id), "d").Bytes()
	if err == redis.Nil {
		return session.Record{}, false, nil
	}
	if err != nil {
		return session.Record{}, false, wrap("session find", err)
	}
	rec, err := decodeSession(b)
	if err != nil {
		return session.Record{}, false, wrap("session find", err)
	}
	if !rec.Expiry().After(x.s.now()) {
		return session.Record{}, false, nil
	}
	return rec, true, nil
}

// indexAdd puts id in the index of user (a no-op for anonymous records).
func (x *Sessions) indexAdd(ctx context.Context, user, id string, exp, now time.Time) error {
	if user == "" {
		return nil
	}
	return x.s.run(ctx, sessionIndexAdd, []string{x.indexKey(user)}, id, ms(exp), now.UnixMilli()).Err()
}

// Create implements [session.Store]: the index entry, then the record if
// its key is absent (two round trips for a user's session, one for an
// anonymous one). A record already expired is not written.
func (x *Sessions) Create(ctx context.Context, id string, rec session.Record) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	now := x.s.now()
	exp := rec.Expiry()
	if !exp.After(now) {
		return ctxErr("session create", ctx)
	}
	if err := x.indexAdd(ctx, rec.UserID, id, exp, now); err != nil {
		return wrap("session create", err)
	}
	n, err := x.s.run(ctx, createSession, []string{x.recKey(id)},
		rec.UserID, encodeSession(rec), ms(exp), pxUntil(exp, now)).Int()
	if err != nil {
		return wrap("session create", err)
	}
	if n != 1 {
		return wrap("session create", session.ErrIDInUse)
	}
	return nil
}

// Update implements [session.Store]: the index score (kept if higher),
// then one script that writes only over a live record of the same user.
func (x *Sessions) Update(ctx context.Context, id string, rec session.Record) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	now := x.s.now()
	exp := rec.Expiry()
	if !exp.After(now) {
		// An expired record leaves the id missing, but only a record of
		// rec.UserID: Update never ends another user's session.
		n, err := x.s.run(ctx, dropSession, []string{x.recKey(id)}, rec.UserID).Int()
		if err != nil {
			return false, wrap("session update", err)
		}
		if n == 1 && rec.UserID != "" {
			if err := x.s.rdb.ZRem(ctx, x.indexKey(rec.UserID), id).Err(); err != nil {
				return false, wrap("session update", err)
			}
		}
		return false, nil
	}
	if err := x.indexAdd(ctx, rec.UserID, id, exp, now); err != nil {
		return false, wrap("session update", err)
	}
	n, err := x.s.run(ctx, updateSession, []string{x.recKey(id)},
		rec.UserID, encodeSession(rec), ms(exp), pxUntil(exp, now), now.UnixMilli()).Int()
	if err != nil {
		return false, wrap("session update", err)
	}
	return n == 1, nil
}

// Rotate implements [session.Store] in three round trips: the new id's
// index entry, the claim that turns a live old record into a marker, and
// the create of the new record, which a concurrent DeleteUser blocks with a
// tombstone (see [Sessions]). A claimed old id is gone for good, so a
// failure after the claim leaves no live session (found=false, or the
// error).
func (x *Sessions) Rotate(ctx context.Context, oldID, newID string, rec session.Record) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	now := x.s.now()
	exp := rec.Expiry()
	if !exp.After(now) {
		// Renewed into a record that is already expired: the old id ends
		// (found when it was live) and nothing is written.
		res, err := x.s.run(ctx, endSession, []string{x.recKey(oldID)}, now.UnixMilli()).Slice()
		if err != nil {
			return false, wrap("session rotate", err)
		}
		if len(res) == 0 || res[0] != int64(1) {
			return false, nil
		}
		if len(res) > 1 {
			if u, _ := res[1].(string); u != "" {
				if err := x.s.rdb.ZRem(ctx, x.indexKey(u), oldID).Err(); err != nil {
					return false, wrap("session rotate", err)
				}
			}
		}
		return true, nil
	}
	if err := x.indexAdd(ctx, rec.UserID, newID, exp, now); err != nil {
		return false, wrap("session rotate", err)
	}
	px := pxUntil(exp, now)
	claim, err := x.s.run(ctx, claimSession, []string{x.recKey(oldID)},
		now.UnixMilli(), newID, rec.UserID, px).Slice()
	if err != nil {
		return false, wrap("session rotate", err)
	}
	if len(claim) == 0 || claim[0] != int64(1) {
		return false, nil
	}
	n, err := x.s.run(ctx, createSession, []string{x.recKey(newID)},
		rec.UserID, encodeSession(rec), ms(exp), px).Int()
	if err != nil {
		return false, wrap("session rotate", err)
	}
	switch n {
	case 1:
		return true, nil
	case 0:
		return false, nil // revoked by DeleteUser between the claim and the create
	}
	return false, wrap("session rotate", session.ErrIDInUse)
}

// Delete implements [session.Store]: the record, then its index entry.
func (x *Sessions) Delete(ctx context.Context, id string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	old, err := x.s.run(ctx, deleteSession, []string{x.recKey(id)}).Text()
	if err != nil {
		return wrap("session delete", err)
	}
	if old != "" {
		if err := x.s.rdb.ZRem(ctx, x.indexKey(old), id).Err(); err != nil {
			return wrap("session delete", err)
		}
	}
	return nil
}

// ListUser implements [session.Store]: one ZRANGE of the user's index and
// one pipelined HGET per listed id. Entries whose record is gone are
// skipped, not pruned: the entry of a Rotate in flight must stay visible to
// DeleteUser.
func (x *Sessions) ListUser(ctx context.Context, userID string) (map[string]session.Record, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	out := map[string]session.Record{}
	if userID == "" {
		return out, ctxErr("session list", ctx)
	}
	now := x.s.now()
	entries, err := x.s.rdb.ZRangeByScore(ctx, x.indexKey(userID), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now.UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, wrap("session list", err)
	}
	if len(entries) == 0 {
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(entries))
	_, _ = x.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range entries {
			cmds[i] = p.HGet(ctx, x.recKey(id), "d")
		}
		return nil
	})
	for i, c := range cmds {
		b, err := c.Bytes()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			return nil, wrap("session list", err)
		}
		rec, err := decodeSession(b)
		if err != nil {
			return nil, wrap("session list", err)
		}
		if rec.UserID == userID && rec.Expiry().After(now) {
			out[entries[i]] = rec
		}
	}
	return out, nil
}

// DeleteUser implements [session.Store]: it reads the whole index, runs
// the kill step on every listed id (pipelined; records deleted, absent ids
// tombstoned until their indexed expiry), follows markers of Rotates in
// flight to the ids they name (same step, tombstoned until the marker's
// TTL), and finally removes the handled index entries.
func (x *Sessions) DeleteUser(ctx context.Context, userID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	if userID == "" {
		return ctxErr("session delete user", ctx)
	}
	ikey := x.indexKey(userID)
	entries, err := x.s.rdb.ZRangeWithScores(ctx, ikey, 0, -1).Result()
	if err != nil {
		return wrap("session delete user", err)
	}
	if len(entries) == 0 {
		return ctxErr("session delete user", ctx)
	}
	now := x.s.now().UnixMilli()
	calls := make([]call, len(entries))
	prune := make([]any, 0, 2*len(entries))
	for i, e := range entries {
		id := e.Member.(string)
		calls[i] = call{keys: []string{x.recKey(id)}, args: []any{userID, max(0, int64(e.Score)-now)}}
		prune = append(prune, id, formatScore(e.Score))
	}
	for len(calls) > 0 {
		cmds, err := x.s.runMany(ctx, killSession, calls)
		if err != nil {
			return wrap("session delete user", err)
		}
		var next []call
		for _, c := range cmds {
			res, err := c.Slice()
			if err != nil {
				return wrap("session delete user", err)
			}
			if len(res) == 3 && res[0] == int64(2) {
				id, _ := res[1].(string)
				ttl, _ := res[2].(int64)
				next = append(next, call{keys: []string{x.recKey(id)}, args: []any{userID, max(1, ttl)}})
			}
		}
		calls = next
	}
	return wrap("session delete user", x.s.run(ctx, indexPrune, []string{ikey}, prune...).Err())
}

func formatScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
