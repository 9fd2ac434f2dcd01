package session

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
)

// Token layout: base64url(16-byte id) "." base64url(32-byte secret), no
// padding. The id (128 bits) keys the store; the secret (256 bits) is only
// ever stored as its SHA-256 digest. Both come from a CSPRNG (ASVS 5.0
// 7.2.3, OWASP Session Management Cheat Sheet "Session ID Entropy").
const (
	idBytes     = 16
	secretBytes = 32
	idLen       = 22 // base64.RawURLEncoding.EncodedLen(idBytes)
	secretLen   = 43 // base64.RawURLEncoding.EncodedLen(secretBytes)
	// TokenLen is the exact length of a session token.
	TokenLen = idLen + 1 + secretLen
)

var b64 = base64.RawURLEncoding.Strict()

// newToken draws a fresh id and secret from rnd.
func newToken(rnd io.Reader) (token, id string, hash [sha256.Size]byte, err error) {
	var raw [idBytes + secretBytes]byte
	if _, err = io.ReadFull(rnd, raw[:]); err != nil {
		return "", "", hash, fmt.Errorf("session: reading randomness: %w", err)
	}
	var buf [TokenLen]byte
	b64.Encode(buf[:idLen], raw[:idBytes])
	buf[idLen] = '.'
	b64.Encode(buf[idLen+1:], raw[idBytes:])
	token = string(buf[:])
	return token, token[:idLen], sha256.Sum256(raw[idBytes:]), nil
}

// parseToken splits an untrusted token into its id and the SHA-256 of its
// secret. It accepts exactly the canonical form newToken produces and
// anything else (wrong length, padding, '+' or '/', non-zero trailing bits,
// whitespace) yields ok=false. It does not allocate except for the id.
func parseToken(tok string) (id string, hash [sha256.Size]byte, ok bool) {
	if len(tok) != TokenLen || tok[idLen] != '.' {
		return "", hash, false
	}
	var raw [secretBytes]byte
	var src [TokenLen]byte
	copy(src[:], tok)
	// Validate the id part by decoding it (Strict rejects non-canonical
	// trailing bits), so two spellings can never name one record.
	if n, err := b64.Decode(raw[:], src[:idLen]); err != nil || n != idBytes {
		return "", hash, false
	}
	if n, err := b64.Decode(raw[:], src[idLen+1:]); err != nil || n != secretBytes {
		return "", hash, false
	}
	return tok[:idLen], sha256.Sum256(raw[:]), true
}

// secretMatches compares a stored digest with a computed one in constant
// time (OWASP: compare secrets without early exit).
func secretMatches(stored []byte, computed [sha256.Size]byte) bool {
	return subtle.ConstantTimeCompare(stored, computed[:]) == 1
}
