package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // pure-Go SQLite driver "sqlite"
)

// sqlAccounts is the example's user table over database/sql: what a host
// application writes to plug its own users into authkit (examples/README.md,
// "Your own UserStore"). authkit never sees the table, only authkit.User
// values through the UserStore methods. It is an authkit.UserUpdater, so
// the login flow keeps User.MFAEnabled in the mfa_enabled column: an
// account whose MFA enrollment goes missing is refused at login instead of
// signing in on its password alone.
type sqlAccounts struct {
	db      *sql.DB
	dialect string // "sqlite" or "postgres"
}

var accountsSchema = []string{
	`CREATE TABLE IF NOT EXISTS example_users (
		id             TEXT PRIMARY KEY,
		email          TEXT NOT NULL UNIQUE,
		email_verified BOOLEAN NOT NULL DEFAULT FALSE,
		password_hash  TEXT NOT NULL DEFAULT '',
		roles          TEXT NOT NULL DEFAULT '',
		disabled       BOOLEAN NOT NULL DEFAULT FALSE,
		created_at     BIGINT NOT NULL,
		mfa_enabled    BOOLEAN NOT NULL DEFAULT FALSE
	)`,
	`CREATE TABLE IF NOT EXISTS example_identities (
		issuer  TEXT NOT NULL,
		subject TEXT NOT NULL,
		user_id TEXT NOT NULL REFERENCES example_users (id),
		PRIMARY KEY (issuer, subject)
	)`,
}

// openSQLAccounts opens (and creates) the user table. kind is "sqlite" (dsn
// is a file path) or "postgres" (dsn is a connection URL).
func openSQLAccounts(ctx context.Context, kind, dsn string) (accountStore, error) {
	var db *sql.DB
	var err error
	switch kind {
	case "sqlite":
		db, err = sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate")
	case "postgres":
		db, err = sql.Open("pgx", dsn)
	default:
		return nil, fmt.Errorf("unknown SQL kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	s := &sqlAccounts{db: db, dialect: kind}
	for _, q := range accountsSchema {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("-users %s: creating the user table: %w", kind, err)
		}
	}
	// Tables created before the mfa_enabled column get it here.
	if _, err := db.ExecContext(ctx, `SELECT mfa_enabled FROM example_users LIMIT 0`); err != nil {
		if _, err := db.ExecContext(ctx, `ALTER TABLE example_users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE`); err != nil {
			db.Close()
			return nil, fmt.Errorf("-users %s: adding mfa_enabled: %w", kind, err)
		}
	}
	return s, nil
}

var placeholderRE = regexp.MustCompile(`\$(\d+)`)

// q adapts $1-style placeholders to SQLite's ?1.
func (s *sqlAccounts) q(query string) string {
	if s.dialect == "sqlite" {
		return placeholderRE.ReplaceAllString(query, "?$1")
	}
	return query
}

// encodeRoles keeps roles as a JSON array, so a role may hold any
// character (a comma included); no roles is the empty string.
func encodeRoles(roles []string) string {
	if len(roles) == 0 {
		return ""
	}
	b, _ := json.Marshal(roles) // a []string always marshals
	return string(b)
}

// decodeRoles reads encodeRoles' form, and the comma-separated list that
// tables written before it hold.
func decodeRoles(s string) []string {
	var roles []string
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &roles) == nil {
		return roles
	}
	return strings.Split(s, ",")
}

const userColumns = `id, email, email_verified, password_hash, roles, disabled, created_at, mfa_enabled`

func scanUser(row interface{ Scan(...any) error }) (authkit.User, bool, error) {
	var u authkit.User
	var roles string
	var created int64
	err := row.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.PasswordHash, &roles, &u.Disabled, &created, &u.MFAEnabled)
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.User{}, false, nil
	}
	if err != nil {
		return authkit.User{}, false, err
	}
	if roles != "" {
		u.Roles = decodeRoles(roles)
	}
	u.CreatedAt = time.UnixMicro(created).UTC()
	return u, true, nil
}

// UserByLogin implements authkit.UserStore.
func (s *sqlAccounts) UserByLogin(ctx context.Context, login string) (authkit.User, bool, error) {
	return scanUser(s.db.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM example_users WHERE email = $1`), login))
}

// UserByID implements authkit.UserStore.
func (s *sqlAccounts) UserByID(ctx context.Context, id string) (authkit.User, bool, error) {
	return scanUser(s.db.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM example_users WHERE id = $1`), id))
}

// CreateUser implements authkit.UserStore; the UNIQUE index on email makes
// the duplicate check atomic with the insert.
func (s *sqlAccounts) CreateUser(ctx context.Context, u authkit.User) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO example_users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
		u.ID, u.Email, u.EmailVerified, u.PasswordHash, encodeRoles(u.Roles), u.Disabled, u.CreatedAt.UnixMicro(), u.MFAEnabled)
	if isUniqueViolation(err) {
		return fmt.Errorf("creating user: %w", authkit.ErrLoginTaken)
	}
	return err
}

// SetPasswordHash implements authkit.UserStore.
func (s *sqlAccounts) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return s.exec1(ctx, `UPDATE example_users SET password_hash = $1 WHERE id = $2`, hash, userID)
}

// UpdateUser implements authkit.UserUpdater: fn changes the user read in
// the same transaction (the row is locked with SELECT … FOR UPDATE on
// PostgreSQL; SQLite transactions take the write lock at BEGIN, see
// _txlock in openSQLAccounts), so concurrent updates do not lose each
// other's changes. fn must not change ID or Email.
func (s *sqlAccounts) UpdateUser(ctx context.Context, userID string, fn func(*authkit.User)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	lock := ""
	if s.dialect == "postgres" {
		lock = " FOR UPDATE"
	}
	u, found, err := scanUser(tx.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM example_users WHERE id = $1`+lock), userID))
	if err != nil {
		return err
	}
	if !found {
		return errors.New("no such user")
	}
	next := u
	next.Roles = append([]string(nil), u.Roles...)
	fn(&next)
	if next.ID != u.ID || next.Email != u.Email {
		return errors.New("UpdateUser cannot change ID or Email")
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE example_users SET email_verified = $2, password_hash = $3, roles = $4,
		disabled = $5, mfa_enabled = $6 WHERE id = $1`),
		userID, next.EmailVerified, next.PasswordHash, encodeRoles(next.Roles), next.Disabled, next.MFAEnabled); err != nil {
		return err
	}
	return tx.Commit()
}

var _ authkit.UserUpdater = (*sqlAccounts)(nil)

// SetEmail changes the login name and marks it unverified; the UNIQUE index
// on email makes the taken check atomic with the update.
func (s *sqlAccounts) SetEmail(ctx context.Context, userID, login string) error {
	err := s.exec1(ctx, `UPDATE example_users SET email = $1, email_verified = FALSE WHERE id = $2`, login, userID)
	if isUniqueViolation(err) {
		return fmt.Errorf("changing email: %w", authkit.ErrLoginTaken)
	}
	return err
}

// SetEmailVerified marks the user's email as verified.
func (s *sqlAccounts) SetEmailVerified(ctx context.Context, userID string) error {
	return s.exec1(ctx, `UPDATE example_users SET email_verified = TRUE WHERE id = $1`, userID)
}

func (s *sqlAccounts) exec1(ctx context.Context, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n != 1 {
		return errors.New("no such user")
	}
	return nil
}

// CountUsers returns the number of accounts.
func (s *sqlAccounts) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM example_users`).Scan(&n)
	return n, err
}

// UserByIdentity returns the user linked to (issuer, subject).
func (s *sqlAccounts) UserByIdentity(ctx context.Context, issuer, subject string) (string, bool, error) {
	var id string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT user_id FROM example_identities WHERE issuer = $1 AND subject = $2`), issuer, subject).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return id, err == nil, err
}

// LinkIdentity links (issuer, subject) to userID.
func (s *sqlAccounts) LinkIdentity(ctx context.Context, userID, issuer, subject string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO example_identities (issuer, subject, user_id) VALUES ($1, $2, $3)`), issuer, subject, userID)
	if isUniqueViolation(err) {
		return errors.New("identity already linked")
	}
	return err
}

// Close closes the database.
func (s *sqlAccounts) Close() error { return s.db.Close() }

func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}
