package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// RefreshTokens is the SQL [jwt.RefreshStore]. Revocation writes a
// tombstone row per family (refresh_revoked); Use checks it in the same
// statement, so a token created into a revoked family later (a rotation
// racing with the revocation) is dead from the start, and a revoked family
// cannot be revived (RFC 9700 §4.14.2; OWASP refresh-token reuse detection).
type RefreshTokens struct{ s *Store }

var _ jwt.RefreshStore = (*RefreshTokens)(nil)

// RefreshTokens returns the [jwt.RefreshStore] adapter.
func (s *Store) RefreshTokens() *RefreshTokens { return &RefreshTokens{s} }

// Create implements [jwt.RefreshStore]. A token whose ID exists is
// replaced.
func (x *RefreshTokens) Create(ctx context.Context, t jwt.RefreshToken) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	_, err := x.s.db.ExecContext(ctx, x.s.q.refreshCreate, key(t.ID), key(t.FamilyID), key(t.UserID),
		micros(t.IssuedAt), t.Expiry.UnixMicro(), micros(t.FamilyExpiry), micros(t.UsedAt))
	return wrap("refresh create", err)
}

// Use implements [jwt.RefreshStore]. The winner of concurrent calls is the
// one whose conditional UPDATE (used_at IS NULL → now) affects the row, in
// one round trip; the others then read the record with its UsedAt set and
// report reuse. Expiry is compared with now, not Config.Now.
func (x *RefreshTokens) Use(ctx context.Context, id string, now time.Time) (jwt.RefreshToken, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	nowUS := now.UnixMicro()
	for range 3 {
		t := jwt.RefreshToken{ID: id}
		var fam, user []byte
		var issued, fexp sql.NullInt64
		var exp int64
		err := x.s.db.QueryRowContext(ctx, x.s.q.refreshUse, key(id), nowUS).Scan(&fam, &user, &issued, &exp, &fexp)
		if err == nil {
			t.FamilyID, t.UserID = string(fam), string(user)
			t.IssuedAt, t.Expiry, t.FamilyExpiry = fromMicros(issued), time.UnixMicro(exp), fromMicros(fexp)
			return t, true, nil // UsedAt was zero: this call won
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return jwt.RefreshToken{}, false, wrap("refresh use", err)
		}
		// Missing, expired, revoked, or already used: find out which.
		var used sql.NullInt64
		err = x.s.db.QueryRowContext(ctx, x.s.q.refreshPeek, key(id), nowUS).Scan(&fam, &user, &issued, &exp, &fexp, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return jwt.RefreshToken{}, false, nil
		}
		if err != nil {
			return jwt.RefreshToken{}, false, wrap("refresh use", err)
		}
		if !used.Valid {
			// Unused yet the UPDATE did not match: only possible if the row
			// was replaced in between (Create with the same ID). Retry.
			continue
		}
		t.FamilyID, t.UserID = string(fam), string(user)
		t.IssuedAt, t.Expiry, t.FamilyExpiry = fromMicros(issued), time.UnixMicro(exp), fromMicros(fexp)
		t.UsedAt = fromMicros(used)
		return t, true, nil
	}
	return jwt.RefreshToken{}, false, wrap("refresh use", errors.New("token changed concurrently"))
}

// RevokeFamily implements [jwt.RefreshStore] by writing the family's
// tombstone (one statement; revoking an unknown family writes one too).
func (x *RefreshTokens) RevokeFamily(ctx context.Context, familyID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	_, err := x.s.db.ExecContext(ctx, x.s.q.refreshRevokeFamily, key(familyID), x.s.now().Add(x.s.retention).UnixMicro())
	return wrap("refresh revoke family", err)
}

// RevokeUser implements [jwt.RefreshStore]: one statement writes a
// tombstone for every family the user has tokens in at the time of the
// call. Families created later are unaffected.
func (x *RefreshTokens) RevokeUser(ctx context.Context, userID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	_, err := x.s.db.ExecContext(ctx, x.s.q.refreshRevokeUser, key(userID), x.s.now().Add(x.s.retention).UnixMicro())
	return wrap("refresh revoke user", err)
}

// NotBefore is the SQL [jwt.NotBeforeStore]: one upsert whose conflict
// clause only ever moves the time forward.
type NotBefore struct{ s *Store }

var _ jwt.NotBeforeStore = (*NotBefore)(nil)

// NotBefore returns the [jwt.NotBeforeStore] adapter.
func (s *Store) NotBefore() *NotBefore { return &NotBefore{s} }

// SetNotBefore implements [jwt.NotBeforeStore]; the later time wins, also
// among concurrent writers (ASVS 7.4.1).
func (x *NotBefore) SetNotBefore(ctx context.Context, userID string, t time.Time) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	_, err := x.s.db.ExecContext(ctx, x.s.q.notBeforeSet, key(userID), t.UnixMicro())
	return wrap("set not-before", err)
}

// NotBefore implements [jwt.NotBeforeStore].
func (x *NotBefore) NotBefore(ctx context.Context, userID string) (time.Time, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	var us int64
	err := x.s.db.QueryRowContext(ctx, x.s.q.notBeforeGet, key(userID)).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrap("not-before", err)
	}
	return time.UnixMicro(us), true, nil
}
