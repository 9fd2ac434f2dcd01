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
// Revocation is final. A record removed by Delete or DeleteUser is never
// written again by an operation that read it earlier: writes to an existing
// id are update-only ([Store.Update], [Store.Rotate]) and report found=false,
// writing nothing, when the id is no longer live. So a request that loaded
// a session before "log out everywhere", a password change, a disabled
// account or a device revoke, and saves after it, cannot bring the session
// back; the [Manager] then answers that request as unauthenticated.
//
// Contract:
//   - Ids and user ids are opaque strings stored literally: characters such
//     as '*', '%', ':', '_', '\\' and quotes have no special meaning.
//   - A record whose [Record.Expiry] is not after the store's current time is
//     missing: Find returns found=false, ListUser omits it, Update and Rotate
//     treat it as absent. A store may drop it at any time after that (Redis
//     TTL, SQL sweep, lazy purge). Writing a record that is already expired
//     leaves the id missing (Redis rejects a negative PX: delete instead).
//   - Update never moves a record to another user: if rec.UserID differs
//     from the stored one it writes nothing and reports found=false. A user
//     change is a new id ([Store.Rotate] or [Store.Create]).
//   - Linearizability: Update, Rotate, Delete and Create on one id are
//     atomic. DeleteUser is final against concurrent Update and Rotate on
//     that user's records: once it returns, no record of the user that
//     existed when it started, nor any id such a record was rotated into
//     by a Rotate that was still in flight, is live. (A Rotate that
//     completed before Delete(oldID) started moved the session: Delete of
//     the old id is then a no-op.)
//   - Times must survive a round trip to within one second (stores with
//     whole-second precision are allowed); Data and SecretHash are binary
//     bytes that must round-trip exactly (NUL bytes, invalid UTF-8, at least
//     1 MiB of Data).
//   - A store never keeps a reference to the caller's slices, and the
//     caller may not modify slices returned by Find or ListUser.
//   - err is for system failure only (unreachable server, cancelled ctx, in
//     which case errors.Is(err, ctx.Err()) holds). Callers fail closed on err:
//     a Find error never means "anonymous", an Update error never means
//     "saved".
type Store interface {
	// Find returns the live record for id; found=false if it is missing or
	// expired.
	Find(ctx context.Context, id string) (rec Record, found bool, err error)
	// Create inserts rec under id, a fresh id that was never used. It never
	// replaces: if id is present (live, or kept by the store to block reuse
	// after a revocation) it writes nothing and returns an error wrapping
	// [ErrIDInUse] (with 128-bit random ids this is a bug, not a race).
	Create(ctx context.Context, id string, rec Record) error
	// Update replaces the record of id with rec only if id is live and
	// belongs to rec.UserID; otherwise it writes nothing and returns
	// found=false. It is a single atomic step: it never inserts.
	Update(ctx context.Context, id string, rec Record) (found bool, err error)
	// Rotate renews a session id: atomically, if oldID is live it is
	// removed and rec is stored under newID (a fresh id, as for Create),
	// and found=true; otherwise nothing is written and found=false. rec may
	// name another user than the old record (a login on an anonymous
	// session). It never leaves both ids live.
	Rotate(ctx context.Context, oldID, newID string, rec Record) (found bool, err error)
	// Delete removes id. Deleting a missing id returns nil.
	Delete(ctx context.Context, id string) error
	// ListUser returns the live records of userID keyed by id, in
	// O(that user's sessions). No sessions gives an empty map and nil error.
	ListUser(ctx context.Context, userID string) (map[string]Record, error)
	// DeleteUser removes every record of userID and no other ("log out
	// everywhere", ASVS 5.0 7.4.2, 7.4.5), final against concurrent writes
	// as described above.
	DeleteUser(ctx context.Context, userID string) error
}
