package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/authkit-go/authkit"
)

// Users is the SQL [authkit.UserStore] over the <prefix>users table: id
// (primary key), email (unique index: the canonical login name),
// email_verified, password_hash, roles (a JSON array), disabled, created_at
// and mfa_enabled (User.MFAEnabled, which the login flow sets and clears
// through [Users.UpdateUser]: kept durably, so an MFA enrollment lost from
// the MFA store makes the account's password login fail closed). The unique
// index makes the login-taken check atomic with the
// insert.
type Users struct{ s *Store }

var (
	_ authkit.UserStore   = (*Users)(nil)
	_ authkit.UserUpdater = (*Users)(nil)
)

// Users returns the [authkit.UserStore] adapter.
func (s *Store) Users() *Users { return &Users{s} }

const userCols = `id, email, email_verified, password_hash, roles, disabled, created_at, mfa_enabled`

func scanUser(sc interface{ Scan(...any) error }) (authkit.User, error) {
	var u authkit.User
	var roles string
	var created sql.NullInt64
	if err := sc.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.PasswordHash, &roles, &u.Disabled, &created, &u.MFAEnabled); err != nil {
		return authkit.User{}, err
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return authkit.User{}, fmt.Errorf("roles column: %w", err)
	}
	u.CreatedAt = fromMicros(created)
	return u, nil
}

func encodeRoles(roles []string) (string, error) {
	if roles == nil {
		roles = []string{}
	}
	b, err := json.Marshal(roles)
	return string(b), err
}

func (x *Users) get(ctx context.Context, op, q, arg string) (authkit.User, bool, error) {
	u, err := scanUser(x.s.db.QueryRowContext(ctx, q, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.User{}, false, nil
	}
	if err != nil {
		return authkit.User{}, false, wrap(op, err)
	}
	return u, true, nil
}

// UserByLogin implements [authkit.UserStore]; login is matched exactly
// (the flow passes [authkit.CanonicalLogin] forms).
func (x *Users) UserByLogin(ctx context.Context, login string) (authkit.User, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	return x.get(ctx, "user by login", x.s.q.userByLogin, login)
}

// UserByID implements [authkit.UserStore].
func (x *Users) UserByID(ctx context.Context, id string) (authkit.User, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	return x.get(ctx, "user by id", x.s.q.userByID, id)
}

// CreateUser implements [authkit.UserStore]. The insert and the uniqueness
// check are one statement (INSERT … ON CONFLICT DO NOTHING against the
// unique email index and the id primary key); when it inserts nothing,
// CreateUser returns [authkit.ErrLoginTaken] if the email is registered,
// and another error if only the id is.
func (x *Users) CreateUser(ctx context.Context, u authkit.User) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	if u.ID == "" {
		return errors.New("sqlstore: create user: ID is empty")
	}
	roles, err := encodeRoles(u.Roles)
	if err != nil {
		return wrap("create user", err)
	}
	res, err := x.s.db.ExecContext(ctx, x.s.q.userCreate, u.ID, u.Email, u.EmailVerified, u.PasswordHash, roles, u.Disabled, micros(u.CreatedAt), u.MFAEnabled)
	if err != nil {
		return wrap("create user", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("create user", err)
	}
	if n == 1 {
		return nil
	}
	var one int
	err = x.s.db.QueryRowContext(ctx, x.s.q.userEmailTaken, u.Email).Scan(&one)
	switch {
	case err == nil:
		return authkit.ErrLoginTaken
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: create user: ID %q already exists", u.ID)
	default:
		return wrap("create user", err)
	}
}

// SetPasswordHash implements [authkit.UserStore]. An unknown user id gives
// an error matching [ErrNotFound].
func (x *Users) SetPasswordHash(ctx context.Context, userID, hash string) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	res, err := x.s.db.ExecContext(ctx, x.s.q.userSetHash, userID, hash)
	if err != nil {
		return wrap("set password hash", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("set password hash", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: set password hash: user %q: %w", userID, ErrNotFound)
	}
	return nil
}

// UpdateUser applies fn to the stored user in one transaction (the row is
// locked with SELECT … FOR UPDATE on PostgreSQL, the database with BEGIN
// IMMEDIATE on SQLite), so concurrent updates never lose each other's
// changes (roles, email verification, disabling, the MFA flag). fn must not change ID or
// Email; such changes are rejected. An unknown id gives an error matching
// [ErrNotFound].
func (x *Users) UpdateUser(ctx context.Context, userID string, fn func(*authkit.User)) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	err := x.s.inTx(ctx, func(q querier) error {
		u, err := scanUser(q.QueryRowContext(ctx, x.s.q.userLock, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %q: %w", userID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		next := u
		next.Roles = slices.Clone(u.Roles)
		fn(&next)
		if next.ID != u.ID || next.Email != u.Email {
			return errors.New("UpdateUser cannot change ID or Email")
		}
		roles, err := encodeRoles(next.Roles)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, x.s.q.userUpdate, userID, next.EmailVerified, next.PasswordHash, roles, next.Disabled, micros(next.CreatedAt), next.MFAEnabled)
		return err
	})
	return wrap("update user", err)
}

// Len returns the number of users.
func (x *Users) Len(ctx context.Context) (int, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	var n int64
	if err := x.s.db.QueryRowContext(ctx, x.s.q.userCount).Scan(&n); err != nil {
		return 0, wrap("count users", err)
	}
	return int(n), nil
}
