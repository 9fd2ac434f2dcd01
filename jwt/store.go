package jwt

import (
	"context"
	"time"
)

// RefreshToken is the stored record of one refresh token. The store never
// sees the token itself: ID is the base64url SHA-256 of the opaque token.
// All tokens rotated from one login share FamilyID.
type RefreshToken struct {
	ID           string    // base64url(SHA-256(token)); the store key
	FamilyID     string    // shared by every token rotated from one login
	UserID       string    // the subject
	IssuedAt     time.Time // when this token was issued
	Expiry       time.Time // this token's expiry (≤ FamilyExpiry); the store may drop it after
	FamilyExpiry time.Time // absolute family lifetime (ASVS 10.4.8)
	UsedAt       time.Time // zero until the token is rotated (RefreshStore.Use)
}

// RefreshStore persists refresh-token records. Implementations must be safe
// for concurrent use; err is for system failures only, and callers fail
// closed on it. Times may be stored with microsecond (or, for Expiry, second)
// precision: callers compare them with a tolerance; zero UsedAt must stay
// zero. Check implementations with jwttest.Run.
type RefreshStore interface {
	// Create stores t. If t.FamilyID has been revoked, the token is dead
	// from the start: Use returns found=false for it (a rotation racing
	// with a revocation must not revive the family).
	Create(ctx context.Context, t RefreshToken) error
	// Use atomically sets UsedAt = now if it is zero and returns the record
	// as it was before the call: prev.UsedAt non-zero means the token had
	// already been used (reuse). A missing, expired (Expiry ≤ now) or
	// revoked token gives found=false and changes nothing. Of many
	// concurrent calls on one token exactly one sees a zero UsedAt.
	Use(ctx context.Context, id string, now time.Time) (prev RefreshToken, found bool, err error)
	// RevokeFamily revokes every token of the family, present and future
	// (see Create); afterwards Use returns found=false for them. Revoking an
	// unknown family is not an error.
	RevokeFamily(ctx context.Context, familyID string) error
	// RevokeUser revokes every family of the user that exists at the time
	// of the call. Tokens of families created later are unaffected.
	RevokeUser(ctx context.Context, userID string) error
}

// NotBeforeStore keeps a per-user not-before time: access tokens issued
// before it are refused (logout everywhere, password or role change; ASVS
// 7.4.1, J25). Implementations must be safe for concurrent use; err is for
// system failures only.
type NotBeforeStore interface {
	// SetNotBefore records t for userID unless a later time is already
	// recorded (the later time wins; concurrent writers cannot move it back).
	SetNotBefore(ctx context.Context, userID string, t time.Time) error
	// NotBefore returns the recorded time; found=false if none.
	NotBefore(ctx context.Context, userID string) (t time.Time, found bool, err error)
}
