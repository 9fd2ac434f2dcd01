package redisstore

import (
	"bytes"
	"cmp"
	"context"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/passkey"
)

// Passkeys is the Redis [passkey.CredentialStore]. A user's credentials
// are the hash <prefix>pk:{U}: one field per credential, named by the raw
// credential id, holding the encoded [passkey.Credential]. The string
// <prefix>pi:<id> maps a credential id to its user, so [Passkeys.Get] and
// [Passkeys.UpdateUse], which know only the id, find the hash. Both are
// long-lived user state: no TTL, kept until Remove (Redis must not evict
// them, see the package documentation).
//
// The index and the hash live in different Cluster slots, so they are
// written in an order that keeps one rule: every stored credential has an
// index entry naming its user. Add reserves the id with SET NX on the index
// first (that reservation is what makes an id unique across all users) and
// only then writes the credential; Remove deletes the credential first and
// the index entry after. An index entry may therefore outlive its
// credential (a process that died between the two steps, a failed write):
// such an entry reads as a missing credential, and the id stays reserved,
// which costs nothing because authenticators pick a new random id for every
// registration.
//
// Every method that changes a credential is atomic on the user's hash:
// Remove's keepLast check and its delete are one script, and UpdateUse and
// Rename are compare-and-set scripts that write only over the exact value
// they read (so UpdateUse writes only while the stored SignCount is still
// prevSignCount; a concurrent change makes them read again).
type Passkeys struct{ s *Store }

var _ passkey.CredentialStore = (*Passkeys)(nil)

// Passkeys returns the [passkey.CredentialStore] adapter.
func (s *Store) Passkeys() *Passkeys { return &Passkeys{s} }

func (x *Passkeys) userKey(userID string) string { return x.s.tagged("pk", userID) }
func (x *Passkeys) indexKey(id []byte) string    { return x.s.key("pi", string(id)) }

// Flag bits of an encoded credential.
const (
	pkUserVerified = 1 << iota
	pkBackupEligible
	pkBackupState
)

func encodePasskey(c passkey.Credential) []byte {
	n := len(c.ID) + len(c.UserID) + len(c.UserHandle) + len(c.Name) + len(c.PublicKey) + len(c.AttestationFormat) + len(c.AAGUID)
	for _, t := range c.Transports {
		n += len(t) + 2
	}
	e := newEnc(n + 48)
	e.bytes(c.ID)
	e.str(c.UserID)
	e.bytes(c.UserHandle)
	e.str(c.Name)
	e.bytes(c.PublicKey)
	e.str(c.AttestationFormat)
	e.bytes(c.AAGUID)
	e.int(int64(len(c.Transports)))
	for _, t := range c.Transports {
		e.str(t)
	}
	e.int(int64(c.SignCount))
	flags := int64(0)
	if c.UserVerified {
		flags |= pkUserVerified
	}
	if c.BackupEligible {
		flags |= pkBackupEligible
	}
	if c.BackupState {
		flags |= pkBackupState
	}
	e.int(flags)
	e.time(c.CreatedAt)
	e.time(c.LastUsedAt)
	return e.b
}

func decodePasskey(b []byte) (passkey.Credential, error) {
	d := newDec(b)
	c := passkey.Credential{ID: d.bytes(), UserID: d.str(), UserHandle: d.bytes(), Name: d.str(), PublicKey: d.bytes(),
		AttestationFormat: d.str(), AAGUID: d.bytes()}
	n := d.int()
	if n < 0 || n > int64(len(d.b)) { // every transport takes at least one byte
		return passkey.Credential{}, errCorrupt
	}
	for range n {
		c.Transports = append(c.Transports, d.str())
	}
	count := d.int()
	if count < 0 || count > int64(^uint32(0)) {
		return passkey.Credential{}, errCorrupt
	}
	c.SignCount = uint32(count)
	flags := d.int()
	c.UserVerified, c.BackupEligible, c.BackupState = flags&pkUserVerified != 0, flags&pkBackupEligible != 0, flags&pkBackupState != 0
	c.CreatedAt, c.LastUsedAt = d.time(), d.time()
	if err := d.done(); err != nil {
		return passkey.Credential{}, err
	}
	return c, nil
}

// decodeList decodes the values of a user's hash, oldest first.
func decodeList(vals []string) ([]passkey.Credential, error) {
	out := make([]passkey.Credential, 0, len(vals))
	for _, v := range vals {
		c, err := decodePasskey([]byte(v))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b passkey.Credential) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), bytes.Compare(a.ID, b.ID))
	})
	return out, nil
}

// List implements [passkey.CredentialStore]: one HVALS.
func (x *Passkeys) List(ctx context.Context, userID string) ([]passkey.Credential, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	vals, err := x.s.rdb.HVals(ctx, x.userKey(userID)).Result()
	if err != nil {
		return nil, wrap("passkey list", err)
	}
	out, err := decodeList(vals)
	return out, wrap("passkey list", err)
}

// owner returns the user the index names for id ("", false when there is
// no entry).
func (x *Passkeys) owner(ctx context.Context, id []byte) (string, bool, error) {
	u, err := x.s.rdb.Get(ctx, x.indexKey(id)).Result()
	if err == redis.Nil {
		return "", false, nil
	}
	return u, err == nil, err
}

// read returns the stored value of the user's credential and its decoding.
func (x *Passkeys) read(ctx context.Context, userID string, id []byte) (string, passkey.Credential, bool, error) {
	v, err := x.s.rdb.HGet(ctx, x.userKey(userID), string(id)).Result()
	if err == redis.Nil {
		return "", passkey.Credential{}, false, nil
	}
	if err != nil {
		return "", passkey.Credential{}, false, err
	}
	c, err := decodePasskey([]byte(v))
	if err != nil {
		return "", passkey.Credential{}, false, err
	}
	if !bytes.Equal(c.ID, id) || c.UserID != userID {
		return "", passkey.Credential{}, false, errCorrupt
	}
	return v, c, true, nil
}

// Get implements [passkey.CredentialStore]: a GET of the index, then an
// HGET in the owner's hash.
func (x *Passkeys) Get(ctx context.Context, credentialID []byte) (passkey.Credential, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	user, found, err := x.owner(ctx, credentialID)
	if err != nil || !found {
		return passkey.Credential{}, false, wrap("passkey get", err)
	}
	_, c, found, err := x.read(ctx, user, credentialID)
	if err != nil || !found {
		return passkey.Credential{}, false, wrap("passkey get", err)
	}
	return c, true, nil
}

// pkUnreserve deletes the index entry KEYS[1] if it still names the user
// ARGV[1].
var pkUnreserve = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

// pkSwap writes ARGV[3] into field ARGV[1] of the hash KEYS[1] if the
// field still holds ARGV[2] ("" for absent); returns 1 when it wrote.
var pkSwap = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return 1
`)

// Add implements [passkey.CredentialStore]: SET NX of the index entry
// reserves the id for c.UserID (false if any user holds it), then HSETNX
// writes the credential. If that write fails, the credential (if it was
// written after all) and then the reservation are taken back.
func (x *Passkeys) Add(ctx context.Context, c passkey.Credential) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	idx := x.indexKey(c.ID)
	reserved, err := x.s.rdb.SetNX(ctx, idx, c.UserID, 0).Result()
	if err != nil {
		return false, wrap("passkey add", err)
	}
	if !reserved {
		return false, nil
	}
	v := encodePasskey(c)
	added, err := x.s.rdb.HSetNX(ctx, x.userKey(c.UserID), string(c.ID), v).Result()
	if err != nil {
		// The write may have happened with its reply lost: undo it before
		// the reservation, so no credential is ever left without an index
		// entry. If the undo fails too, the id stays reserved (safe).
		uctx, ucancel := x.s.bound(context.WithoutCancel(ctx))
		defer ucancel()
		if x.s.run(uctx, pkSwap, []string{x.userKey(c.UserID)}, string(c.ID), v, "").Err() == nil {
			_ = x.s.run(uctx, pkUnreserve, []string{idx}, c.UserID).Err()
		}
		return false, wrap("passkey add", err)
	}
	// HSETNX finding a field means the user's hash held the credential
	// although its index entry was missing; the entry now names the owner
	// again, so the credential is consistent and stays as it was.
	return added, nil
}

// update reads the user's credential, applies change and writes it back
// with pkSwap, reading again when a concurrent write changed it in
// between. change returns false to stop without writing.
func (x *Passkeys) update(ctx context.Context, userID string, id []byte, change func(c *passkey.Credential) bool) (bool, error) {
	key := x.userKey(userID)
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		old, c, found, err := x.read(ctx, userID, id)
		if err != nil || !found {
			return false, err
		}
		if !change(&c) {
			return false, nil
		}
		n, err := x.s.run(ctx, pkSwap, []string{key}, string(id), old, encodePasskey(c)).Int()
		if err != nil {
			return false, err
		}
		if n == 1 {
			return true, nil
		}
		// Another writer got in between; every lost round is another
		// caller's successful write.
	}
}

// Rename implements [passkey.CredentialStore]: a compare-and-set of the
// credential in the user's own hash (another user's id is not there).
func (x *Passkeys) Rename(ctx context.Context, userID string, credentialID []byte, name string) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	ok, err := x.update(ctx, userID, credentialID, func(c *passkey.Credential) bool {
		c.Name = name
		return true
	})
	return ok, wrap("passkey rename", err)
}

// UpdateUse implements [passkey.CredentialStore]: the index names the
// owner, then a compare-and-set writes u only while the stored SignCount
// equals prevSignCount. Of concurrent calls with one prevSignCount exactly
// one writes.
func (x *Passkeys) UpdateUse(ctx context.Context, credentialID []byte, prevSignCount uint32, u passkey.Use) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	user, found, err := x.owner(ctx, credentialID)
	if err != nil || !found {
		return false, wrap("passkey update use", err)
	}
	ok, err := x.update(ctx, user, credentialID, func(c *passkey.Credential) bool {
		if c.SignCount != prevSignCount {
			return false
		}
		c.SignCount, c.LastUsedAt, c.UserVerified = u.SignCount, u.LastUsedAt, u.UserVerified
		c.BackupEligible, c.BackupState = u.BackupEligible, u.BackupState
		return true
	})
	return ok, wrap("passkey update use", err)
}

// pkRemove: KEYS[1] the user's hash, ARGV[1] the credential id, ARGV[2]
// "1" for keepLast. Returns {status, remaining values...}: status 0 not
// found, 1 removed, 2 refused as the last one.
var pkRemove = redis.NewScript(`
local st = 0
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  if ARGV[2] == '1' and redis.call('HLEN', KEYS[1]) == 1 then
    st = 2
  else
    redis.call('HDEL', KEYS[1], ARGV[1])
    st = 1
  end
end
local r = redis.call('HVALS', KEYS[1])
table.insert(r, 1, st)
return r
`)

// Remove implements [passkey.CredentialStore]: one script on the user's
// hash checks keepLast, deletes the credential and returns the rest, so
// of concurrent keepLast removals the user's last credential always
// survives. The index entry is deleted afterwards; if that fails the id
// merely stays reserved (see [Passkeys]).
func (x *Passkeys) Remove(ctx context.Context, userID string, credentialID []byte, keepLast bool) (passkey.RemoveResult, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	kl := "0"
	if keepLast {
		kl = "1"
	}
	r, err := x.s.run(ctx, pkRemove, []string{x.userKey(userID)}, string(credentialID), kl).Slice()
	if err != nil {
		return passkey.RemoveResult{}, wrap("passkey remove", err)
	}
	if len(r) == 0 {
		return passkey.RemoveResult{}, wrap("passkey remove", errCorrupt)
	}
	st, ok := r[0].(int64)
	vals := make([]string, 0, len(r)-1)
	for _, v := range r[1:] {
		s, isStr := v.(string)
		ok = ok && isStr
		vals = append(vals, s)
	}
	if !ok {
		return passkey.RemoveResult{}, wrap("passkey remove", errCorrupt)
	}
	rest, err := decodeList(vals)
	if err != nil {
		return passkey.RemoveResult{}, wrap("passkey remove", err)
	}
	res := passkey.RemoveResult{Removed: st == 1, Last: st == 2}
	for _, c := range rest {
		res.Remaining = append(res.Remaining, c.ID)
	}
	if res.Removed {
		// Deleting the entry only if it names this user never frees an id
		// another user holds. A failure leaves the id reserved, which is
		// harmless; the credential is gone either way.
		_ = x.s.run(ctx, pkUnreserve, []string{x.indexKey(credentialID)}, userID).Err()
	}
	return res, nil
}
