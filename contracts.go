package authkit

import (
	"context"
	"errors"
	"time"
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
	// (oauth package).
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
	// MFAEnabled records that the user has a confirmed second factor. The
	// flow sets and clears it through [UserUpdater] when MFA is confirmed
	// or disabled, and a store must keep it durably: while it is set, a
	// password login whose MFA enrollment is missing from the MFA store is
	// refused ([ErrMFAStateLost]), never let through on the password alone.
	MFAEnabled bool
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

// UserUpdater is implemented by user stores that can change an account in
// place (memstore.Users and sqlstore.Users do). It is needed for email
// verification and [Auth.DisableUser].
type UserUpdater interface {
	// UpdateUser applies fn to the stored user atomically; fn must not
	// change ID or Email.
	UpdateUser(ctx context.Context, userID string, fn func(*User)) error
}

// AttemptStore counts failures per key within a fixed window (lockout, per-IP failure budgets).
//
// The login flow keys it by canonical login name and by client IP (NIST SP
// 800-63B section 5.2.2; ASVS 6.1.1, 6.3.1) and relies on Incr being atomic:
// N concurrent Incr calls on one key return the counts 1..N, each exactly once
// (ASVS 15.4.2). Keys are opaque strings; characters such as
// '*', '%', ':' or quotes have no special meaning. err is for system failure
// only and callers fail closed on it. Times are compared with a tolerance of
// one second, so stores keeping whole seconds conform; but every Incr and
// Count within one window must report the same window end to the second
// (the stored end, not one recomputed from a remaining TTL), since the
// lockout keys the per-IP refunds of a window by it. The mfa package
// declares an identical AttemptCounter, so one implementation serves both.
// authkittest.RunAttemptStore checks implementations.
type AttemptStore interface {
	// Incr adds one failure for key and returns the count within the current window and when the window ends.
	// The window starts with the first Incr on an absent or expired key and is not extended by later Incr calls.
	Incr(ctx context.Context, key string, window time.Duration) (n int, windowEnd time.Time, err error)
	// Count returns the current count and window end without changing them (0, zero time if absent/expired).
	Count(ctx context.Context, key string) (n int, windowEnd time.Time, err error)
	// Reset removes the key; resetting an absent key is not an error.
	Reset(ctx context.Context, key string) error
}

// TicketStore keeps single-use records that expire, namespaced by purpose.
//
// The purposes in use are "password_reset" and "verify_email" (this
// package: reset and verification links, [PurposePasswordReset],
// [PurposeVerifyEmail]), "oauth_state" (package oauth: pending
// authorization transactions), "mfa_challenge" (package mfa: logins waiting
// for a second factor) and the passkey package's ceremony purposes. Each
// user of the store encodes its own record into data; keys are already
// hashes of the secrets they stand for, so a leaked store yields none of
// them. The leaf packages declare the same method set as their own
// consumer-side interface, so one implementation serves them all.
//
// Purposes and keys are opaque strings: characters such as ':', '{', '%',
// '*' or quotes have no special meaning, and (purpose, key) pairs that
// differ in either part never meet. Implementations must be safe for
// concurrent use, keep data byte for byte, and return an error matching
// context.Canceled for a cancelled ctx. authkittest.RunTicketStore checks
// implementations; memstore, redisstore and sqlstore offer one as
// Tickets.
type TicketStore interface {
	// Put stores data under (purpose, key) until expiry, replacing any record there.
	// A record whose expiry has passed is never returned.
	Put(ctx context.Context, purpose, key string, data []byte, expiry time.Time) error
	// Take returns the record and deletes it in one atomic step: of concurrent Takes at
	// most one finds it. found=false for missing or expired; err only for system failures.
	Take(ctx context.Context, purpose, key string) (data []byte, found bool, err error)
}
