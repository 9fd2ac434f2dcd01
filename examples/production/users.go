package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authkit-go/authkit"
)

// Users is the host application's own account table, a plain PostgreSQL
// "users" table that authkit reaches only through the authkit.UserStore and
// authkit.UserUpdater methods below. The application may add columns of
// its own; authkit needs these.
type Users struct{ db *pgxpool.Pool }

// UsersSchema is the table the host's migrations create.
const UsersSchema = `CREATE TABLE IF NOT EXISTS users (
	id             text PRIMARY KEY,
	email          text NOT NULL UNIQUE,
	email_verified boolean NOT NULL DEFAULT false,
	password_hash  text NOT NULL DEFAULT '',
	roles          text[] NOT NULL DEFAULT '{}',
	disabled       boolean NOT NULL DEFAULT false,
	mfa_enabled    boolean NOT NULL DEFAULT false,
	created_at     timestamptz NOT NULL DEFAULT now()
)`

const userCols = `id, email, email_verified, password_hash, roles, disabled, mfa_enabled, created_at`

var (
	_ authkit.UserStore   = (*Users)(nil)
	_ authkit.UserUpdater = (*Users)(nil)
)

// NewUsers returns the store over db's users table ([UsersSchema]; the
// host's migrations create it).
func NewUsers(db *pgxpool.Pool) *Users { return &Users{db} }

// OpenUsers is [NewUsers] after checking that the database answers and its
// users table has every column authkit reads, so that start-up fails with
// the cause rather than the first login.
func OpenUsers(ctx context.Context, db *pgxpool.Pool) (*Users, error) {
	rows, err := db.Query(ctx, `SELECT `+userCols+` FROM users LIMIT 0`)
	if err == nil {
		rows.Close()
		err = rows.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("users table: %w", err)
	}
	return NewUsers(db), nil
}

func scanUser(row pgx.Row) (authkit.User, bool, error) {
	var u authkit.User
	err := row.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.PasswordHash, &u.Roles, &u.Disabled, &u.MFAEnabled, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return authkit.User{}, false, nil
	}
	if err != nil {
		return authkit.User{}, false, fmt.Errorf("users: %w", err)
	}
	return u, true, nil
}

// UserByLogin implements authkit.UserStore.
func (s *Users) UserByLogin(ctx context.Context, login string) (authkit.User, bool, error) {
	return scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE email = $1`, login))
}

// UserByID implements authkit.UserStore.
func (s *Users) UserByID(ctx context.Context, id string) (authkit.User, bool, error) {
	return scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
}

// roles never writes NULL for a nil slice.
func roles(r []string) []string {
	if r == nil {
		return []string{}
	}
	return r
}

// CreateUser implements authkit.UserStore: the unique index on email makes
// the taken check part of the insert.
func (s *Users) CreateUser(ctx context.Context, u authkit.User) error {
	tag, err := s.db.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (email) DO NOTHING`,
		u.ID, u.Email, u.EmailVerified, u.PasswordHash, roles(u.Roles), u.Disabled, u.MFAEnabled, u.CreatedAt)
	if err != nil {
		return fmt.Errorf("users: create: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return authkit.ErrLoginTaken
	}
	return nil
}

// SetPasswordHash implements authkit.UserStore.
func (s *Users) SetPasswordHash(ctx context.Context, userID, hash string) error {
	tag, err := s.db.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("no user %q", userID)
	}
	if err != nil {
		return fmt.Errorf("users: set password hash: %w", err)
	}
	return nil
}

// UpdateUser implements authkit.UserUpdater: the row is locked (SELECT …
// FOR UPDATE) for the read-modify-write, so concurrent updates (a role
// grant, MFA turned on, the account disabled) never lose each other.
func (s *Users) UpdateUser(ctx context.Context, userID string, fn func(*authkit.User)) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		u, found, err := scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1 FOR UPDATE`, userID))
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("no user %q", userID)
		}
		fn(&u)
		if u.ID != userID {
			return errors.New("the user ID cannot change")
		}
		_, err = tx.Exec(ctx, `UPDATE users SET email_verified = $2, password_hash = $3, roles = $4, disabled = $5,
			mfa_enabled = $6 WHERE id = $1`, userID, u.EmailVerified, u.PasswordHash, roles(u.Roles), u.Disabled, u.MFAEnabled)
		return err
	})
	if err != nil {
		return fmt.Errorf("users: update: %w", err)
	}
	return nil
}
