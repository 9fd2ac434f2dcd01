package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/store/memstore"
)

// accountStore is what the example needs from its user table: authkit's
// UserStore plus a few host-side operations (the links between OpenID
// identities and local accounts, email verification, a count for the admin
// page). memAccounts implements it in memory and sqlAccounts over SQL; a host
// application implements the same over its own table.
type accountStore interface {
	authkit.UserStore
	// UpdateUser keeps User.MFAEnabled (and Disabled) durably; the login
	// flow needs it to fail closed when an MFA enrollment goes missing.
	authkit.UserUpdater
	// CountUsers returns the number of accounts (admin statistics).
	CountUsers(ctx context.Context) (int, error)
	// SetEmail changes the user's login name to the canonical login and
	// marks it unverified; authkit.ErrLoginTaken when another account has
	// it. (UpdateUser may not change Email.)
	SetEmail(ctx context.Context, userID, login string) error
	// SetEmailVerified records that the user proved control of the email.
	SetEmailVerified(ctx context.Context, userID string) error
	// UserByIdentity returns the local user linked to (issuer, subject).
	UserByIdentity(ctx context.Context, issuer, subject string) (userID string, found bool, err error)
	// LinkIdentity links (issuer, subject) to userID.
	LinkIdentity(ctx context.Context, userID, issuer, subject string) error
	// Close releases the store's resources.
	Close() error
}

// memAccounts is the in-memory accountStore: memstore.Users plus a map of
// identity links.
type memAccounts struct {
	*memstore.Users
	mu    sync.Mutex
	links map[[2]string]string
}

func newMemAccounts() (*memAccounts, error) {
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		return nil, err
	}
	return &memAccounts{Users: st.Users(), links: map[[2]string]string{}}, nil
}

func (m *memAccounts) CountUsers(context.Context) (int, error) { return m.Len(), nil }

func (m *memAccounts) SetEmailVerified(ctx context.Context, userID string) error {
	return m.UpdateUser(ctx, userID, func(u *authkit.User) { u.EmailVerified = true })
}

func (m *memAccounts) UserByIdentity(ctx context.Context, issuer, subject string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.links[[2]string{issuer, subject}]
	return id, ok, nil
}

func (m *memAccounts) LinkIdentity(ctx context.Context, userID, issuer, subject string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{issuer, subject}
	if cur, ok := m.links[k]; ok && cur != userID {
		return errors.New("identity already linked to another user")
	}
	m.links[k] = userID
	return nil
}

func (m *memAccounts) Close() error { return nil }

// newUserID returns a random opaque user id (128 bits).
func newUserID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "u_" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// identities adapts an accountStore to oauth.IdentityStore for oauth.Linker:
// provider identities are keyed by (issuer, subject), never by email; a new
// account gets the viewer role.
type identities struct {
	accounts accountStore
	now      func() time.Time
}

var _ oauth.IdentityStore = identities{}

func (s identities) UserByIdentity(ctx context.Context, issuer, subject string) (string, bool, error) {
	return s.accounts.UserByIdentity(ctx, issuer, subject)
}

func (s identities) UserByEmail(ctx context.Context, email string) (string, bool, bool, error) {
	login, ok := authkit.CanonicalLogin(email)
	if !ok {
		return "", false, false, nil
	}
	u, found, err := s.accounts.UserByLogin(ctx, login)
	if err != nil || !found {
		return "", false, false, err
	}
	return u.ID, u.EmailVerified, true, nil
}

func (s identities) LinkIdentity(ctx context.Context, userID string, id oauth.Identity) error {
	return s.accounts.LinkIdentity(ctx, userID, id.Issuer, id.Subject)
}

// placeholderDomain holds the login names of accounts whose provider did
// not verify an email: ".invalid" can never be a deliverable address
// (RFC 2606 §2), so no mail (reset, verification) reaches it.
const placeholderDomain = "unverified.invalid"

// CreateUser creates the local account for a first sign-in. Only an email
// the provider verified becomes the login name. Otherwise (unverified or
// absent) the account gets a placeholder login derived from its random id
// that no real address can collide with: the address's real owner can still
// sign up with it, and the two accounts never merge (account
// pre-hijacking).
func (s identities) CreateUser(ctx context.Context, id oauth.Identity) (string, error) {
	uid, err := newUserID()
	if err != nil {
		return "", err
	}
	login, ok := authkit.CanonicalLogin(id.Email)
	if !ok || !id.EmailVerified {
		login = strings.ToLower(uid) + "@" + placeholderDomain
	}
	u := authkit.User{
		ID: uid, Email: login, EmailVerified: ok && id.EmailVerified,
		Roles: []string{roleViewer}, CreatedAt: s.now(),
	}
	if err := s.accounts.CreateUser(ctx, u); err != nil {
		if errors.Is(err, authkit.ErrLoginTaken) {
			// Someone registered the address between Linker's lookup
			// and here: never link implicitly.
			return "", oauth.ErrAccountExists
		}
		return "", err
	}
	if err := s.accounts.LinkIdentity(ctx, uid, id.Issuer, id.Subject); err != nil {
		return "", err
	}
	return uid, nil
}
