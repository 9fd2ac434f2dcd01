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
type Sessions struct{ s *Store }

var _ session.Store = (*Sessions)(nil)

// Sessions returns the [session.Store] adapter.
func (s *Store) Sessions() *Sessions { return &Sessions{s} }

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
	row := x.s.db.QueryRowContext(ctx, x.s.q.sessionFind, key(id), x.s.nowMicros())
	rec, err := scanSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		return session.Record{}, false, nil
	}
	if err != nil {
		return session.Record{}, false, wrap("session find", err)
	}
	return rec, true, nil
}

// Save implements [session.Store] with one upsert. A record that has
// already expired is deleted instead, so id is missing afterwards.
func (x *Sessions) Save(ctx context.Context, id string, rec session.Record) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	exp := rec.Expiry()
	if !exp.After(x.s.now()) {
		return x.Delete(ctx, id)
	}
	var user any // NULL for an anonymous session: not in the per-user index
	if rec.UserID != "" {
		user = key(rec.UserID)
	}
	_, err := x.s.db.ExecContext(ctx, x.s.q.sessionSave, key(id), user, blob(rec.SecretHash), blob(rec.Data),
		micros(rec.CreatedAt), micros(rec.LastSeen), micros(rec.IdleExpiry), micros(rec.AbsoluteExpiry),
		exp.UnixMicro(), rec.IP, rec.UserAgent)
	return wrap("session save", err)
}

// Delete implements [session.Store].
func (x *Sessions) Delete(ctx context.Context, id string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	_, err := x.s.db.ExecContext(ctx, x.s.q.sessionDelete, key(id))
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
	rows, err := x.s.db.QueryContext(ctx, x.s.q.sessionList, key(userID), x.s.nowMicros())
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

// DeleteUser implements [session.Store] ("log out everywhere").
func (x *Sessions) DeleteUser(ctx context.Context, userID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	if userID == "" {
		return wrap("session delete user", ctx.Err())
	}
	_, err := x.s.db.ExecContext(ctx, x.s.q.sessionDeleteUser, key(userID))
	return wrap("session delete user", err)
}
