package authkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Purposes of the password-reset and email-verification tickets in the
// [TicketStore], and of a [Mail].
const (
	PurposePasswordReset = "password_reset"
	PurposeVerifyEmail   = "verify_email"
)

// oneTimeToken is a pending password-reset or email-verification token. The
// token itself goes only to the user's mailbox; the ticket is keyed by its
// SHA-256 (see tokenHash), so a leaked store yields no usable token. The
// purpose is the ticket's namespace, not part of the record.
type oneTimeToken struct {
	UserID string
	Email  string // the address the token was sent to
	Expiry time.Time
}

// oneTimeTokenVersion is the version of the ticket encoding; a record of
// any other version is refused.
const oneTimeTokenVersion = 1

// oneTimeTokenWire is the JSON form of a oneTimeToken in a ticket.
type oneTimeTokenWire struct {
	V      int    `json:"v"`
	UserID string `json:"u"`
	Email  string `json:"e"`
	Expiry int64  `json:"x"` // unix nanoseconds
}

var errTicketRecord = errors.New("authkit: malformed reset or verification ticket")

func (t oneTimeToken) encode() ([]byte, error) {
	return json.Marshal(oneTimeTokenWire{V: oneTimeTokenVersion, UserID: t.UserID, Email: t.Email, Expiry: t.Expiry.UnixNano()})
}

func decodeOneTimeToken(data []byte) (oneTimeToken, error) {
	var w oneTimeTokenWire
	if err := json.Unmarshal(data, &w); err != nil {
		return oneTimeToken{}, fmt.Errorf("%w: %v", errTicketRecord, err)
	}
	if w.V != oneTimeTokenVersion {
		return oneTimeToken{}, fmt.Errorf("%w: version %d", errTicketRecord, w.V)
	}
	return oneTimeToken{UserID: w.UserID, Email: w.Email, Expiry: time.Unix(0, w.Expiry)}, nil
}
