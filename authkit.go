package authkit

import (
	"context"
	"errors"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// User is the part of a host application's account record that the login
// flow needs. The host owns the table; authkit reads it through [UserStore].
type User struct {
	// ID is the stable, opaque user identifier: the subject of tokens and
	// sessions. It must never be reused for another account.
	ID string
	// Email is the login name, stored canonical (see [CanonicalLogin]).
	Email string
	// EmailVerified records that the user proved control of Email (a
	// verification link). OIDC account linking by email requires it
	// (DESIGN.md, oauth).
	EmailVerified bool
	// PasswordHash is a password.Hasher encoding (argon2id, or a bcrypt hash
	// imported for migration). Empty means the account has no password
	// (for example one created through OIDC sign-in): password login fails
	// for it exactly as for a wrong password.
	PasswordHash string
	// Roles are the user's global rbac roles.
	Roles []string
	// Disabled accounts cannot sign in; disabling ends their sessions and
	// tokens (ASVS 7.4.2).
	Disabled bool
	// CreatedAt is when the account was created.
	CreatedAt time.Time
}

// UserStore is implemented by the host application over its own user table.
//
// Reads return (u, found, err): found=false with a nil error means there is
// no such user; err is reserved for system failures, and the login flow
// fails closed on it. Implementations must be safe for concurrent use.
type UserStore interface {
	// UserByLogin finds a user by canonical login name (see
	// [CanonicalLogin]); the flow always passes the canonical form.
	UserByLogin(ctx context.Context, login string) (u User, found bool, err error)
	// UserByID finds a user by ID.
	UserByID(ctx context.Context, id string) (u User, found bool, err error)
	// CreateUser stores a new user. It returns an error satisfying
	// errors.Is(err, ErrLoginTaken) when the login name is already in use;
	// that check must be atomic with the insert (a unique index).
	CreateUser(ctx context.Context, u User) error
	// SetPasswordHash replaces a user's password hash: on password change,
	// and on login when the stored hash uses outdated parameters
	// (rehash-on-login).
	SetPasswordHash(ctx context.Context, userID, hash string) error
}

// ErrLoginTaken is returned by [UserStore.CreateUser] when the login name is
// already registered.
var ErrLoginTaken = errors.New("authkit: login already taken")

// maxLoginLen bounds a login name, in bytes, after canonicalization.
const maxLoginLen = 320 // RFC 5321: 64 (local) + 1 + 255 (domain)

// CanonicalLogin returns the form of a login name that accounts, lockout
// counters and audit events are keyed by: surrounding space trimmed, Unicode
// NFKC-normalized and lower-cased, so "Alice@Example.com " and
// "alice@example.com" are one account and share one failure count
// (DESIGN.md, lockout defaults). ok is false when the result is empty, longer
// than 320 bytes or contains control characters.
func CanonicalLogin(s string) (login string, ok bool) {
	s = strings.ToLower(norm.NFKC.String(strings.TrimSpace(s)))
	if s == "" || len(s) > maxLoginLen {
		return "", false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", false
		}
	}
	return s, true
}
