package authkit

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

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

// Bounds of a login name, in bytes, after canonicalization (RFC 5321
// §4.5.3.1: 64 for the local part, 255 for the domain).
const (
	maxLocalLen  = 64
	maxDomainLen = 255
)

// domainProfile maps and validates the domain of a login name (UTS #46
// lookup mapping and validity, the IDNA2008 bidi rule, DNS label and name
// lengths, no ASCII other than letters, digits and hyphens).
var domainProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true),
	idna.StrictDomainName(true))

// CanonicalLogin returns the form of a login name that accounts, lockout
// counters and audit events are keyed by: surrounding space trimmed, Unicode
// NFKC-normalized and lower-cased, and the domain (after the last '@')
// IDNA-normalized to its Unicode form, so "Alice@Example.com ",
// "alice@example.com" and "alice@EXAMPLE.com", or "ann@xn--bcher-kva.example"
// and "ann@bücher.example", are one account and share one failure count.
//
// ok is false for a name that could pass for another one or that no mail
// system accepts: invalid UTF-8, U+FFFD, control, format (Unicode category
// Cf: zero-width and bidirectional marks), private-use or space characters
// inside the name, a local part (or a name without '@') over 64 bytes, a
// domain over 255 bytes, or a domain IDNA refuses (empty or over-long
// labels, ASCII other than letters, digits and hyphens, characters UTS #46
// disallows, invalid punycode). One trailing dot of the domain (the DNS
// root) is dropped. Look-alikes from other scripts (Cyrillic "а" for Latin
// "a") are not folded: they name other accounts, and a host that shows
// login names to other users should check them for confusables (UTS #39).
func CanonicalLogin(s string) (login string, ok bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	s = strings.ToLower(norm.NFKC.String(strings.TrimSpace(s)))
	if s == "" {
		return "", false
	}
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) ||
			unicode.In(r, unicode.Cf, unicode.Co, unicode.Z) {
			return "", false
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		if len(s) > maxLocalLen {
			return "", false
		}
		return s, true
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > maxLocalLen || len(domain) > maxDomainLen {
		return "", false
	}
	ascii, err := domainProfile.ToASCII(domain)
	// One trailing dot is the root label: "example.com." is "example.com".
	ascii = strings.TrimSuffix(ascii, ".")
	if err != nil || ascii == "" || strings.HasSuffix(ascii, ".") || len(ascii) > maxDomainLen {
		return "", false
	}
	uni, err := domainProfile.ToUnicode(ascii)
	if err != nil || len(uni) > maxDomainLen {
		return "", false
	}
	return local + "@" + uni, true
}
