package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
)

// Sealed blob layout (version 1):
//
//	0x01 | len(keyID) (1 byte, 1..32) | keyID | nonce (12) | AES-256-GCM ciphertext+tag (≥16)
//
// The associated data is a fixed label, the header bytes and the user id, so
// a blob copied to another user's record, or with its key id swapped, fails
// to open.
const (
	boxVersion    = 1
	maxKeyIDLen   = 32
	boxNonceSize  = 12
	boxTagSize    = 16
	maxSealedSize = 4096
	boxKeySize    = 32
	boxADLabel    = "authkit/mfa secretbox v1\x00"
)

// SecretBoxConfig configures a [SecretBox].
type SecretBoxConfig struct {
	// Keys maps key ids (1–32 bytes) to 32-byte AES-256 keys. Keep retired
	// keys here until every blob sealed under them has been resealed.
	Keys map[string][]byte
	// ActiveKeyID names the key that seals new blobs; it must be in Keys.
	ActiveKeyID string
	// Rand supplies nonces; nil means crypto/rand.Reader.
	Rand io.Reader
}

// SecretBox seals small secrets (TOTP keys) at rest with AES-256-GCM
// (NIST SP 800-38D), binding each blob to a user id as associated data and
// naming the key id in the blob so keys can rotate: new seals use the active
// key, blobs under older keys still open and can be resealed (RFC 6238 §5.1,
// ASVS 11.2). A SecretBox is immutable and safe for concurrent use.
type SecretBox struct {
	active string
	aeads  map[string]cipher.AEAD
	rand   io.Reader
}

// NewSecretBox validates cfg and returns a SecretBox.
func NewSecretBox(cfg SecretBoxConfig) (*SecretBox, error) {
	if len(cfg.Keys) == 0 {
		return nil, fmt.Errorf("%w: SecretBoxConfig.Keys is empty", ErrInvalidConfig)
	}
	b := &SecretBox{active: cfg.ActiveKeyID, aeads: make(map[string]cipher.AEAD, len(cfg.Keys)), rand: cfg.Rand}
	if b.rand == nil {
		b.rand = rand.Reader
	}
	for id, k := range cfg.Keys {
		if len(id) == 0 || len(id) > maxKeyIDLen {
			return nil, fmt.Errorf("%w: key id %q must be 1 to %d bytes", ErrInvalidConfig, id, maxKeyIDLen)
		}
		if len(k) != boxKeySize {
			return nil, fmt.Errorf("%w: key %q must be %d bytes, got %d", ErrInvalidConfig, id, boxKeySize, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrInvalidConfig, id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrInvalidConfig, id, err)
		}
		b.aeads[id] = aead
	}
	if _, ok := b.aeads[cfg.ActiveKeyID]; !ok {
		return nil, fmt.Errorf("%w: ActiveKeyID %q is not in Keys", ErrInvalidConfig, cfg.ActiveKeyID)
	}
	return b, nil
}

// ActiveKeyID returns the id of the key that seals new blobs.
func (b *SecretBox) ActiveKeyID() string { return b.active }

func boxAD(header []byte, userID string) []byte {
	ad := make([]byte, 0, len(boxADLabel)+len(header)+len(userID))
	ad = append(ad, boxADLabel...)
	ad = append(ad, header...)
	return append(ad, userID...)
}

// Seal encrypts plaintext for userID under the active key.
func (b *SecretBox) Seal(userID string, plaintext []byte) ([]byte, error) {
	if len(plaintext) > maxSealedSize-(2+maxKeyIDLen+boxNonceSize+boxTagSize) {
		return nil, fmt.Errorf("mfa: plaintext too large to seal")
	}
	id := b.active
	hdrLen := 2 + len(id)
	out := make([]byte, hdrLen+boxNonceSize, hdrLen+boxNonceSize+len(plaintext)+boxTagSize)
	out[0] = boxVersion
	out[1] = byte(len(id))
	copy(out[2:], id)
	nonce := out[hdrLen : hdrLen+boxNonceSize]
	if _, err := io.ReadFull(b.rand, nonce); err != nil {
		return nil, fmt.Errorf("mfa: reading nonce: %w", err)
	}
	return b.aeads[id].Seal(out, nonce, plaintext, boxAD(out[:hdrLen], userID)), nil
}

// sealedParts is the result of parsing a blob without opening it.
type sealedParts struct {
	header, keyID, nonce, ciphertext []byte
}

// parseSealed splits a blob. It is bounded (blobs over 4 KiB are rejected
// before any work) and never panics on arbitrary input.
func parseSealed(blob []byte) (sealedParts, bool) {
	var p sealedParts
	if len(blob) < 2 || len(blob) > maxSealedSize || blob[0] != boxVersion {
		return p, false
	}
	n := int(blob[1])
	if n == 0 || n > maxKeyIDLen || len(blob) < 2+n+boxNonceSize+boxTagSize {
		return p, false
	}
	p.header = blob[:2+n]
	p.keyID = blob[2 : 2+n]
	p.nonce = blob[2+n : 2+n+boxNonceSize]
	p.ciphertext = blob[2+n+boxNonceSize:]
	return p, true
}

// KeyID returns the id of the key blob was sealed under.
func (b *SecretBox) KeyID(blob []byte) (string, error) {
	p, ok := parseSealed(blob)
	if !ok {
		return "", ErrSealedSecret
	}
	return string(p.keyID), nil
}

// Open decrypts a blob sealed for userID. Any failure (malformed, unknown
// key, wrong user, tampering) returns an error matching [ErrSealedSecret].
func (b *SecretBox) Open(userID string, blob []byte) ([]byte, error) {
	p, ok := parseSealed(blob)
	if !ok {
		return nil, fmt.Errorf("%w: malformed blob", ErrSealedSecret)
	}
	aead, ok := b.aeads[string(p.keyID)] // no allocation for the lookup
	if !ok {
		return nil, fmt.Errorf("%w: unknown key id %q", ErrSealedSecret, p.keyID)
	}
	pt, err := aead.Open(nil, p.nonce, p.ciphertext, boxAD(p.header, userID))
	if err != nil {
		return nil, ErrSealedSecret
	}
	return pt, nil
}

// Reseal opens blob and, if it was sealed under a key other than the active
// one, seals it again under the active key. changed reports whether out is
// a new blob; otherwise out is blob itself.
func (b *SecretBox) Reseal(userID string, blob []byte) (out []byte, changed bool, err error) {
	pt, err := b.Open(userID, blob)
	if err != nil {
		return nil, false, err
	}
	defer clear(pt)
	if p, _ := parseSealed(blob); string(p.keyID) == b.active {
		return blob, false, nil
	}
	out, err = b.Seal(userID, pt)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}
