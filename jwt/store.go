package jwt

import (
	"context"
	"time"
)

// SignIn holds the facts of the interactive sign-in that started a refresh
// family. They are stored with the family when it is created and copied by
// the store, unchanged, into every token rotated from it, so every access
// token minted at a refresh carries the sign-in's auth_time, amr, acr and
// MFA fact, and no later configuration change can move them.
type SignIn struct {
	AuthTime time.Time // when the user authenticated ("auth_time", OIDC Core §2)
	AMR      []string  // authentication methods ("amr", RFC 8176), e.g. ["pwd","otp"]
	ACR      string    // authentication context class ("acr"), empty if none
	MFA      bool      // whether a second factor was completed
}

// RefreshToken is the stored record of one refresh token. The store never
// sees the token itself: ID is derived from it by [RefreshTokenID]. All
// tokens rotated from one sign-in share FamilyID, UserID, FamilyExpiry and
// SignIn.
type RefreshToken struct {
	ID           string    // RefreshTokenID(token); the store key
	FamilyID     string    // shared by every token rotated from one sign-in
	UserID       string    // the subject
	IssuedAt     time.Time // when this token was issued
	Expiry       time.Time // this token's expiry (≤ FamilyExpiry); the store may drop it after
	FamilyExpiry time.Time // absolute family lifetime (ASVS 10.4.8)
	UsedAt       time.Time // zero until the token is rotated
	SignIn       SignIn    // the facts of the sign-in that started the family
}

// Rotation is the argument of [RefreshStore.Rotate].
type Rotation struct {
	// ID is the id of the presented token.
	ID string
	// Next is the successor. The caller sets ID, IssuedAt and Expiry; the
	// store copies FamilyID, UserID, FamilyExpiry and SignIn from the
	// presented token's family and caps Expiry at FamilyExpiry.
	Next RefreshToken
	// Sealed is the successor token sealed so that only a holder of the
	// presented token can open it. The store keeps it with the presented
	// token and hands it back to a retry within Grace; it is opaque to the
	// store.
	Sealed []byte
	// Now is the time of the rotation; UsedAt is set to it, and expiry and
	// the grace window are judged by it.
	Now time.Time
	// Grace is the retry window: a presentation of an already rotated token
	// less than Grace after its rotation is a retry, not a reuse, as long as
	// the successor is itself unused. Zero disables it. Now may come from
	// another instance's clock: a Now up to Grace before the rotation's is
	// a retry too, an earlier one is reuse (a clock far behind must not
	// keep the window open).
	Grace time.Duration
}

// RotateOutcome is the verdict of [RefreshStore.Rotate].
type RotateOutcome int

// Rotation outcomes.
const (
	// RotateInvalid: the presented token is unknown, expired, its family is
	// revoked, expired or gone, or its sign-in predates the user's
	// not-before (see [RefreshStore.NotBefore]). Nothing was changed.
	RotateInvalid RotateOutcome = iota
	// Rotated: the presented token was unused; it is now marked used and
	// Next is stored, in one atomic step.
	Rotated
	// RotateRetried: the presented token had been rotated less than Grace
	// ago and its successor is unused: nothing was changed and the result
	// carries the successor's record and the Sealed value stored by that
	// rotation.
	RotateRetried
	// RotateReused: the presented token had been rotated before, outside
	// the grace window or with a successor that has itself been rotated. The
	// whole family has been revoked in the same atomic step.
	RotateReused
)

// RotateResult is the result of [RefreshStore.Rotate].
type RotateResult struct {
	Outcome RotateOutcome
	// Token is the live successor's record for Rotated and RotateRetried,
	// and the presented token's record for RotateReused (for the audit).
	Token RefreshToken
	// Sealed is the sealed successor, for RotateRetried.
	Sealed []byte
}

// SignInUpdate is the argument of [RefreshStore.UpdateSignIn]: a
// re-authentication recorded in the family of a live token.
type SignInUpdate struct {
	// ID is the id of the client's current token: unused and unexpired.
	ID string
	// UserID must be the family's user: the one who re-authenticated.
	UserID string
	// SignIn replaces the family's sign-in facts.
	SignIn SignIn
	// Now is the time of the update; expiry is judged by it.
	Now time.Time
}

// NotBeforeStore keeps a per-user not-before time: access tokens issued
// before it are refused (logout everywhere, password or role change; ASVS
// 7.4.1). It is the part of [RefreshStore] a [Verifier] needs.
// Implementations must be safe for concurrent use; err is for system
// failures only.
type NotBeforeStore interface {
	// SetNotBefore records t for userID unless a later time is already
	// recorded (the later time wins; concurrent writers cannot move it back).
	SetNotBefore(ctx context.Context, userID string, t time.Time) error
	// NotBefore returns the recorded time; found=false if none. A store
	// that can lose records (a Redis flush, eviction or restore) keeps a
	// store epoch, the time from which it knows it holds every record, and
	// returns the later of the user's time and the epoch (found=true), so
	// a lost record refuses every token issued before the loss instead of
	// reviving it.
	NotBefore(ctx context.Context, userID string) (t time.Time, found bool, err error)
}

// RefreshStore persists refresh-token families and the per-user not-before
// time. Implementations must be safe for concurrent use; err is for system
// failures only, and callers fail closed on it. Times may be stored with
// microsecond precision (for Expiry, second): callers compare them with a
// tolerance; zero times stay zero. Every method is one atomic operation:
// a store error or a lost reply leaves either the whole change or none of
// it. Check implementations with jwttest.Run.
//
// A store may be partitioned (Redis Cluster): every token id made by
// [RefreshTokenID] names the shard of its user ([RefreshShard]), so one
// partition can hold all of a user's families and not-before, and Create,
// Rotate and RevokeUser can check the not-before atomically.
type RefreshStore interface {
	NotBeforeStore
	// Create starts a family with its first token t. It stores nothing
	// and returns created=false if the user's not-before is later than
	// t.SignIn.AuthTime: a sign-in that checked the password before a "log
	// out everywhere" must not create a live family after it.
	Create(ctx context.Context, t RefreshToken) (created bool, err error)
	// Rotate rotates the token r.ID in one atomic, retry-safe step; see
	// [RotateOutcome]. Of many concurrent calls on one unused token exactly
	// one gets Rotated; with r.Grace > 0 the others get RotateRetried with
	// the same successor, else RotateReused. A token whose family's
	// SignIn.AuthTime is before the user's not-before is invalid.
	Rotate(ctx context.Context, r Rotation) (RotateResult, error)
	// RevokeToken revokes the family of the token with this id (used or
	// not): afterwards no token of the family rotates. It returns the
	// token's user (for the audit); an unknown id is not an error and gives
	// found=false.
	RevokeToken(ctx context.Context, id string) (userID string, found bool, err error)
	// RevokeUser revokes every family of the user that exists at the time
	// of the call.
	RevokeUser(ctx context.Context, userID string) error
	// UpdateSignIn replaces the SignIn of the family of the token u.ID by
	// u.SignIn in one atomic step (a re-authentication: a step-up), so
	// every token rotated from the family afterwards carries the new
	// facts; the family, its tokens and their expiries stay as they are.
	// It changes nothing and returns found=false when the token is
	// unknown, already rotated or expired at u.Now, when its family is
	// revoked, expired or gone, when the family's user is not u.UserID, or
	// when the user's not-before is later than the family's current
	// AuthTime (the token could not rotate) or than u.SignIn.AuthTime (a
	// "log out everywhere" after the re-authentication checked its
	// credentials). On success it returns the token's record with the new
	// SignIn.
	UpdateSignIn(ctx context.Context, u SignInUpdate) (t RefreshToken, found bool, err error)
}
