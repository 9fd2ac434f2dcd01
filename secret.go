package authkit

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/authkit-go/authkit/mfa"
)

// MinSecretSize is the least number of bytes a master secret must have
// (256 bits, the HKDF-SHA256 output size: RFC 5869 section 3.3).
const MinSecretSize = 32

// Labels of the keys [Secrets] derives. Each label gives an independent key
// (HKDF "info", RFC 5869 section 3.2); a key is never used for two purposes.
const (
	// LabelMFASecretBox is the AES-256-GCM key sealing TOTP keys at rest
	// (mfa.SecretBox).
	LabelMFASecretBox = "mfa-secretbox"
	// LabelMFABackupCodes is the HMAC key of stored backup codes
	// (mfa.Config.BackupKey).
	LabelMFABackupCodes = "mfa-backup-codes"
	// LabelDeviceCookie signs device cookies.
	LabelDeviceCookie = "device-cookie"
	// LabelOAuthCookie seals the OAuth state cookie (oauth.Config.CookieKey).
	LabelOAuthCookie = "oauth-cookie"
	// LabelCSRF signs CSRF tokens.
	LabelCSRF = "csrf"
	// LabelPasskeyUserHandle derives WebAuthn user handles
	// (passkey.Config.UserHandleKey).
	LabelPasskeyUserHandle = "passkey-user-handle"
)

// ErrWeakSecret reports a master secret shorter than [MinSecretSize] bytes,
// unreadable as base64 or hex, or degenerate (fewer than 8 distinct byte
// values, such as all zeros or a short repeated pattern).
var ErrWeakSecret = errors.New("authkit: master secret too short or malformed")

// ErrSecretFilePerm reports a secret file readable or writable by group or
// others.
var ErrSecretFilePerm = errors.New("authkit: secret file accessible by group or others")

// Secret is one high-entropy master secret. Its String and GoString never
// show the bytes, so it cannot leak into a log by accident.
type Secret struct {
	b []byte
}

// ParseSecret reads a secret written as standard or URL-safe base64 (padded
// or not) or hex, such as the content of an environment variable. Surrounding
// space is ignored. It refuses fewer than [MinSecretSize] decoded bytes
// ([ErrWeakSecret]).
func ParseSecret(text string) (Secret, error) {
	text = strings.TrimSpace(text)
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
	} {
		if b, err := dec(text); err == nil {
			if weak(b) {
				return Secret{}, ErrWeakSecret
			}
			return Secret{b: b}, nil
		}
	}
	return Secret{}, ErrWeakSecret
}

// minDistinctBytes is the least number of distinct byte values a secret
// must hold. 32 random bytes hold about 30; fewer than 8 happens by chance
// with probability below 2^-100, so only a degenerate value (all zeros, a
// repeated word) is refused.
const minDistinctBytes = 8

// weak reports a secret too short or degenerate to be a master secret.
func weak(b []byte) bool {
	if len(b) < MinSecretSize {
		return true
	}
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n < minDistinctBytes
}

// NewSecret returns a fresh random secret of [MinSecretSize] bytes read from
// r (nil means crypto/rand).
func NewSecret(r io.Reader) (Secret, error) {
	b := make([]byte, MinSecretSize)
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return Secret{}, fmt.Errorf("authkit: random: %w", err)
	}
	if weak(b) {
		return Secret{}, fmt.Errorf("authkit: random source returned a degenerate secret: %w", ErrWeakSecret)
	}
	return Secret{b: b}, nil
}

// String returns the secret's identifier, never its bytes.
func (s Secret) String() string { return "authkit.Secret(" + s.ID() + ")" }

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// Format writes String under every verb: %d, %x and the other verbs that
// do not call String would otherwise print the bytes.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// ID is a short public identifier of the secret (8 hex digits derived
// through HKDF, which reveals nothing of the secret). Keys sealed under a
// secret carry its ID, so the right secret opens them after a rotation.
func (s Secret) ID() string {
	if len(s.b) == 0 {
		return "none"
	}
	return hex.EncodeToString(s.hkdf(idInfo, 4))
}

// idInfo is the HKDF info of secret IDs. It is not of the form of key
// labels ("authkit/v1 " + label), so no derived key starts with an ID.
const idInfo = "authkit/v1-secret-id"

// Text encodes the secret as standard base64, the form [ParseSecret] and
// [LoadOrCreateSecret] read.
func (s Secret) Text() string { return base64.StdEncoding.EncodeToString(s.b) }

func (s Secret) derive(label string, n int) []byte { return s.hkdf("authkit/v1 "+label, n) }

func (s Secret) hkdf(info string, n int) []byte {
	k, err := hkdf.Key(sha256.New, s.b, nil, info, n)
	if err != nil {
		// Only n > 255*32 fails; every caller passes a constant ≤ 64.
		panic("authkit: hkdf: " + err.Error())
	}
	return k
}

// LoadOrCreateSecret reads the master secret from the file at path, or, when
// there is no such file, creates it with a fresh random secret and mode
// 0600. The new file appears complete or not at all (written to a temporary
// file, then hard-linked into place, which fails if path exists), so of
// several processes starting together one creates it and all use the same
// secret. An existing file must not be accessible by group or others
// ([ErrSecretFilePerm]) and must hold a valid secret ([ErrWeakSecret]).
func LoadOrCreateSecret(path string) (Secret, error) {
	s, err := loadSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	s, err = NewSecret(nil)
	if err != nil {
		return Secret{}, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".authkit-secret-*")
	if err != nil {
		return Secret{}, fmt.Errorf("authkit: creating secret file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	werr := f.Chmod(0o600) // CreateTemp uses 0600 already; make it explicit
	if werr == nil {
		_, werr = f.WriteString(s.Text() + "\n")
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return Secret{}, fmt.Errorf("authkit: writing secret file: %w", werr)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadSecret(path) // another process won the race
		}
		return Secret{}, fmt.Errorf("authkit: creating secret file: %w", err)
	}
	return s, nil
}

func loadSecret(path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return Secret{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Secret{}, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return Secret{}, fmt.Errorf("%w: %s has mode %v", ErrSecretFilePerm, path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return Secret{}, err
	}
	s, err := ParseSecret(string(b))
	if err != nil {
		return Secret{}, fmt.Errorf("%w: %s", err, path)
	}
	return s, nil
}

// Secrets derives every symmetric key authkit needs from master secrets with
// HKDF-SHA256 (RFC 5869), one independent key per label: the MFA SecretBox
// key, the backup-code key, the device-cookie key, the OAuth cookie key and
// the CSRF key. Only the current secret seals and signs; the previous ones
// still open and verify, so a secret rotates by listing the new one first
// and keeping the old one until everything under it has expired or been
// resealed. The signing key pair of access tokens is not derived: it rotates
// on its own (jwt.KeySet). Secrets is immutable and safe for concurrent use.
type Secrets struct {
	all []Secret // all[0] is current
}

// String lists the IDs of the secrets, current first, never their bytes.
func (s Secrets) String() string { return "authkit.Secrets" + fmt.Sprint(s.KeyIDs()) }

// Format writes String under every verb (fmt cannot call the secrets'
// own String through the unexported field, and would print their bytes).
func (s Secrets) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// NewSecrets returns the keyring with current as the sealing and signing
// secret and previous, newest first, for opening and verifying only.
// Secrets repeated, or two secrets with one ID (which would share a key
// slot, letting an old secret seal), are refused.
func NewSecrets(current Secret, previous ...Secret) (*Secrets, error) {
	all := append([]Secret{current}, previous...)
	seen, ids := map[string]bool{}, map[string]int{}
	for i, s := range all {
		if weak(s.b) {
			return nil, fmt.Errorf("%w: secret %d: %w", ErrInvalidConfig, i, ErrWeakSecret)
		}
		if seen[string(s.b)] {
			return nil, fmt.Errorf("%w: secret %d is listed twice", ErrInvalidConfig, i)
		}
		seen[string(s.b)] = true
		if j, dup := ids[s.ID()]; dup {
			return nil, fmt.Errorf("%w: secrets %d and %d have the same ID %s; generate a new one", ErrInvalidConfig, j, i, s.ID())
		}
		ids[s.ID()] = i
	}
	cp := make([]Secret, len(all))
	for i, s := range all {
		cp[i] = Secret{b: bytes.Clone(s.b)}
	}
	return &Secrets{all: cp}, nil
}

// Key returns the 32-byte key for label derived from the current secret:
// the key to seal or sign with. Besides the Label constants, a host may
// derive keys of its own under labels of its own (for example "app:...").
func (s *Secrets) Key(label string) []byte { return s.all[0].derive(label, 32) }

// Keys returns the 32-byte keys for label from every secret, current first:
// the keys to try when opening or verifying.
func (s *Secrets) Keys(label string) [][]byte {
	out := make([][]byte, len(s.all))
	for i, sec := range s.all {
		out[i] = sec.derive(label, 32)
	}
	return out
}

// KeyIDs returns the IDs of the secrets, current first, matching [Secrets.Keys].
func (s *Secrets) KeyIDs() []string {
	out := make([]string, len(s.all))
	for i, sec := range s.all {
		out[i] = sec.ID()
	}
	return out
}

// MFASecretBox returns the mfa.SecretBox that seals TOTP keys under the
// current secret and opens those sealed under any listed one (each blob
// names the ID of its secret).
func (s *Secrets) MFASecretBox() (*mfa.SecretBox, error) {
	keys := map[string][]byte{}
	ids, ks := s.KeyIDs(), s.Keys(LabelMFASecretBox)
	for i := range ids {
		keys[ids[i]] = ks[i]
	}
	return mfa.NewSecretBox(mfa.SecretBoxConfig{Keys: keys, ActiveKeyID: ids[0]})
}

// MFABackupKey returns mfa.Config.BackupKey, derived from the current
// secret; [Secrets.MFAPreviousBackupKeys] gives the older secrets' keys, so
// backup codes issued before a rotation keep working.
func (s *Secrets) MFABackupKey() []byte { return s.Key(LabelMFABackupCodes) }

// MFAPreviousBackupKeys returns mfa.Config.PreviousBackupKeys: the
// backup-code keys of the older secrets, newest first.
func (s *Secrets) MFAPreviousBackupKeys() [][]byte { return s.Keys(LabelMFABackupCodes)[1:] }

// PasskeyUserHandleKey returns passkey.Config.UserHandleKey, derived from
// the current secret, so every instance sharing the secret derives the same
// user handle for a user's first passkey. A rotation changes only the
// handles of users who have no passkey yet (the others keep the handle
// stored with their passkeys).
func (s *Secrets) PasskeyUserHandleKey() []byte { return s.Key(LabelPasskeyUserHandle) }

// OAuthCookieKey returns oauth.Config.CookieKey, derived from the current
// secret. The state cookie lives minutes, so a rotation fails at most the
// sign-ins in flight.
func (s *Secrets) OAuthCookieKey() []byte { return s.Key(LabelOAuthCookie) }
