package session

import (
	"context"
	"time"
)

// Record is what a [Store] keeps for one session, keyed by the session id.
//
// The raw secret half of the token never reaches the store: SecretHash holds
// its SHA-256 digest, which the [Manager] compares in constant time, so a
// leaked store yields no usable session (OWASP Session Management Cheat Sheet,
// "Session ID Content"; ASVS 5.0 7.2.3).
type Record struct {
	// UserID is the authenticated (or MFA-pending) user, or "" for an
	// anonymous session. Stores index non-empty UserIDs so that
	// [Store.ListUser] and [Store.DeleteUser] cost O(that user's sessions).
	UserID string
	// SecretHash is the SHA-256 digest of the secret part of the token.
	SecretHash []byte
	// Data is the encoded session values: opaque, binary bytes.
	Data []byte
	// CreatedAt is when the session (this id) was created.
	CreatedAt time.Time
	// LastSeen is when the session was last used; the Manager writes it at
	// most about once per [Config.TouchInterval].
	LastSeen time.Time
	// IdleExpiry is when the session expires unless it is used again
	// (sliding, never later than AbsoluteExpiry).
	IdleExpiry time.Time
	// AbsoluteExpiry is the hard end of the session; renewal never moves it
	// (NIST SP 800-63B §7.2, ASVS 5.0 7.3.2).
	AbsoluteExpiry time.Time
	// IP and UserAgent describe the client that created or last touched the
	// session, for a "your devices" page (ASVS 5.0 7.5.2).
	IP, UserAgent string
}

// Expiry returns the earlier of r.IdleExpiry and r.AbsoluteExpiry: the
// instant from which a [Store] must treat the record as missing.
func (r Record) Expiry() time.Time {
	if r.AbsoluteExpiry.Before(r.IdleExpiry) {
		return r.AbsoluteExpiry
	}
	return r.IdleExpiry
}

// Store persists session records. Implementations must be safe for
// concurrent use. The conformance suite in package
// [github.com/authkit-go/authkit/session/sessiontest] checks this contract.
//
// Contract:
//   - Ids and user ids are opaque strings stored literally: characters such
//     as '*', '%', ':', '_', '\\' and quotes have no special meaning.
//   - A record whose [Record.Expiry] is not after the store's current time is
//     missing: Find returns found=false, ListUser omits it. A store may drop
//     it at any time after that (Redis TTL, SQL sweep, lazy purge). Saving
//     a record that is already expired returns nil and leaves id missing
//     (Redis rejects a negative PX: delete the key instead).
//   - Times must survive a round trip to within one second (stores with
//     whole-second precision are allowed); Data and SecretHash are binary
//     bytes that must round-trip exactly (NUL bytes, invalid UTF-8, at least
//     1 MiB of Data).
//   - A store never keeps a reference to the caller's slices, and the
//     caller may not modify slices returned by Find or ListUser.
//   - err is for system failure only (unreachable server, cancelled ctx, in
//     which case errors.Is(err, ctx.Err()) holds). Callers fail closed on err:
//     a Find error never means "anonymous".
type Store interface {
	// Find returns the live record for id; found=false if it is missing or
	// expired.
	Find(ctx context.Context, id string) (rec Record, found bool, err error)
	// Save inserts or replaces the record for id and updates the per-user
	// index (including moving the id from a previous UserID).
	Save(ctx context.Context, id string, rec Record) error
	// Delete removes id. Deleting a missing id returns nil.
	Delete(ctx context.Context, id string) error
	// ListUser returns the live records of userID keyed by id, in
	// O(that user's sessions). No sessions gives an empty map and nil error.
	ListUser(ctx context.Context, userID string) (map[string]Record, error)
	// DeleteUser removes every record of userID and no other ("log out
	// everywhere", ASVS 5.0 7.4.2, 7.4.5).
	DeleteUser(ctx context.Context, userID string) error
}
