package oauth

import (
	"context"
	"fmt"
	"strings"
)

// IdentityStore is implemented by the host application over its user
// table, so that [Linker] can map provider identities to local accounts.
// Methods report system failures only through err; not found is
// found=false with a nil error.
type IdentityStore interface {
	// UserByIdentity returns the local user already linked to
	// (issuer, subject).
	UserByIdentity(ctx context.Context, issuer, subject string) (userID string, found bool, err error)

	// UserByEmail returns the local account using email (compared as the
	// host normally compares emails, e.g. case-insensitively) and whether
	// that account proved it controls the address.
	UserByEmail(ctx context.Context, email string) (userID string, emailVerified bool, found bool, err error)

	// LinkIdentity records that (id.Issuer, id.Subject) signs in as userID.
	LinkIdentity(ctx context.Context, userID string, id Identity) error

	// CreateUser creates a local account for id and links id to it, in one
	// step as far as the store allows (a unique (issuer, subject) index
	// resolves concurrent first sign-ins).
	CreateUser(ctx context.Context, id Identity) (userID string, err error)
}

// Outcome says how [Linker.Resolve] found the local user.
type Outcome int

// Outcomes of [Linker.Resolve].
const (
	// Existing: the identity was already linked.
	Existing Outcome = iota + 1
	// Linked: the identity was linked to an existing account by verified email.
	Linked
	// Created: a new account was created for the identity.
	Created
)

// Linker resolves a signed-in [Identity] to a local user, linking by email
// only when that is safe.
//
// Linking a provider identity to an existing local account because the
// emails match is an account takeover vector unless BOTH sides proved
// control of the address: if the provider's email is unverified, anyone can
// claim the victim's address at the provider; if the local account's email
// is unverified, an attacker may have pre-registered the victim's address
// locally and would share the account once the victim signs in with the
// provider (pre-hijacking; the ZITADEL and go-pkgz/auth advisories). So
// Resolve links only when both are verified and otherwise returns
// [ErrAccountExists]; the user can sign in the old way and link from
// their settings.
type Linker struct {
	Store IdentityStore
}

// Resolve returns the local user for id: the linked one, else an existing
// account with the same email when both the provider and the local account
// have verified it, else a new account. A local account with the same
// email that cannot be linked safely gives [ErrAccountExists].
func (l *Linker) Resolve(ctx context.Context, id Identity) (userID string, outcome Outcome, err error) {
	if l.Store == nil {
		return "", 0, fmt.Errorf("%w: Linker.Store is required", ErrInvalidConfig)
	}
	if id.Issuer == "" || id.Subject == "" {
		return "", 0, fmt.Errorf("%w: identity without issuer or subject", ErrUserInfo)
	}
	uid, found, err := l.Store.UserByIdentity(ctx, id.Issuer, id.Subject)
	if err != nil {
		return "", 0, fmt.Errorf("oauth: looking up identity: %w", err)
	}
	if found {
		return uid, Existing, nil
	}
	if email := strings.TrimSpace(id.Email); email != "" {
		uid, localVerified, found, err := l.Store.UserByEmail(ctx, email)
		if err != nil {
			return "", 0, fmt.Errorf("oauth: looking up email: %w", err)
		}
		if found {
			if !id.EmailVerified || !localVerified {
				return "", 0, ErrAccountExists
			}
			if err := l.Store.LinkIdentity(ctx, uid, id); err != nil {
				return "", 0, fmt.Errorf("oauth: linking identity: %w", err)
			}
			return uid, Linked, nil
		}
	}
	uid, err = l.Store.CreateUser(ctx, id)
	if err != nil {
		return "", 0, fmt.Errorf("oauth: creating user: %w", err)
	}
	return uid, Created, nil
}
