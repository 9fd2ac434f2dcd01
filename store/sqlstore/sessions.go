package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/authkit-go/authkit/session"
)

// Sessions is the SQL [session.Store]. Rows are keyed by the session id; a
// partial index on user_id is the per-user index behind ListUser and
// DeleteUser. Find is one indexed SELECT (one round trip), so a read-only
// request through [session.Manager.LoadAndSave] costs one query.
//
// Every write is one statement: Create inserts (never replacing a live
// row), Update is "UPDATE ... WHERE id = ? AND expiry > now" of the same
// user, and Rotate renews the id in place ("UPDATE ... SET id = new WHERE
// id = old AND expiry > now"). Because a rotation keeps the row, a
// concurrent "DELETE ... WHERE user_id = ?" that waits on the row's lock
// re-checks the renewed row and deletes it too (PostgreSQL's READ
// COMMITTED re-evaluation; SQLite runs one writer at a time): no write that
// read a session before DeleteUser or Delete can bring it back.
type Sessions struct {
	s                                                                    *Store
	find, create, update, rotate, del, delLive, delOwn, list, deleteUser string
}

var _ session.Store = (*Sessions)(nil)

// Sessions returns the [session.Store] adapter.
func (s *Store) Sessions() *Sessions {
	r := s.render
	return &Sessions{
		s:    s,
		find: r(`SELECT ` + sessionCols + ` FROM {T}sessions WHERE id = $1 AND expiry > $2`),
		create: r(`INSERT INTO {T}sessions (id, user_id, secret_hash, data, created_at, last_seen, idle_expiry, absolute_expiry, expiry, ip, user_agent)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`),
		update: r(`UPDATE {T}sessions SET secret_hash = $2, data = $3, created_at = $4, last_seen = $5, idle_expiry = $6,
	absolute_expiry = $7, expiry = $8, ip = $9, user_agent = $10
WHERE id = $1 AND expiry > $11 AND COALESCE(user_id, $12) = $13`),
		rotate: r(`UPDATE {T}sessions SET id = $2, user_id = $3, secret_hash = $4, data = $5, created_at = $6, last_seen = $7,
	idle_expiry = $8, absolute_expiry = $9, expiry = $10, ip = $11, user_agent = $12
WHERE id = $1 AND expiry > $13`),
		del:        r(`DELETE FROM {T}sessions WHERE id = $1`),
		delLive:    r(`DELETE FROM {T}sessions WHERE id = $1 AND expiry > $2`),
		delOwn:     r(`DELETE FROM {T}sessions WHERE id = $1 AND COALESCE(user_id, $2) = $3`),
		list:       r(`SELECT id, ` + sessionCols + ` FROM {T}sessions WHERE user_id = $1 AND expiry > $2`),
		deleteUser: r(`DELETE FROM {T}sessions WHERE user_id = $1`),
	}
}

const sessionCols = `user_id, secret_hash, data, created_at, last_seen, idle_expiry, absolute_expiry, ip, user_agent`

func scanSession(sc interface{ Scan(...any) error }, extra ...any) (session.Record, error) {
	var (
		rec                         session.Record
		user                        []byte
		created, seen, idle, absExp sql.NullInt64
	)
	dest := append(extra, &user, &rec.SecretHash, &rec.Data, &created, &seen, &idle, &absExp, &rec.IP, &rec.UserAgent)
	if err := sc.Scan(dest...); err != nil {
		return session.Record{}, err
	}
	rec.UserID = string(user)
	rec.CreatedAt, rec.LastSeen = fromMicros(created), fromMicros(seen)
	rec.IdleExpiry, rec.AbsoluteExpiry = fromMicros(idle), fromMicros(absExp)
	return rec, nil
}

// Find implements [session.Store]: one SELECT; a row whose expiry is not
// after Config.Now is missing.
func (x *Sessions) Find(ctx context.Context, id string) (session.Record, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	row := x.s.db.QueryRowContext(ctx, x.find, key(id), x.s.nowMicros())
	rec, err := scanSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		return session.Record{}, false, nil
	}
	if err != nil {
		return session.Record{}, false, wrap("session find", err)
	}
	return rec, true, nil
}

// userArg is the user_id value: NULL for an anonymous session, which is
// then not in the per-user index.
func userArg(userID string) any {
	if userID == "" {
		return nil
	}
	return key(userID)
}

// Create implements [session.Store] with one INSERT that never replaces a
// row. A record already expired is not written.
func (x *Sessions) Create(ctx context.Context, id string, rec session.Record) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	exp := rec.Expiry()
	if !exp.After(x.s.now()) {
		return wrap("session create", ctx.Err())
	}
	res, err := x.s.db.ExecContext(ctx, x.create, key(id), userArg(rec.UserID), blob(rec.SecretHash), blob(rec.Data),
		micros(rec.CreatedAt), micros(rec.LastSeen), micros(rec.IdleExpiry), micros(rec.AbsoluteExpiry),
		exp.UnixMicro(), rec.IP, rec.UserAgent)
	if err != nil {
		return wrap("session create", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return wrap("session create", errors.Join(session.ErrIDInUse, err))
	}
	return nil
}

// Update implements [session.Store] with one conditional UPDATE of the
// live row of the same user; found is whether it matched.
func (x *Sessions) Update(ctx context.Context, id string, rec session.Record) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	exp := rec.Expiry()
	if !exp.After(x.s.now()) {
		// An expired record leaves the id missing, but only a row of
		// rec.UserID: Update never ends another user's session.
		_, err := x.s.db.ExecContext(ctx, x.delOwn, key(id), []byte{}, key(rec.UserID))
		return false, wrap("session update", err)
	}
	res, err := x.s.db.ExecContext(ctx, x.update, key(id), blob(rec.SecretHash), blob(rec.Data),
		micros(rec.CreatedAt), micros(rec.LastSeen), micros(rec.IdleExpiry), micros(rec.AbsoluteExpiry),
		exp.UnixMicro(), rec.IP, rec.UserAgent, x.s.nowMicros(), []byte{}, key(rec.UserID))
	if err != nil {
		return false, wrap("session update", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("session update", err)
}

// Rotate implements [session.Store] with one UPDATE that moves the live
// row of oldID to newID.
func (x *Sessions) Rotate(ctx context.Context, oldID, newID string, rec session.Record) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	exp := rec.Expiry()
	if !exp.After(x.s.now()) {
		// Renewed into a record that is already expired: the old id ends
		// (found when it was live) and nothing is written.
		res, err := x.s.db.ExecContext(ctx, x.delLive, key(oldID), x.s.nowMicros())
		if err != nil {
			return false, wrap("session rotate", err)
		}
		n, err := res.RowsAffected()
		return n == 1, wrap("session rotate", err)
	}
	res, err := x.s.db.ExecContext(ctx, x.rotate, key(oldID), key(newID), userArg(rec.UserID),
		blob(rec.SecretHash), blob(rec.Data), micros(rec.CreatedAt), micros(rec.LastSeen),
		micros(rec.IdleExpiry), micros(rec.AbsoluteExpiry), exp.UnixMicro(), rec.IP, rec.UserAgent, x.s.nowMicros())
	if err != nil {
		return false, wrap("session rotate", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("session rotate", err)
}

// Delete implements [session.Store].
func (x *Sessions) Delete(ctx context.Context, id string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	_, err := x.s.db.ExecContext(ctx, x.del, key(id))
	return wrap("session delete", err)
}

// ListUser implements [session.Store] through the user_id index.
func (x *Sessions) ListUser(ctx context.Context, userID string) (map[string]session.Record, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	out := map[string]session.Record{}
	if userID == "" {
		if err := ctx.Err(); err != nil {
			return nil, wrap("session list", err)
		}
		return out, nil
	}
	rows, err := x.s.db.QueryContext(ctx, x.list, key(userID), x.s.nowMicros())
	if err != nil {
		return nil, wrap("session list", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id []byte
		rec, err := scanSession(rows, &id)
		if err != nil {
			return nil, wrap("session list", err)
		}
		out[string(id)] = rec
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("session list", err)
	}
	return out, nil
}

// DeleteUser implements [session.Store] ("log out everywhere") with one
// DELETE.
func (x *Sessions) DeleteUser(ctx context.Context, userID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	if userID == "" {
		return wrap("session delete user", ctx.Err())
	}
	_, err := x.s.db.ExecContext(ctx, x.deleteUser, key(userID))
	return wrap("session delete user", err)
}
