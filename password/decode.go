package password

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Decoding bounds for stored argon2id hashes. They are
// checked before any argon2 call: x/crypto's argon2.IDKey panics on t<1 or
// p<1 and allocates m KiB without question, and alexedwards/argon2id's
// DecodeHash bounds nothing.
const (
	// MaxIterations is the largest argon2id t accepted when decoding.
	MaxIterations = 16
	// MaxParallelism is the largest argon2id p accepted when decoding.
	MaxParallelism = 16
	// MinSaltLength and MaxSaltLength bound the decoded salt (RFC 9106
	// §3.1: at least 8 bytes; 16 recommended).
	MinSaltLength = 8
	MaxSaltLength = 64
	// MinKeyLength and MaxKeyLength bound the decoded tag. A tag shorter
	// than 16 bytes would let random passwords match too often.
	MinKeyLength = 16
	MaxKeyLength = 64
	// DefaultMaxMemoryKiB is the default [Config.MaxMemoryKiB]: 256 MiB.
	DefaultMaxMemoryKiB = 256 * 1024
	// maxKeyIDLength is the PHC string format's limit for keyid (8 bytes).
	maxKeyIDLength = 8
)

const argon2idPrefix = "$argon2id$v=19$"

// phc is a decoded, bounds-checked argon2id PHC string.
type phc struct {
	params Params
	// keyID is the keyid parameter as it appears in the string (base64),
	// "" for an unpeppered hash.
	keyID   string
	saltBuf [MaxSaltLength]byte
	keyBuf  [MaxKeyLength]byte
}

func (d *phc) salt() []byte { return d.saltBuf[:d.params.SaltLength] }
func (d *phc) key() []byte  { return d.keyBuf[:d.params.KeyLength] }

// strictBase64 is unpadded standard base64 rejecting non-zero trailing
// bits, as alexedwards/argon2id decodes. It is never modified.
var strictBase64 = base64.RawStdEncoding.Strict()

// decodeBase64 decodes s into dst when s is strict unpadded base64 of at
// most len(dst) bytes, and returns the decoded length.
func decodeBase64(dst []byte, s string) (int, bool) {
	if len(s) > strictBase64.EncodedLen(len(dst)) {
		return 0, false
	}
	n, err := strictBase64.Decode(dst, []byte(s))
	return n, err == nil
}

func decodeArgon2id(s string, maxMemKiB uint32) (phc, error) {
	var d phc
	rest, ok := strings.CutPrefix(s, argon2idPrefix)
	if !ok {
		if strings.HasPrefix(s, "$argon2id$") {
			return d, fmt.Errorf("%w: unsupported argon2 version (want v=19)", ErrInvalidHash)
		}
		return d, fmt.Errorf("%w: not an argon2id hash", ErrInvalidHash)
	}
	params, rest, ok := strings.Cut(rest, "$")
	if !ok {
		return d, fmt.Errorf("%w: missing salt", ErrInvalidHash)
	}
	salt, key, ok := strings.Cut(rest, "$")
	if !ok {
		return d, fmt.Errorf("%w: missing key", ErrInvalidHash)
	}
	if strings.IndexByte(key, '$') >= 0 {
		return d, fmt.Errorf("%w: too many fields", ErrInvalidHash)
	}

	m, params, err := decimalParam(params, "m=", true)
	if err != nil {
		return d, err
	}
	t, params, err := decimalParam(params, "t=", true)
	if err != nil {
		return d, err
	}
	p, params, err := decimalParam(params, "p=", false)
	if err != nil {
		return d, err
	}
	if params != "" {
		kid, ok := strings.CutPrefix(params, ",keyid=")
		if !ok {
			return d, fmt.Errorf("%w: unexpected parameters", ErrInvalidHash)
		}
		var buf [maxKeyIDLength]byte
		n, ok := decodeBase64(buf[:], kid)
		if !ok || n < 1 {
			return d, fmt.Errorf("%w: bad keyid", ErrInvalidHash)
		}
		d.keyID = kid
	}

	switch {
	case t < 1 || t > MaxIterations:
		return d, fmt.Errorf("%w: t=%d outside [1, %d]", ErrInvalidHash, t, MaxIterations)
	case p < 1 || p > MaxParallelism:
		return d, fmt.Errorf("%w: p=%d outside [1, %d]", ErrInvalidHash, p, MaxParallelism)
	case m < 8*p:
		return d, fmt.Errorf("%w: m=%d below 8*p", ErrInvalidHash, m)
	case m > uint64(maxMemKiB):
		return d, fmt.Errorf("%w: m=%d KiB above the ceiling of %d KiB", ErrInvalidHash, m, maxMemKiB)
	}
	saltLen, ok := decodeBase64(d.saltBuf[:], salt)
	if !ok || saltLen < MinSaltLength {
		return d, fmt.Errorf("%w: bad salt (length must be %d to %d bytes)", ErrInvalidHash, MinSaltLength, MaxSaltLength)
	}
	keyLen, ok := decodeBase64(d.keyBuf[:], key)
	if !ok || keyLen < MinKeyLength {
		return d, fmt.Errorf("%w: bad key (length must be %d to %d bytes)", ErrInvalidHash, MinKeyLength, MaxKeyLength)
	}
	d.params = Params{
		Memory:      uint32(m),
		Iterations:  uint32(t),
		Parallelism: uint8(p),
		SaltLength:  uint32(saltLen),
		KeyLength:   uint32(keyLen),
	}
	return d, nil
}

// decimalParam reads name followed by 1 to 10 decimal digits (no sign, no
// leading zero) and, when comma is true, a following ','. It returns the
// value and the remaining input.
func decimalParam(s, name string, comma bool) (uint64, string, error) {
	rest, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, "", fmt.Errorf("%w: expected %q parameter", ErrInvalidHash, name[:1])
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i > 10 || (i > 1 && rest[0] == '0') {
		return 0, "", fmt.Errorf("%w: bad %q parameter", ErrInvalidHash, name[:1])
	}
	var v uint64
	for _, c := range rest[:i] {
		v = v*10 + uint64(c-'0')
	}
	rest = rest[i:]
	if comma {
		if rest, ok = strings.CutPrefix(rest, ","); !ok {
			return 0, "", fmt.Errorf("%w: bad %q parameter", ErrInvalidHash, name[:1])
		}
	}
	return v, rest, nil
}
