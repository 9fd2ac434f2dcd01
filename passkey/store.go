package passkey

import (
	"context"
	"time"
)

// Credential is one stored passkey. The public key is not secret; the
// store keeps every field as given.
type Credential struct {
	// ID is the credential id chosen by the authenticator (raw bytes, at
	// most 1023 per WebAuthn §5.8.3); it is unique across all users.
	ID []byte
	// UserID is the authkit user that owns the credential.
	UserID string
	// UserHandle is the opaque WebAuthn user.id the credential was created
	// for; every credential of one user carries the same handle.
	UserHandle []byte
	// Name is the label the user gave it ("Work laptop").
	Name string
	// PublicKey is the COSE-encoded credential public key.
	PublicKey []byte
	// AttestationFormat is the attestation statement format ("none", ...).
	AttestationFormat string
	// AAGUID identifies the authenticator model (16 bytes, zero for many).
	AAGUID []byte
	// Transports are the hints the browser reported ("internal", "hybrid").
	Transports []string
	// SignCount is the last signature counter seen.
	SignCount uint32
	// UserVerified records that the authenticator verified the user at
	// registration or a later sign-in.
	UserVerified bool
	// BackupEligible is set once any ceremony reported the BE flag and is
	// never cleared: a synced passkey is backup eligible. BackupState is
	// the BS flag of the last ceremony.
	BackupEligible bool
	BackupState    bool
	CreatedAt      time.Time
	LastUsedAt     time.Time // zero until the first sign-in
}

// Use is what a successful sign-in writes back to a credential.
type Use struct {
	SignCount      uint32
	LastUsedAt     time.Time
	UserVerified   bool
	BackupEligible bool
	BackupState    bool
}

// RemoveResult is the outcome of [CredentialStore.Remove].
type RemoveResult struct {
	// Removed is true when the credential was deleted.
	Removed bool
	// Last is true when the removal was refused because keepLast was set
	// and the credential is the user's only one.
	Last bool
	// Remaining are the ids of the user's credentials after the call.
	Remaining [][]byte
}

// CredentialStore persists passkeys. Implementations are safe for
// concurrent use; every method is atomic on its own. Reads return found
// false (not an error) for a missing credential; err is reserved for system
// failures and callers fail closed on it. Credential ids are binary and
// compared byte for byte. passkey/passkeytest checks an implementation.
type CredentialStore interface {
	// List returns the user's credentials oldest first (CreatedAt, then
	// ID); an unknown user has none.
	List(ctx context.Context, userID string) ([]Credential, error)
	// Get returns the credential with this id, whichever user owns it.
	Get(ctx context.Context, credentialID []byte) (c Credential, found bool, err error)
	// Add stores c. It returns false and changes nothing when a credential
	// with c.ID exists, for any user.
	Add(ctx context.Context, c Credential) (added bool, err error)
	// Rename sets the name of the user's credential; false when the user
	// has no such credential.
	Rename(ctx context.Context, userID string, credentialID []byte, name string) (found bool, err error)
	// Remove deletes the user's credential. When keepLast is true and it is
	// the user's only credential nothing is deleted and Last is set: the
	// check and the delete are one atomic step.
	Remove(ctx context.Context, userID string, credentialID []byte, keepLast bool) (RemoveResult, error)
	// UpdateUse records a sign-in: it writes u only if the credential exists
	// and its SignCount still equals prevSignCount (compare-and-set), and
	// reports whether it did.
	UpdateUse(ctx context.Context, credentialID []byte, prevSignCount uint32, u Use) (updated bool, err error)
}

// TicketStore is the single-use expiring store for ceremony state. It is
// the shared contract the project's single-use records converge on (OAuth
// state, MFA challenges, reset and verification tokens, WebAuthn
// ceremonies): records are namespaced by purpose, keyed by a string the
// caller derives (here a hash of the challenge, never the challenge), and
// taken at most once.
//
// Put stores data under (purpose, key) until expiry, replacing any record
// there; a record whose expiry has passed is never returned. Take returns
// the record and deletes it in one atomic step, so of concurrent Takes at
// most one finds it. found is false for a missing or expired record; err
// is reserved for system failures and callers fail closed on it.
type TicketStore interface {
	Put(ctx context.Context, purpose, key string, data []byte, expiry time.Time) error
	Take(ctx context.Context, purpose, key string) (data []byte, found bool, err error)
}

// SignalUnknownCredential is the argument of the WebAuthn Signal API's
// PublicKeyCredential.signalUnknownCredential; the ids are base64url.
type SignalUnknownCredential struct {
	RPID         string `json:"rpId"`
	CredentialID string `json:"credentialId"`
}

// SignalAllAcceptedCredentials is the argument of
// PublicKeyCredential.signalAllAcceptedCredentials; the ids are base64url.
type SignalAllAcceptedCredentials struct {
	RPID                     string   `json:"rpId"`
	UserID                   string   `json:"userId"`
	AllAcceptedCredentialIDs []string `json:"allAcceptedCredentialIds"`
}
