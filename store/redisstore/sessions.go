package redisstore

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/session"
)

// Sessions is the Redis [session.Store].
//
// A record is the hash <prefix>s:<id> with the fields u (the user id, for
// the scripts) and d (the encoded record), expiring at the record's
// Expiry. The per-user index is the sorted set <prefix>su:<user>: member
// the session id, score the record's expiry in Unix ms, itself expiring
// with its latest member. Find is one HGET (one round trip).
//
// The record and the index live in different Cluster slots (a session id is
// looked up alone), so they are not written atomically together. Save
// writes the index entry before the record and Delete removes the record
// before the entry, so every stored record of a user is in the user's
// index, while an index entry may outlive its record (a failed Save, a
// record moved to another user, or one deleted by its TTL). Such stale
// entries are skipped and pruned by ListUser and DeleteUser, and expire
// with their score anyway.
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

// saveSession writes the record hash KEYS[1] (u = ARGV[1], d = ARGV[2])
// expiring in ARGV[3] ms (counted by Redis's clock) and returns the previous user id ("" if
// none).
var saveSession = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'u')
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return old or ''
`)

// deleteSession deletes KEYS[1] and returns its user id ("" if none). With
// ARGV[1] set it deletes only a record of that user.
var deleteSession = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'u')
if not old then return '' end
if ARGV[1] and old ~= ARGV[1] then return '' end
redis.call('DEL', KEYS[1])
return old
`)

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

// Save implements [session.Store]. For a user's session it first adds the
// id to the user's index, then writes the record (two round trips; a third
// when the record moves from another user, whose index entry is then
// removed). A record that has already expired is deleted instead.
func (x *Sessions) Save(ctx context.Context, id string, rec session.Record) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	now := x.s.now()
	exp := rec.Expiry()
	if !exp.After(now) {
		return x.Delete(ctx, id)
	}
	expMS := ms(exp)
	if rec.UserID != "" {
		err := x.s.run(ctx, indexAdd, []string{x.indexKey(rec.UserID)}, id, expMS, ms(now), "").Err()
		if err != nil {
			return wrap("session save", err)
		}
	}
	old, err := x.s.run(ctx, saveSession, []string{x.recKey(id)}, rec.UserID, encodeSession(rec), ttl(now, exp)).Text()
	if err != nil {
		return wrap("session save", err)
	}
	if old != "" && old != rec.UserID {
		if err := x.s.rdb.ZRem(ctx, x.indexKey(old), id).Err(); err != nil {
			return wrap("session save", err)
		}
	}
	return nil
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

// ListUser implements [session.Store]: one ZRANGE of the user's index, one
// pipelined HGET per listed id, and, if some entries turned out stale, one
// script that prunes them.
func (x *Sessions) ListUser(ctx context.Context, userID string) (map[string]session.Record, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	out := map[string]session.Record{}
	if userID == "" {
		return out, ctxErr("session list", ctx)
	}
	now := x.s.now()
	ikey := x.indexKey(userID)
	entries, err := x.s.rdb.ZRangeByScoreWithScores(ctx, ikey, &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now.UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, wrap("session list", err)
	}
	if len(entries) == 0 {
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(entries))
	_, _ = x.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range entries {
			cmds[i] = p.HGet(ctx, x.recKey(e.Member.(string)), "d")
		}
		return nil
	})
	var stale []any
	for i, c := range cmds {
		id := entries[i].Member.(string)
		b, err := c.Bytes()
		if err == redis.Nil {
			stale = append(stale, id, formatScore(entries[i].Score))
			continue
		}
		if err != nil {
			return nil, wrap("session list", err)
		}
		rec, err := decodeSession(b)
		if err != nil {
			return nil, wrap("session list", err)
		}
		if rec.UserID != userID {
			stale = append(stale, id, formatScore(entries[i].Score))
			continue
		}
		if rec.Expiry().After(now) {
			out[id] = rec
		}
	}
	if len(stale) > 0 {
		if err := x.s.run(ctx, indexPrune, []string{ikey}, stale...).Err(); err != nil {
			return nil, wrap("session list", err)
		}
	}
	return out, nil
}

// DeleteUser implements [session.Store]: it reads the whole index, deletes
// each listed record that still belongs to userID (one pipelined script
// per id, so a record that moved to another user is kept), then removes
// the entries it handled.
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
		return nil
	}
	calls := make([]call, len(entries))
	prune := make([]any, 0, 2*len(entries))
	for i, e := range entries {
		id := e.Member.(string)
		calls[i] = call{keys: []string{x.recKey(id)}, args: []any{userID}}
		prune = append(prune, id, formatScore(e.Score))
	}
	if _, err := x.s.runMany(ctx, deleteSession, calls); err != nil {
		return wrap("session delete user", err)
	}
	return wrap("session delete user", x.s.run(ctx, indexPrune, []string{ikey}, prune...).Err())
}

func formatScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
