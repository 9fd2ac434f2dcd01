package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Challenge tokens are "mfa_" followed by 32 random bytes in unpadded
// base64url (256 bits; ASVS 7.2.3). The store keys on the hex SHA-256 of the
// token, so a leaked store yields no usable tokens. The token has no dots
// and is not a JWT, and it lives only in the TicketStore, so no access
// token verifier accepts it.
const (
	challengePrefix    = "mfa_"
	challengeTokenSize = 32
)

// ChallengePurpose is the [TicketStore] purpose of login challenges.
const ChallengePurpose = "mfa_challenge"

var errNoChallengeStore = fmt.Errorf("%w: Config.Tickets is nil", ErrInvalidConfig)

// challengeVersion is the version of the encoding of a [Challenge] in a
// ticket; a record of any other version is refused.
const challengeVersion = 1

// challengeWire is the JSON form of a [Challenge]; Data is base64 in JSON,
// so any bytes round-trip.
type challengeWire struct {
	V          int    `json:"v"`
	UserID     string `json:"u"`
	PasswordAt int64  `json:"p"` // unix nanoseconds
	Expiry     int64  `json:"x"` // unix nanoseconds
	Attempts   int    `json:"a,omitempty"`
	Data       []byte `json:"d,omitempty"`
}

func encodeChallenge(c Challenge) ([]byte, error) {
	return json.Marshal(challengeWire{V: challengeVersion, UserID: c.UserID, PasswordAt: c.PasswordAt.UnixNano(),
		Expiry: c.Expiry.UnixNano(), Attempts: c.Attempts, Data: c.Data})
}

func decodeChallenge(b []byte) (Challenge, error) {
	var w challengeWire
	if err := json.Unmarshal(b, &w); err != nil {
		return Challenge{}, fmt.Errorf("mfa: malformed challenge record: %w", err)
	}
	if w.V != challengeVersion {
		return Challenge{}, fmt.Errorf("mfa: challenge record of unknown version %d", w.V)
	}
	return Challenge{UserID: w.UserID, PasswordAt: time.Unix(0, w.PasswordAt), Expiry: time.Unix(0, w.Expiry),
		Attempts: w.Attempts, Data: w.Data}, nil
}

// putChallenge stores c under key until c.Expiry.
func (m *MFA) putChallenge(ctx context.Context, key string, c Challenge) error {
	data, err := encodeChallenge(c)
	if err != nil {
		return fmt.Errorf("mfa: encode challenge: %w", err)
	}
	if err := m.cfg.Tickets.Put(ctx, ChallengePurpose, key, data, c.Expiry); err != nil {
		return fmt.Errorf("mfa: challenge store: %w", err)
	}
	return nil
}

func challengeKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewChallenge starts the second step of a login. The login flow calls it
// right after the password step succeeded for userID (and only then), and
// hands the returned token to the client as mfa_token. data is opaque to
// mfa and comes back from [MFA.VerifyChallenge] (e.g. the canonical login
// name, to reset the lockout counter once the login is complete). The
// challenge expires after Config.ChallengeTTL (default 5 minutes).
func (m *MFA) NewChallenge(ctx context.Context, userID string, data []byte) (token string, err error) {
	if m.cfg.Tickets == nil {
		return "", errNoChallengeStore
	}
	if userID == "" {
		return "", fmt.Errorf("mfa: empty user id")
	}
	var raw [challengeTokenSize]byte
	if _, err := io.ReadFull(m.cfg.Rand, raw[:]); err != nil {
		return "", fmt.Errorf("mfa: generating challenge: %w", err)
	}
	token = challengePrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	now := m.cfg.Now()
	c := Challenge{UserID: userID, PasswordAt: now, Expiry: now.Add(m.cfg.ChallengeTTL), Data: data}
	if err := m.putChallenge(ctx, challengeKey(token), c); err != nil {
		return "", err
	}
	return token, nil
}

// VerifyChallenge completes a two-step login: it takes the challenge for
// token atomically (so it is single use even under concurrent requests),
// then verifies code (TOTP or backup code) for the challenge's user with
// [MFA.Verify]. On success it returns the challenge, whose UserID the login
// flow then issues tokens or a session for. After a wrong code the
// challenge is put back with one more attempt counted, until
// Config.ChallengeAttempts or its expiry is reached; the per-account
// throttle applies as well. Errors: [ErrInvalidChallenge] for a bad token,
// otherwise as [MFA.Verify].
func (m *MFA) VerifyChallenge(ctx context.Context, token, code string) (Challenge, Method, error) {
	if m.cfg.Tickets == nil {
		return Challenge{}, 0, errNoChallengeStore
	}
	if !strings.HasPrefix(token, challengePrefix) || len(token) != len(challengePrefix)+43 {
		return Challenge{}, 0, ErrInvalidChallenge
	}
	key := challengeKey(token)
	data, found, err := m.cfg.Tickets.Take(ctx, ChallengePurpose, key)
	if err != nil {
		return Challenge{}, 0, fmt.Errorf("mfa: challenge store: %w", err)
	}
	if !found {
		return Challenge{}, 0, ErrInvalidChallenge
	}
	c, err := decodeChallenge(data)
	if err != nil {
		return Challenge{}, 0, err
	}
	if !m.cfg.Now().Before(c.Expiry) || c.UserID == "" {
		return Challenge{}, 0, ErrInvalidChallenge
	}
	method, err := m.Verify(ctx, c.UserID, code)
	if err == nil {
		return c, method, nil
	}
	if isCodeFailure(err) || errors.Is(err, ErrThrottled) {
		if isCodeFailure(err) {
			c.Attempts++
		}
		if c.Attempts < m.cfg.ChallengeAttempts {
			if serr := m.putChallenge(ctx, key, c); serr != nil {
				return Challenge{}, method, errors.Join(err, serr)
			}
		}
	}
	return Challenge{}, method, err
}

// TakeChallenge takes the challenge for token atomically without checking
// a code, for a login whose second factor the caller verified itself (a
// passkey assertion bound to this token). Like [MFA.VerifyChallenge] it is
// single use under concurrent requests. Errors: [ErrInvalidChallenge] for a
// bad, spent or expired token.
func (m *MFA) TakeChallenge(ctx context.Context, token string) (Challenge, error) {
	if m.cfg.Tickets == nil {
		return Challenge{}, errNoChallengeStore
	}
	if !strings.HasPrefix(token, challengePrefix) || len(token) != len(challengePrefix)+43 {
		return Challenge{}, ErrInvalidChallenge
	}
	data, found, err := m.cfg.Tickets.Take(ctx, ChallengePurpose, challengeKey(token))
	if err != nil {
		return Challenge{}, fmt.Errorf("mfa: challenge store: %w", err)
	}
	if !found {
		return Challenge{}, ErrInvalidChallenge
	}
	c, err := decodeChallenge(data)
	if err != nil {
		return Challenge{}, err
	}
	if !m.cfg.Now().Before(c.Expiry) || c.UserID == "" {
		return Challenge{}, ErrInvalidChallenge
	}
	return c, nil
}
