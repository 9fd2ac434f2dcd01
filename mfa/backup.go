package mfa

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// Backup codes are 15 random bytes (120 bits, above ASVS 6.5.2's 112) in
// unpadded base32: 24 characters shown in six groups of four, e.g.
// "ABCD-EFGH-IJKL-MNOP-QRST-UVWX".
const (
	backupCodeBytes = 15
	backupCodeChars = 24
	backupMACLabel  = "authkit/mfa backup-code v1\x00"
)

// normalizeBackupCode upper-cases ASCII letters and drops spaces, tabs and
// dashes; it reports false unless the rest is exactly 24 base32 characters.
func normalizeBackupCode(code string) (string, bool) {
	if len(code) > 64 {
		return "", false
	}
	var b [64]byte
	n := 0
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == ' ' || c == '-' || c == '\t':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'):
		default:
			return "", false
		}
		b[n] = c
		n++
	}
	if n != backupCodeChars {
		return "", false
	}
	return string(b[:n]), true
}

// formatBackupCode groups a 24-character code in fours with dashes.
func formatBackupCode(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.WriteString(s[i : i+4])
	}
	return sb.String()
}

// backupMAC is HMAC-SHA256 under the server key over a label, the user id
// (length-prefixed) and the normalized code, so a stored MAC is useless for
// another user and the store never sees a code (ASVS 6.5.2).
func (m *MFA) backupMAC(userID, normalized string) []byte {
	return backupMACUnder(m.cfg.BackupKey, userID, normalized)
}

// backupMACUnder is backupMAC under key.
func backupMACUnder(key []byte, userID, normalized string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(backupMACLabel))
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(userID)))
	h.Write(l[:])
	h.Write([]byte(userID))
	h.Write([]byte(normalized))
	return h.Sum(nil)
}

// newBackupCodes returns a fresh set of display codes and their MACs.
func (m *MFA) newBackupCodes(userID string) ([]string, [][]byte, error) {
	codes := make([]string, m.cfg.BackupCodes)
	macs := make([][]byte, m.cfg.BackupCodes)
	var raw [backupCodeBytes]byte
	for i := range codes {
		if _, err := io.ReadFull(m.cfg.Rand, raw[:]); err != nil {
			return nil, nil, fmt.Errorf("mfa: generating backup code: %w", err)
		}
		s := b32.EncodeToString(raw[:])
		codes[i] = formatBackupCode(s)
		macs[i] = m.backupMAC(userID, s)
	}
	clear(raw[:])
	return codes, macs, nil
}

// UseBackupCode spends one of the user's backup codes (ASVS 6.5.1: single
// use, atomically in the store). Input is normalized first: case, spaces
// and dashes do not matter. It counts toward the per-account throttle like
// a TOTP code. Errors: [ErrInvalidCode], [ErrNotEnrolled], [ErrThrottled],
// or a wrapped store error.
func (m *MFA) UseBackupCode(ctx context.Context, userID, code string) error {
	e, found, err := m.cfg.Store.Get(ctx, userID)
	if err != nil {
		return fmt.Errorf("mfa: store: %w", err)
	}
	if !found || !e.Active() {
		return ErrNotEnrolled
	}
	return m.throttled(ctx, userID, func() error {
		norm, ok := normalizeBackupCode(code)
		if !ok {
			return ErrInvalidCode
		}
		// The current key first, then the keys it replaced: one atomic
		// store call each, so a code is still spent at most once.
		for _, key := range append([][]byte{m.cfg.BackupKey}, m.cfg.PreviousBackupKeys...) {
			used, err := m.cfg.Store.UseBackupCode(ctx, userID, backupMACUnder(key, userID, norm))
			if err != nil {
				return fmt.Errorf("mfa: store: %w", err)
			}
			if used {
				return nil
			}
		}
		return ErrInvalidCode
	})
}

// RegenerateBackupCodes checks a current code (TOTP or backup code) and
// replaces the user's whole set of backup codes with a new one, returned
// once; the old set stops working (ASVS 6.5.1–6.5.2). The login flow also
// requires a recent sign-in (ASVS 7.5.1).
//
// The new set is written only over the enrollment state the code was
// checked against: if the factor was replaced or disabled meanwhile,
// nothing is written and the error is [ErrStateChanged].
func (m *MFA) RegenerateBackupCodes(ctx context.Context, userID, code string) ([]string, error) {
	e, found, err := m.cfg.Store.Get(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mfa: store: %w", err)
	}
	if !found || !e.Active() {
		return nil, ErrNotEnrolled
	}
	if _, err := m.Verify(ctx, userID, code); err != nil {
		return nil, err
	}
	codes, macs, err := m.newBackupCodes(userID)
	if err != nil {
		return nil, err
	}
	if err := m.put(ctx, userID, e.Version, e, macs); err != nil {
		return nil, err
	}
	return codes, nil
}
