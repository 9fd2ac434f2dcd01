package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/authkit-go/authkit/passkey"
)

// Passkeys is the SQL [passkey.CredentialStore]: one row per credential
// in the <prefix>passkeys table (migration 6), keyed by the credential id,
// with an index on the user. Rows have no expiry and are never purged.
//
// Add is one INSERT … ON CONFLICT DO NOTHING, so an id is unique across
// all users; Rename and UpdateUse are single UPDATEs (UpdateUse's WHERE
// compares sign_count, a compare-and-set). Remove runs in a transaction
// that first locks every credential row of the user (SELECT … FOR UPDATE
// on PostgreSQL, the database write lock of BEGIN IMMEDIATE on SQLite), so
// its keepLast count and its DELETE are one step: of two concurrent
// keepLast removals of a user's last two credentials, the second waits for
// the first and then sees one credential left. Ids, the user handle, the
// name and the key are stored as bytes, exactly as given; the attestation
// format and the transports (a JSON array) are text.
type Passkeys struct {
	s *Store
	q passkeyQueries
}

type passkeyQueries struct {
	list, get, add, rename, updateUse, lock, remove, ids string
}

var _ passkey.CredentialStore = (*Passkeys)(nil)

const passkeyCols = `id, user_id, user_handle, name, public_key, attestation_format, aaguid, transports,
	sign_count, user_verified, backup_eligible, backup_state, created_at, last_used_at`

// passkeyOrder is [passkey.CredentialStore.List]'s order; a zero
// CreatedAt (NULL) sorts first in both dialects.
const passkeyOrder = ` ORDER BY COALESCE(created_at, -9223372036854775807), id`

// Passkeys returns the [passkey.CredentialStore] adapter. The table comes
// with migration 6 of [Store.Migrate].
func (s *Store) Passkeys() *Passkeys {
	forUpdate := " FOR UPDATE"
	if s.dialect == SQLite {
		forUpdate = "" // the transaction holds the write lock (BEGIN IMMEDIATE)
	}
	r := s.render
	return &Passkeys{s: s, q: passkeyQueries{
		list: r(`SELECT ` + passkeyCols + ` FROM {T}passkeys WHERE user_id = $1` + passkeyOrder),
		get:  r(`SELECT ` + passkeyCols + ` FROM {T}passkeys WHERE id = $1`),
		add: r(`INSERT INTO {T}passkeys (` + passkeyCols + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING`),
		rename: r(`UPDATE {T}passkeys SET name = $3 WHERE id = $1 AND user_id = $2`),
		updateUse: r(`UPDATE {T}passkeys SET sign_count = $3, last_used_at = $4, user_verified = $5, backup_eligible = $6,
	backup_state = $7 WHERE id = $1 AND sign_count = $2`),
		// Locks in one order (by id), so concurrent Removes never deadlock.
		lock:   r(`SELECT id FROM {T}passkeys WHERE user_id = $1 ORDER BY id` + forUpdate),
		remove: r(`DELETE FROM {T}passkeys WHERE id = $1 AND user_id = $2`),
		ids:    r(`SELECT id FROM {T}passkeys WHERE user_id = $1` + passkeyOrder),
	}}
}

type scanner interface{ Scan(dest ...any) error }

func scanPasskey(sc scanner) (passkey.Credential, error) {
	var c passkey.Credential
	var user []byte
	var transports string
	var count int64
	var created, used sql.NullInt64
	if err := sc.Scan(&c.ID, &user, &c.UserHandle, &c.Name, &c.PublicKey, &c.AttestationFormat, &c.AAGUID, &transports,
		&count, &c.UserVerified, &c.BackupEligible, &c.BackupState, &created, &used); err != nil {
		return passkey.Credential{}, err
	}
	if err := json.Unmarshal([]byte(transports), &c.Transports); err != nil {
		return passkey.Credential{}, err
	}
	if count < 0 || count > int64(^uint32(0)) {
		return passkey.Credential{}, errors.New("sign_count out of range")
	}
	c.UserID, c.SignCount = string(user), uint32(count)
	c.CreatedAt, c.LastUsedAt = fromMicros(created), fromMicros(used)
	return c, nil
}

// List implements [passkey.CredentialStore].
func (x *Passkeys) List(ctx context.Context, userID string) ([]passkey.Credential, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	rows, err := x.s.db.QueryContext(ctx, x.q.list, key(userID))
	if err != nil {
		return nil, wrap("passkey list", err)
	}
	defer rows.Close()
	var out []passkey.Credential
	for rows.Next() {
		c, err := scanPasskey(rows)
		if err != nil {
			return nil, wrap("passkey list", err)
		}
		out = append(out, c)
	}
	return out, wrap("passkey list", rows.Err())
}

// Get implements [passkey.CredentialStore].
func (x *Passkeys) Get(ctx context.Context, credentialID []byte) (passkey.Credential, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	c, err := scanPasskey(x.s.db.QueryRowContext(ctx, x.q.get, blob(credentialID)))
	if errors.Is(err, sql.ErrNoRows) {
		return passkey.Credential{}, false, nil
	}
	if err != nil {
		return passkey.Credential{}, false, wrap("passkey get", err)
	}
	return c, true, nil
}

// Add implements [passkey.CredentialStore]: one INSERT that does nothing
// when the id exists, whoever owns it.
func (x *Passkeys) Add(ctx context.Context, c passkey.Credential) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	transports, err := json.Marshal(c.Transports)
	if err != nil {
		return false, wrap("passkey add", err)
	}
	if c.Transports == nil {
		transports = []byte("[]")
	}
	res, err := x.s.db.ExecContext(ctx, x.q.add, blob(c.ID), key(c.UserID), blob(c.UserHandle), key(c.Name), blob(c.PublicKey),
		c.AttestationFormat, blob(c.AAGUID), string(transports), int64(c.SignCount), c.UserVerified, c.BackupEligible,
		c.BackupState, micros(c.CreatedAt), micros(c.LastUsedAt))
	return affected("passkey add", res, err)
}

// affected reports whether a single-row statement changed its row.
func affected(op string, res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap(op, err)
	}
	return n == 1, nil
}

// Rename implements [passkey.CredentialStore]: one UPDATE of the row with
// this id and user.
func (x *Passkeys) Rename(ctx context.Context, userID string, credentialID []byte, name string) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	res, err := x.s.db.ExecContext(ctx, x.q.rename, blob(credentialID), key(userID), key(name))
	return affected("passkey rename", res, err)
}

// UpdateUse implements [passkey.CredentialStore]: one UPDATE … WHERE
// sign_count = prevSignCount, so of concurrent calls with one
// prevSignCount exactly one writes.
func (x *Passkeys) UpdateUse(ctx context.Context, credentialID []byte, prevSignCount uint32, u passkey.Use) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	res, err := x.s.db.ExecContext(ctx, x.q.updateUse, blob(credentialID), int64(prevSignCount), int64(u.SignCount),
		micros(u.LastUsedAt), u.UserVerified, u.BackupEligible, u.BackupState)
	return affected("passkey update use", res, err)
}

// Remove implements [passkey.CredentialStore] in one transaction: lock the
// user's rows, decide from them (missing, or the last one under keepLast),
// delete, and read the ids left.
func (x *Passkeys) Remove(ctx context.Context, userID string, credentialID []byte, keepLast bool) (passkey.RemoveResult, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	user := key(userID)
	var res passkey.RemoveResult
	err := x.s.inTx(ctx, func(q querier) error {
		res = passkey.RemoveResult{}
		ids, err := queryIDs(ctx, q, x.q.lock, user)
		if err != nil {
			return err
		}
		owned := false
		for _, id := range ids {
			owned = owned || bytes.Equal(id, credentialID)
		}
		switch {
		case !owned:
		case keepLast && len(ids) == 1:
			res.Last = true
		default:
			r, err := q.ExecContext(ctx, x.q.remove, blob(credentialID), user)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			if err != nil {
				return err
			}
			res.Removed = n == 1
		}
		res.Remaining, err = queryIDs(ctx, q, x.q.ids, user)
		return err
	})
	if err != nil {
		return passkey.RemoveResult{}, wrap("passkey remove", err)
	}
	return res, nil
}

func queryIDs(ctx context.Context, q querier, stmt string, args ...any) ([][]byte, error) {
	rows, err := q.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids [][]byte
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
