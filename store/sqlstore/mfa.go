package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/authkit-go/authkit/mfa"
)

// MFA is the SQL [mfa.Store]: enrollments (sealed secrets as opaque bytes,
// a version for compare-and-set) and backup-code MACs, one row per code.
type MFA struct{ s *Store }

var _ mfa.Store = (*MFA)(nil)

// MFA returns the [mfa.Store] adapter.
func (s *Store) MFA() *MFA { return &MFA{s} }

// Get implements [mfa.Store].
func (x *MFA) Get(ctx context.Context, userID string) (mfa.Enrollment, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	var e mfa.Enrollment
	var version, replaces int64
	var confirmed, pendingAt sql.NullInt64
	err := x.s.db.QueryRowContext(ctx, x.s.q.mfaGet, key(userID)).Scan(&version, &e.Secret, &confirmed, &e.Pending, &pendingAt, &replaces)
	if errors.Is(err, sql.ErrNoRows) {
		return mfa.Enrollment{}, false, nil
	}
	if err != nil {
		return mfa.Enrollment{}, false, wrap("mfa get", err)
	}
	e.Version, e.PendingReplaces = uint64(version), replaces == 1
	e.ConfirmedAt, e.PendingAt = fromMicros(confirmed), fromMicros(pendingAt)
	return e, true, nil
}

// Put implements [mfa.Store] in one transaction: an insert that does
// nothing when a row exists (prev 0) or an update of the row with version
// prev, then, if it wrote and codeMACs is non-empty, the old code rows are
// replaced. Versions are stored as their int64 bit pattern.
func (x *MFA) Put(ctx context.Context, userID string, prev uint64, e mfa.Enrollment, codeMACs [][]byte) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	if e.Version == 0 {
		return false, wrap("mfa put", errors.New("version 0"))
	}
	k := key(userID)
	replaces := int64(0)
	if e.PendingReplaces {
		replaces = 1
	}
	args := []any{k, int64(e.Version), e.Secret, micros(e.ConfirmedAt), e.Pending, micros(e.PendingAt), replaces}
	wrote := false
	err := x.s.inTx(ctx, func(q querier) error {
		stmt := x.s.q.mfaCreate
		if prev != 0 {
			stmt, args = x.s.q.mfaUpdate, append(args, int64(prev))
		}
		res, err := q.ExecContext(ctx, stmt, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n != 1 {
			return err
		}
		wrote = true
		if prev != 0 && len(codeMACs) == 0 {
			return nil
		}
		// A new enrollment starts from an empty set.
		if _, err := q.ExecContext(ctx, x.s.q.mfaDeleteCodes, k); err != nil {
			return err
		}
		for _, m := range codeMACs {
			if _, err := q.ExecContext(ctx, x.s.q.mfaInsertCode, k, blob(m)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, wrap("mfa put", err)
	}
	return wrote, nil
}

// Delete implements [mfa.Store]: the enrollment and every backup code go
// in one transaction. The enrollment row goes first, so on PostgreSQL a
// Delete and a Put take the row lock in the same order and serialize
// instead of deadlocking.
func (x *MFA) Delete(ctx context.Context, userID string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	k := key(userID)
	err := x.s.inTx(ctx, func(q querier) error {
		for _, stmt := range []string{x.s.q.mfaDeleteEnrollment, x.s.q.mfaDeleteCodes} {
			if _, err := q.ExecContext(ctx, stmt, k); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("mfa delete", err)
}

// UseBackupCode implements [mfa.Store] with a single DELETE: of concurrent
// calls with one code, exactly one deletes the row (ASVS 6.5.1).
func (x *MFA) UseBackupCode(ctx context.Context, userID string, codeMAC []byte) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	res, err := x.s.db.ExecContext(ctx, x.s.q.mfaUseCode, key(userID), blob(codeMAC))
	if err != nil {
		return false, wrap("mfa use backup code", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap("mfa use backup code", err)
	}
	return n == 1, nil
}

// TOTPReplay is the SQL [mfa.ReplayStore]: the last accepted time step per
// user, advanced by one atomic "insert, or update if greater or expired"
// statement (RFC 6238 §5.2).
type TOTPReplay struct{ s *Store }

var _ mfa.ReplayStore = (*TOTPReplay)(nil)

// TOTPReplay returns the [mfa.ReplayStore] adapter.
func (s *Store) TOTPReplay() *TOTPReplay { return &TOTPReplay{s} }

// Advance implements [mfa.ReplayStore]. Steps above [mfa.MaxStep] are
// rejected with an error.
func (x *TOTPReplay) Advance(ctx context.Context, userID string, step uint64, expiry time.Time) (bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	if step > mfa.MaxStep {
		return false, fmt.Errorf("sqlstore: totp advance: step %d exceeds mfa.MaxStep", step)
	}
	var got int64
	err := x.s.db.QueryRowContext(ctx, x.s.q.replayAdvance, key(userID), int64(step), expiry.UnixMicro(), x.s.nowMicros()).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // a live record with an equal or greater step: replay
	}
	if err != nil {
		return false, wrap("totp advance", err)
	}
	return true, nil
}
