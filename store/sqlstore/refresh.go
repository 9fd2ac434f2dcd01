package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// RefreshTokens is the SQL [jwt.RefreshStore]: refresh families
// (refresh_families: the sign-in facts and the revocation), their tokens
// (refresh_tokens) and the per-user not-before (not_before).
//
// Every method is one statement or one transaction:
//
//   - Create upserts the user's not_before row first (a row lock held to
//     the end of the transaction that returns the latest committed time), so
//     a concurrent SetNotBefore either commits before it, and Create sees
//     the later time and stores nothing, or waits for it, and the
//     RevokeUser that follows sees the new family.
//   - Rotate (and UpdateSignIn, which replaces the family's sign-in facts)
//     locks the token and its family (SELECT … FOR UPDATE on
//     PostgreSQL; the BEGIN IMMEDIATE write lock on SQLite), then marks the
//     token used and inserts the successor, or answers a retry, or revokes
//     the family, and commits: a terminated connection or a failed commit
//     leaves nothing half-done.
//
// The store epoch (refresh_epoch) starts at zero with the migration. If
// its row is missing (the tables were truncated), the next NotBefore,
// SetNotBefore or Rotate recreates it with the current time; NotBefore
// never returns an earlier time and Rotate refuses a family whose sign-in
// is earlier, so no access or refresh token issued before the loss is
// accepted. A database restored from a backup keeps the backup's epoch:
// after such a restore, delete the refresh_epoch row, so that every token
// issued before is refused.
type RefreshTokens struct {
	s *Store
	q refreshQueries
}

var _ jwt.RefreshStore = (*RefreshTokens)(nil)

type refreshQueries struct {
	nbLock, nbSet, nbGet, epochInit                               string
	familyInsert, familyRevoked, tokenInsert                      string
	load, markUsed, successor, revokeFamily, revokeToken, revUser string
	familySignIn                                                  string
}

// RefreshTokens returns the [jwt.RefreshStore] adapter.
func (s *Store) RefreshTokens() *RefreshTokens {
	r := s.render
	lock := " FOR UPDATE OF t, f"
	if s.dialect == SQLite {
		lock = "" // the transaction holds the database write lock
	}
	return &RefreshTokens{s: s, q: refreshQueries{
		nbLock: r(`INSERT INTO {T}not_before AS x (user_id, not_before) VALUES ($1, 0)
ON CONFLICT (user_id) DO UPDATE SET not_before = x.not_before RETURNING not_before`),
		nbSet: r(`INSERT INTO {T}not_before AS x (user_id, not_before) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET not_before = excluded.not_before WHERE x.not_before < excluded.not_before`),
		nbGet: r(`SELECT COALESCE((SELECT not_before FROM {T}not_before WHERE user_id = $1), 0),
	(SELECT epoch FROM {T}refresh_epoch WHERE id = 1)`),
		epochInit: r(`INSERT INTO {T}refresh_epoch (id, epoch) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`),
		familyInsert: r(`INSERT INTO {T}refresh_families (family_id, user_id, family_expiry, auth_time, amr, acr, mfa, revoked)
VALUES ($1, $2, $3, $4, $5, $6, $7, 0) ON CONFLICT (family_id) DO NOTHING`),
		familyRevoked: r(`SELECT revoked FROM {T}refresh_families WHERE family_id = $1`),
		tokenInsert: r(`INSERT INTO {T}refresh_tokens (id, family_id, user_id, issued_at, expiry, family_expiry, used_at, next_id, sealed)
VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL)
ON CONFLICT (id) DO UPDATE SET family_id = excluded.family_id, user_id = excluded.user_id, issued_at = excluded.issued_at,
	expiry = excluded.expiry, family_expiry = excluded.family_expiry, used_at = NULL, next_id = NULL, sealed = NULL`),
		load: r(`SELECT t.family_id, t.user_id, t.issued_at, t.expiry, t.used_at, t.next_id, t.sealed,
	f.family_expiry, f.auth_time, f.amr, f.acr, f.mfa, f.revoked
FROM {T}refresh_tokens AS t JOIN {T}refresh_families AS f ON f.family_id = t.family_id
WHERE t.id = $1` + lock),
		markUsed:     r(`UPDATE {T}refresh_tokens SET used_at = $2, next_id = $3, sealed = $4 WHERE id = $1`),
		successor:    r(`SELECT family_id, issued_at, expiry, used_at FROM {T}refresh_tokens WHERE id = $1`),
		revokeFamily: r(`UPDATE {T}refresh_families SET revoked = 1 WHERE family_id = $1`),
		revokeToken: r(`UPDATE {T}refresh_families SET revoked = 1
WHERE family_id IN (SELECT family_id FROM {T}refresh_tokens WHERE id = $1) RETURNING user_id`),
		revUser:      r(`UPDATE {T}refresh_families SET revoked = 1 WHERE user_id = $1 AND revoked = 0`),
		familySignIn: r(`UPDATE {T}refresh_families SET auth_time = $2, amr = $3, acr = $4, mfa = $5 WHERE family_id = $1`),
	}}
}

// NotBefore returns the same adapter as RefreshTokens, for configuration
// that names the [jwt.NotBeforeStore] part (a Verifier).
func (s *Store) NotBefore() *RefreshTokens { return s.RefreshTokens() }

// Create implements [jwt.RefreshStore] in one transaction.
func (x *RefreshTokens) Create(ctx context.Context, t jwt.RefreshToken) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	amr, err := json.Marshal(t.SignIn.AMR)
	if err != nil {
		return false, wrap("refresh create", err)
	}
	mfa := 0
	if t.SignIn.MFA {
		mfa = 1
	}
	created := false
	err = x.s.inTx(ctx, func(q querier) error {
		var nb int64
		if err := q.QueryRowContext(ctx, x.q.nbLock, key(t.UserID)).Scan(&nb); err != nil {
			return err
		}
		if nb > t.SignIn.AuthTime.UnixMicro() {
			return nil
		}
		created = true
		if _, err := q.ExecContext(ctx, x.q.familyInsert, key(t.FamilyID), key(t.UserID), t.FamilyExpiry.UnixMicro(),
			micros(t.SignIn.AuthTime), string(amr), t.SignIn.ACR, mfa); err != nil {
			return err
		}
		var revoked int64
		if err := q.QueryRowContext(ctx, x.q.familyRevoked, key(t.FamilyID)).Scan(&revoked); err != nil {
			return err
		}
		if revoked != 0 {
			return nil // created into a revoked family: dead from the start
		}
		_, err := q.ExecContext(ctx, x.q.tokenInsert, key(t.ID), key(t.FamilyID), key(t.UserID),
			micros(t.IssuedAt), t.Expiry.UnixMicro(), t.FamilyExpiry.UnixMicro())
		return err
	})
	if err != nil {
		return false, wrap("refresh create", err)
	}
	return created, nil
}

// Rotate implements [jwt.RefreshStore] in one transaction that locks the
// presented token and its family.
func (x *RefreshTokens) Rotate(ctx context.Context, r jwt.Rotation) (jwt.RotateResult, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	var res jwt.RotateResult
	now := r.Now.UnixMicro()
	err := x.s.inTx(ctx, func(q querier) error {
		res = jwt.RotateResult{}
		var fam, user, next, sealed []byte
		var issued, used, authTime sql.NullInt64
		var exp, fexp, mfa, revoked int64
		var amr, acr string
		err := q.QueryRowContext(ctx, x.q.load, key(r.ID)).Scan(&fam, &user, &issued, &exp, &used, &next, &sealed,
			&fexp, &authTime, &amr, &acr, &mfa, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if revoked != 0 || exp <= now || fexp <= now {
			return nil
		}
		// The user's not-before and the store epoch: a family whose sign-in
		// predates either is invalid. A missing epoch (deleted after a
		// restore, truncated) is recreated now, so it refuses every family
		// the store held before.
		var nb int64
		var epoch sql.NullInt64
		for range 2 {
			if err := q.QueryRowContext(ctx, x.q.nbGet, key(string(user))).Scan(&nb, &epoch); err != nil {
				return err
			}
			if epoch.Valid {
				break
			}
			if _, err := q.ExecContext(ctx, x.q.epochInit, x.s.nowMicros()); err != nil {
				return err
			}
		}
		if !epoch.Valid || max(nb, epoch.Int64) > authTime.Int64 {
			return nil
		}
		t := jwt.RefreshToken{FamilyID: string(fam), UserID: string(user), FamilyExpiry: time.UnixMicro(fexp),
			SignIn: jwt.SignIn{AuthTime: fromMicros(authTime), ACR: acr, MFA: mfa != 0}}
		if err := json.Unmarshal([]byte(amr), &t.SignIn.AMR); err != nil {
			return fmt.Errorf("corrupt amr: %w", err)
		}
		if !used.Valid {
			n := t
			n.ID, n.IssuedAt, n.Expiry = r.Next.ID, r.Next.IssuedAt, r.Next.Expiry
			if n.Expiry.After(n.FamilyExpiry) {
				n.Expiry = n.FamilyExpiry
			}
			if _, err := q.ExecContext(ctx, x.q.markUsed, key(r.ID), now, key(n.ID), blob(r.Sealed)); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, x.q.tokenInsert, key(n.ID), fam, user,
				micros(n.IssuedAt), n.Expiry.UnixMicro(), fexp); err != nil {
				return err
			}
			res = jwt.RotateResult{Outcome: jwt.Rotated, Token: n}
			return nil
		}
		if since := now - used.Int64; r.Grace > 0 && since < r.Grace.Microseconds() && since > -r.Grace.Microseconds() && next != nil {
			var nfam []byte
			var nissued, nused sql.NullInt64
			var nexp int64
			err := q.QueryRowContext(ctx, x.q.successor, next).Scan(&nfam, &nissued, &nexp, &nused)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err == nil && !nused.Valid && nexp > now && string(nfam) == string(fam) {
				n := t
				n.ID, n.IssuedAt, n.Expiry = string(next), fromMicros(nissued), time.UnixMicro(nexp)
				res = jwt.RotateResult{Outcome: jwt.RotateRetried, Token: n, Sealed: sealed}
				return nil
			}
		}
		if _, err := q.ExecContext(ctx, x.q.revokeFamily, fam); err != nil {
			return err
		}
		t.ID, t.IssuedAt, t.Expiry, t.UsedAt = r.ID, fromMicros(issued), time.UnixMicro(exp), fromMicros(used)
		res = jwt.RotateResult{Outcome: jwt.RotateReused, Token: t}
		return nil
	})
	if err != nil {
		return jwt.RotateResult{}, wrap("refresh rotate", err)
	}
	return res, nil
}

// UpdateSignIn implements [jwt.RefreshStore] in one transaction that locks
// the token and its family, as Rotate does.
func (x *RefreshTokens) UpdateSignIn(ctx context.Context, u jwt.SignInUpdate) (jwt.RefreshToken, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	amr, err := json.Marshal(u.SignIn.AMR)
	if err != nil {
		return jwt.RefreshToken{}, false, wrap("refresh update sign-in", err)
	}
	mfa := 0
	if u.SignIn.MFA {
		mfa = 1
	}
	now := u.Now.UnixMicro()
	var rec jwt.RefreshToken
	done := false
	err = x.s.inTx(ctx, func(q querier) error {
		done = false
		var fam, user, next, sealed []byte
		var issued, used, authTime sql.NullInt64
		var exp, fexp, fmfa, revoked int64
		var famr, facr string
		err := q.QueryRowContext(ctx, x.q.load, key(u.ID)).Scan(&fam, &user, &issued, &exp, &used, &next, &sealed,
			&fexp, &authTime, &famr, &facr, &fmfa, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if revoked != 0 || used.Valid || exp <= now || fexp <= now || string(user) != u.UserID {
			return nil
		}
		var nb int64
		if err := q.QueryRowContext(ctx, x.q.nbGet, key(u.UserID)).Scan(&nb, new(sql.NullInt64)); err != nil {
			return err
		}
		if nb > authTime.Int64 || nb > u.SignIn.AuthTime.UnixMicro() {
			return nil
		}
		if _, err := q.ExecContext(ctx, x.q.familySignIn, fam, micros(u.SignIn.AuthTime), string(amr), u.SignIn.ACR, mfa); err != nil {
			return err
		}
		rec = jwt.RefreshToken{ID: u.ID, FamilyID: string(fam), UserID: u.UserID, IssuedAt: fromMicros(issued),
			Expiry: time.UnixMicro(exp), FamilyExpiry: time.UnixMicro(fexp), SignIn: u.SignIn}
		done = true
		return nil
	})
	if err != nil {
		return jwt.RefreshToken{}, false, wrap("refresh update sign-in", err)
	}
	return rec, done, nil
}

// RevokeToken implements [jwt.RefreshStore] with one statement.
func (x *RefreshTokens) RevokeToken(ctx context.Context, id string) (string, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	var user []byte
	err := x.s.db.QueryRowContext(ctx, x.q.revokeToken, key(id)).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrap("refresh revoke", err)
	}
	return string(user), true, nil
}

// RevokeUser implements [jwt.RefreshStore] with one statement.
func (x *RefreshTokens) RevokeUser(ctx context.Context, userID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	_, err := x.s.db.ExecContext(ctx, x.q.revUser, key(userID))
	return wrap("refresh revoke user", err)
}

// SetNotBefore implements [jwt.NotBeforeStore]; the later time wins, also
// among concurrent writers (ASVS 7.4.1).
func (x *RefreshTokens) SetNotBefore(ctx context.Context, userID string, t time.Time) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	if _, err := x.s.db.ExecContext(ctx, x.q.epochInit, x.s.nowMicros()); err != nil {
		return wrap("set not-before", err)
	}
	_, err := x.s.db.ExecContext(ctx, x.q.nbSet, key(userID), t.UnixMicro())
	return wrap("set not-before", err)
}

// NotBefore implements [jwt.NotBeforeStore]: the later of the user's time
// and the store's epoch (always found); one query, two when the epoch has
// to be created.
func (x *RefreshTokens) NotBefore(ctx context.Context, userID string) (time.Time, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	for range 2 {
		var nb int64
		var epoch sql.NullInt64
		if err := x.s.db.QueryRowContext(ctx, x.q.nbGet, key(userID)).Scan(&nb, &epoch); err != nil {
			return time.Time{}, false, wrap("not-before", err)
		}
		if epoch.Valid {
			return time.UnixMicro(max(nb, epoch.Int64)), true, nil
		}
		if _, err := x.s.db.ExecContext(ctx, x.q.epochInit, x.s.nowMicros()); err != nil {
			return time.Time{}, false, wrap("not-before", err)
		}
	}
	return time.Time{}, false, wrap("not-before", errors.New("epoch missing after creation"))
}
