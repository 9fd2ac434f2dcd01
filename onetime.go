package authkit

import (
	"context"
	"time"
)

// Purposes of a [OneTimeToken].
const (
	PurposePasswordReset = "password_reset"
	PurposeVerifyEmail   = "verify_email"
)

// OneTimeToken is a pending password-reset or email-verification token.
// The token itself goes only to the user's mailbox; the store is keyed by
// its SHA-256, so a leaked store yields no usable token.
type OneTimeToken struct {
	Purpose string // PurposePasswordReset or PurposeVerifyEmail
	UserID  string
	Email   string // the address the token was sent to
	Expiry  time.Time
}

// OneTimeTokenStore keeps [OneTimeToken] records until they are spent or
// expire. Implementations must be safe for concurrent use.
type OneTimeTokenStore interface {
	// Save stores t under tokenHash, replacing any record there. A record
	// whose Expiry has passed is never returned.
	Save(ctx context.Context, tokenHash string, t OneTimeToken) error
	// Take atomically returns and deletes the record under tokenHash: of
	// concurrent calls for one hash at most one gets found=true. A missing
	// or expired record gives found=false and a nil error; err is for system
	// failures only.
	Take(ctx context.Context, tokenHash string) (t OneTimeToken, found bool, err error)
}
