package password

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
	//lint:ignore SA1019 bcrypt is Blowfish's key schedule; x/crypto/bcrypt uses it too
	"golang.org/x/crypto/blowfish"
)

// wrappedPrefix starts a wrapped bcrypt hash (see [Hasher.WrapBcrypt]):
//
//	$bcrypt-argon2id$<cost>$<22-char bcrypt salt>$argon2id$v=19$m=…,t=…,p=…[,keyid=…]$<salt>$<key>
//
// The argon2id part hashes bcrypt's 23-byte output for the password under
// the embedded cost and salt; the bcrypt output itself is not stored.
const wrappedPrefix = "$bcrypt-argon2id$"

// bcryptAlphabet is bcrypt's own base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// bcryptEncoding decodes bcrypt's salt (22 characters, 16 bytes) and hash
// (31 characters, 23 bytes) like golang.org/x/crypto/bcrypt does: trailing
// bits are ignored. It is never modified.
var bcryptEncoding = base64.NewEncoding(bcryptAlphabet).WithPadding(base64.NoPadding)

// bcryptRaw returns bcrypt's 23-byte output for pw under cost and the
// 16-byte salt: exactly what golang.org/x/crypto/bcrypt computes and
// encodes after the salt in a hash string (FuzzBcryptRaw checks this
// against that package). x/crypto/bcrypt exposes no way to hash with a
// given salt, which verifying a wrapped hash needs, so this runs its
// algorithm on x/crypto/blowfish, including the C implementations' quirks it
// keeps: a NUL appended to the key, bytes past 72 ignored, 23 of the 24
// encrypted bytes used.
func bcryptRaw(pw []byte, cost int, salt []byte) []byte {
	ckey := append(pw[:len(pw):len(pw)], 0)
	c, err := blowfish.NewSaltedCipher(ckey, salt)
	if err != nil { // unreachable: ckey is never empty
		return make([]byte, 23)
	}
	rounds := uint64(1) << uint(cost)
	for i := uint64(0); i < rounds; i++ {
		blowfish.ExpandKey(ckey, c)
		blowfish.ExpandKey(salt, c)
	}
	data := []byte("OrpheanBeholderScryDoubt")
	for i := 0; i < 24; i += 8 {
		for range 64 {
			c.Encrypt(data[i:i+8], data[i:i+8])
		}
	}
	return data[:23]
}

// bcryptParts checks a $2a$, $2b$ or $2y$ hash string and returns its cost,
// its 22-character salt and its decoded 23-byte output.
func (h *Hasher) bcryptParts(encoded string) (cost int, salt string, sum []byte, err error) {
	if !isBcrypt(encoded) || len(encoded) != 60 || encoded[6] != '$' {
		return 0, "", nil, fmt.Errorf("%w: malformed bcrypt hash", ErrInvalidHash)
	}
	cost, err = bcrypt.Cost([]byte(encoded))
	if err != nil {
		return 0, "", nil, fmt.Errorf("%w: malformed bcrypt hash", ErrInvalidHash)
	}
	if cost > h.maxBcryptCost {
		return 0, "", nil, fmt.Errorf("%w: bcrypt cost %d above %d", ErrInvalidHash, cost, h.maxBcryptCost)
	}
	salt = encoded[7:29]
	if _, err := bcryptEncoding.DecodeString(salt); err != nil {
		return 0, "", nil, fmt.Errorf("%w: malformed bcrypt salt", ErrInvalidHash)
	}
	sum, err = bcryptEncoding.DecodeString(encoded[29:])
	if err != nil || len(sum) != 23 {
		return 0, "", nil, fmt.Errorf("%w: malformed bcrypt hash", ErrInvalidHash)
	}
	return cost, salt, sum, nil
}

// WrapBcrypt turns an imported bcrypt hash ($2a$, $2b$ or $2y$) into a
// wrapped hash: argon2id at the current parameters (and pepper) over the
// bcrypt output, with the bcrypt cost and salt kept beside it. Call it when
// importing users from another system, and store only its result: the
// bcrypt hash itself is not kept, so an offline attack on a stolen user
// store pays bcrypt and argon2id for every guess.
//
// [Hasher.Verify] accepts the result: it recomputes bcrypt for the
// password under the embedded cost and salt, then argon2id over that, and
// reports needsRehash on success, so the next successful login replaces it
// with a plain argon2id hash. A wrong password for a wrapped account costs
// one bcrypt at the imported cost plus one argon2id at the current
// parameters. To keep that from telling imported accounts from native or
// unknown ones, set [Config.ImportedBcryptCost] while wrapped hashes remain.
//
// WrapBcrypt takes a hashing slot like [Hasher.Hash]. It fails with
// [ErrInvalidHash] for anything but a well-formed bcrypt hash with a cost
// up to [Config.MaxBcryptCost].
func (h *Hasher) WrapBcrypt(ctx context.Context, legacy string) (string, error) {
	return h.wrapBcrypt(ctx, stdKDF{}, legacy)
}

func (h *Hasher) wrapBcrypt(ctx context.Context, k kdf, legacy string) (string, error) {
	cost, salt, sum, err := h.bcryptParts(legacy)
	if err != nil {
		return "", err
	}
	inner, err := h.hashInput(ctx, k, mix(sum, h.curPepper))
	if err != nil {
		return "", err
	}
	return wrappedPrefix + fmt.Sprintf("%02d", cost) + "$" + salt + inner, nil
}

// wrapped is a decoded wrapped hash.
type wrapped struct {
	cost  int
	salt  []byte // 16 bytes
	inner phc
}

func (h *Hasher) decodeWrapped(s string) (wrapped, error) {
	var w wrapped
	rest, _ := strings.CutPrefix(s, wrappedPrefix)
	if len(rest) < 3+22 || rest[2] != '$' || rest[0] < '0' || rest[0] > '9' || rest[1] < '0' || rest[1] > '9' {
		return w, fmt.Errorf("%w: malformed wrapped bcrypt hash", ErrInvalidHash)
	}
	cost, _ := strconv.Atoi(rest[:2])
	if cost < bcrypt.MinCost || cost > h.maxBcryptCost {
		return w, fmt.Errorf("%w: bcrypt cost %d outside [%d, %d]", ErrInvalidHash, cost, bcrypt.MinCost, h.maxBcryptCost)
	}
	salt, err := bcryptEncoding.DecodeString(rest[3:25])
	if err != nil || len(salt) != 16 {
		return w, fmt.Errorf("%w: malformed wrapped bcrypt salt", ErrInvalidHash)
	}
	inner, err := decodeArgon2id(rest[25:], h.maxMemKiB)
	if err != nil {
		return w, err
	}
	return wrapped{cost: cost, salt: salt, inner: inner}, nil
}

func (h *Hasher) verifyWrapped(ctx context.Context, k kdf, pw, encoded string) (bool, bool, error) {
	w, err := h.decodeWrapped(encoded)
	if err != nil {
		return false, false, err
	}
	pepper, err := h.pepperFor(w.inner.keyID)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	sum := k.bcrypt([]byte(pw), w.cost, w.salt)
	p := w.inner.params
	got := k.argon2id(mix(sum, pepper), w.inner.salt(), p)
	h.release()
	if subtle.ConstantTimeCompare(got, w.inner.key()) != 1 || !bcryptExact(pw) {
		return false, false, nil // see bcryptExact
	}
	return true, true, nil
}
