package password

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// Default argon2id parameters for new hashes: the OWASP Password Storage
// Cheat Sheet's m=19 MiB, t=2, p=1, with a 16-byte salt and a 32-byte key.
const (
	DefaultMemoryKiB   = 19456
	DefaultIterations  = 2
	DefaultParallelism = 1
	DefaultSaltLength  = 16
	DefaultKeyLength   = 32
	// DefaultMaxBcryptCost is the default [Config.MaxBcryptCost].
	DefaultMaxBcryptCost = 14
)

// Params are argon2id parameters (RFC 9106 §3.1). Memory is in KiB.
type Params struct {
	Memory      uint32 // m, KiB
	Iterations  uint32 // t
	Parallelism uint8  // p
	SaltLength  uint32 // bytes
	KeyLength   uint32 // bytes
}

// Pepper is a secret HMAC-SHA256 key mixed into argon2id hashes (NIST SP
// 800-63B §5.1.1.2: "SHOULD perform an additional iteration of a keyed
// hashing function using a salt value known only to the verifier"). The
// argon2id input becomes HMAC-SHA256(Key, password), and ID is recorded in
// the hash string as the PHC "keyid" parameter, so peppers can be rotated.
type Pepper struct {
	// ID names the key: 1 to 8 bytes of [A-Za-z0-9._-].
	ID string
	// Key is the secret, at least 32 bytes, kept outside the user store.
	Key []byte
}

// Config configures a [Hasher]. The zero value is valid and gives the
// OWASP defaults.
type Config struct {
	// Params for new hashes. A zero field takes its default (m=19456 KiB,
	// t=2, p=1, 16-byte salt, 32-byte key). Unless InsecureAllowWeakParams
	// is set, New rejects parameters below OWASP's argon2id floor
	// (m ≥ 7168 KiB and m×t ≥ 35840, the equivalent configurations the
	// cheat sheet lists).
	Params Params

	// MaxMemoryKiB is the largest m accepted when decoding a stored hash
	// (default 256 MiB). Hashes above it fail with ErrInvalidHash instead of
	// allocating (SECURITY.md S16). It must be at least Params.Memory.
	MaxMemoryKiB uint32

	// MaxBcryptCost is the largest bcrypt cost accepted when verifying an
	// imported bcrypt hash (default 14; 4 to 31).
	MaxBcryptCost int

	// MaxConcurrent caps the hashes computed at once by this Hasher
	// (default 2×GOMAXPROCS at New). Callers beyond the cap wait until a
	// slot frees or their context ends (then ErrBusy). Hashing memory is
	// therefore bounded by MaxConcurrent × m (SECURITY.md S15).
	MaxConcurrent int

	// Peppers enables peppering. Peppers[0] is used for new hashes; the
	// others still verify existing hashes, which then report needsRehash,
	// so a pepper is rotated by prepending a new one and dropping the old
	// one once no hash uses it. Hashes without a keyid keep verifying and
	// are rehashed with Peppers[0].
	Peppers []Pepper

	// NormalizeNFKC applies Unicode NFKC to the password before argon2id
	// hashing and verification (NIST SP 800-63B §5.1.1.2 "SHOULD"), so the
	// same password typed as composed or decomposed characters matches.
	// It is off by default: the password is hashed exactly as received
	// (ASVS 6.2.8), which also keeps hashes imported from other systems
	// verifiable. Switching it on makes existing hashes of non-NFKC
	// passwords stop matching. It never applies to bcrypt hashes.
	NormalizeNFKC bool

	// InsecureAllowWeakParams lets Params go below the OWASP floor.
	// For tests only.
	InsecureAllowWeakParams bool
}

// Hasher hashes and verifies passwords with argon2id and verifies imported
// bcrypt hashes. New hashes are made by github.com/alexedwards/argon2id.
// Verification parses the stored hash once, with bounds, and runs
// golang.org/x/crypto/argon2 on exactly the decoded values, so the checked
// bounds are the ones argon2 runs with and no allocation is spent on a
// second parse. It is safe for concurrent use.
type Hasher struct {
	params        Params
	maxMemKiB     uint32
	maxBcryptCost int
	sem           chan struct{}
	nfkc          bool
	// peppers maps the base64 keyid as written in hashes to the key.
	peppers   map[string][]byte
	curKeyID  string // base64 keyid of Peppers[0], "" when unpeppered
	curPepper []byte
	dummy     string // a hash at the current params that matches nothing

	// hook, when set by tests in this package, observes each hash
	// computation inside the concurrency slot: start=true before, false after.
	hook func(e hashEvent)
}

// hashEvent is what the test hook sees.
type hashEvent struct {
	start  bool
	bcrypt bool
	params Params // argon2id params (zero for bcrypt)
}

// New returns a Hasher for cfg, or an error if cfg is invalid.
func New(cfg Config) (*Hasher, error) {
	p := cfg.Params
	if p.Memory == 0 {
		p.Memory = DefaultMemoryKiB
	}
	if p.Iterations == 0 {
		p.Iterations = DefaultIterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = DefaultParallelism
	}
	if p.SaltLength == 0 {
		p.SaltLength = DefaultSaltLength
	}
	if p.KeyLength == 0 {
		p.KeyLength = DefaultKeyLength
	}
	maxMem := cfg.MaxMemoryKiB
	if maxMem == 0 {
		maxMem = DefaultMaxMemoryKiB
	}
	switch {
	case p.Iterations > MaxIterations:
		return nil, fmt.Errorf("password: Params.Iterations %d above %d", p.Iterations, MaxIterations)
	case p.Parallelism > MaxParallelism:
		return nil, fmt.Errorf("password: Params.Parallelism %d above %d", p.Parallelism, MaxParallelism)
	case p.Memory < 8*uint32(p.Parallelism):
		return nil, fmt.Errorf("password: Params.Memory %d below 8×Parallelism", p.Memory)
	case p.SaltLength < 16 || p.SaltLength > MaxSaltLength:
		return nil, fmt.Errorf("password: Params.SaltLength %d outside [16, %d]", p.SaltLength, MaxSaltLength)
	case p.KeyLength < MinKeyLength || p.KeyLength > MaxKeyLength:
		return nil, fmt.Errorf("password: Params.KeyLength %d outside [%d, %d]", p.KeyLength, MinKeyLength, MaxKeyLength)
	case p.Memory > maxMem:
		return nil, fmt.Errorf("password: Params.Memory %d KiB above MaxMemoryKiB %d", p.Memory, maxMem)
	case !cfg.InsecureAllowWeakParams && (p.Memory < 7168 || uint64(p.Memory)*uint64(p.Iterations) < 35840):
		return nil, fmt.Errorf("password: Params m=%d t=%d below the OWASP floor (m ≥ 7168 KiB and m×t ≥ 35840)", p.Memory, p.Iterations)
	}
	bc := cfg.MaxBcryptCost
	if bc == 0 {
		bc = DefaultMaxBcryptCost
	}
	if bc < bcrypt.MinCost || bc > bcrypt.MaxCost {
		return nil, fmt.Errorf("password: MaxBcryptCost %d outside [%d, %d]", bc, bcrypt.MinCost, bcrypt.MaxCost)
	}
	n := cfg.MaxConcurrent
	if n == 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	if n < 0 {
		return nil, errors.New("password: negative MaxConcurrent")
	}
	h := &Hasher{
		params:        p,
		maxMemKiB:     maxMem,
		maxBcryptCost: bc,
		sem:           make(chan struct{}, n),
		nfkc:          cfg.NormalizeNFKC,
	}
	for i, pp := range cfg.Peppers {
		if !validKeyID(pp.ID) {
			return nil, fmt.Errorf("password: Peppers[%d].ID must be 1 to 8 bytes of [A-Za-z0-9._-]", i)
		}
		if len(pp.Key) < 32 {
			return nil, fmt.Errorf("password: Peppers[%d].Key shorter than 32 bytes", i)
		}
		id := base64.RawStdEncoding.EncodeToString([]byte(pp.ID))
		if h.peppers == nil {
			h.peppers = make(map[string][]byte, len(cfg.Peppers))
		}
		if _, dup := h.peppers[id]; dup {
			return nil, fmt.Errorf("password: duplicate pepper ID %q", pp.ID)
		}
		key := append([]byte(nil), pp.Key...)
		h.peppers[id] = key
		if i == 0 {
			h.curKeyID, h.curPepper = id, key
		}
	}
	// The dummy hash has the current params and pepper and an all-zero salt
	// and key, so VerifyDummy does exactly the work of a real Verify.
	h.dummy = h.encode(make([]byte, p.SaltLength), make([]byte, p.KeyLength))
	return h, nil
}

func validKeyID(id string) bool {
	if len(id) < 1 || len(id) > maxKeyIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Params returns the argon2id parameters used for new hashes.
func (h *Hasher) Params() Params { return h.params }

func (h *Hasher) paramPrefix(p Params) string {
	return fmt.Sprintf("%sm=%d,t=%d,p=%d", argon2idPrefix, p.Memory, p.Iterations, p.Parallelism)
}

// encode formats a PHC string at the current params and pepper.
func (h *Hasher) encode(salt, key []byte) string {
	var b strings.Builder
	b.WriteString(h.paramPrefix(h.params))
	if h.curKeyID != "" {
		b.WriteString(",keyid=")
		b.WriteString(h.curKeyID)
	}
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(key))
	return b.String()
}

// input returns what argon2id hashes for pw: optionally NFKC-normalized,
// then optionally HMAC-SHA256 under the pepper.
func (h *Hasher) input(pw string, pepper []byte) string {
	if h.nfkc {
		pw = norm.NFKC.String(pw)
	}
	if pepper == nil {
		return pw
	}
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(pw))
	return string(m.Sum(nil))
}

// acquire takes a hashing slot, waiting until one frees or ctx ends.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns a new argon2id hash of pw in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…[,keyid=…]$salt$key) with a fresh random salt
// from crypto/rand. The password is not truncated or case-folded (ASVS
// 6.2.8); see [Config.NormalizeNFKC]. Without a pepper the result is
// compatible with alexedwards/argon2id and the argon2 reference CLI.
//
// Hash waits for a slot under [Config.MaxConcurrent]; if ctx ends first it
// returns an error wrapping [ErrBusy] and ctx.Err(). It does not apply a
// [Policy]: check new passwords with one first.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	in := h.input(pw, h.curPepper)
	p := h.params
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	if h.hook != nil {
		h.hook(hashEvent{start: true, params: p})
	}
	enc, err := argon2id.CreateHash(in, &argon2id.Params{
		Memory: p.Memory, Iterations: p.Iterations, Parallelism: p.Parallelism,
		SaltLength: p.SaltLength, KeyLength: p.KeyLength,
	})
	if h.hook != nil {
		h.hook(hashEvent{start: false, params: p})
	}
	h.release()
	if err != nil {
		return "", fmt.Errorf("password: hashing: %w", err)
	}
	if h.curKeyID == "" {
		return enc, nil
	}
	prefix := h.paramPrefix(p)
	if !strings.HasPrefix(enc, prefix+"$") {
		return "", errors.New("password: unexpected argon2id encoding")
	}
	return prefix + ",keyid=" + h.curKeyID + enc[len(prefix):], nil
}

// Verify reports whether pw matches the stored hash encoded, and whether
// the hash should be replaced by Hash(pw) after a successful login.
//
// Supported formats: argon2id PHC strings (v=19, any parameters within the
// decoding bounds, optionally peppered) and bcrypt ($2a$, $2b$, $2y$),
// which is verify-only for migration. needsRehash is true only when ok is
// true and the hash is bcrypt, or its argon2id parameters, salt or key
// length or pepper key id differ from the current ones.
//
// A wrong password gives ok=false and err=nil. err is non-nil when the
// stored hash is unusable (ErrInvalidHash, ErrUnknownPepper), or when ctx
// ended before a hashing slot was free (ErrBusy). Bounds are checked before
// any hashing, so a hostile stored hash cannot panic or exhaust memory
// (SECURITY.md S16). A password longer than 72 bytes never matches a bcrypt
// hash, because bcrypt would silently truncate it (SECURITY.md S17).
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error) {
	if strings.HasPrefix(encoded, "$argon2id$") {
		return h.verifyArgon2id(ctx, pw, encoded)
	}
	if isBcrypt(encoded) {
		return h.verifyBcrypt(ctx, pw, encoded)
	}
	return false, false, fmt.Errorf("%w: unsupported format", ErrInvalidHash)
}

func (h *Hasher) verifyArgon2id(ctx context.Context, pw, encoded string) (bool, bool, error) {
	d, err := decodeArgon2id(encoded, h.maxMemKiB)
	if err != nil {
		return false, false, err
	}
	var pepper []byte
	if d.keyID != "" {
		var ok bool
		if pepper, ok = h.peppers[d.keyID]; !ok {
			return false, false, ErrUnknownPepper
		}
	}
	var buf [MaxSaltLength + MaxKeyLength]byte
	salt := appendBase64(buf[:0], d.salt)
	key := appendBase64(salt[len(salt):], d.key) // shares buf, no allocation
	in := h.input(pw, pepper)
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	if h.hook != nil {
		h.hook(hashEvent{start: true, params: d.params})
	}
	p := d.params
	got := argon2.IDKey([]byte(in), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	if h.hook != nil {
		h.hook(hashEvent{start: false, params: d.params})
	}
	h.release()
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != h.params || d.keyID != h.curKeyID, nil
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

func (h *Hasher) verifyBcrypt(ctx context.Context, pw, encoded string) (bool, bool, error) {
	hash := []byte(encoded)
	cost, err := bcrypt.Cost(hash)
	if err != nil || len(hash) != 60 {
		return false, false, fmt.Errorf("%w: malformed bcrypt hash", ErrInvalidHash)
	}
	if cost > h.maxBcryptCost {
		return false, false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrInvalidHash, cost, h.maxBcryptCost)
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	if h.hook != nil {
		h.hook(hashEvent{start: true, bcrypt: true})
	}
	// For passwords over 72 bytes bcrypt compares only the first 72; the
	// comparison still runs (same timing) but its result is ignored below.
	err = bcrypt.CompareHashAndPassword(hash, []byte(pw))
	if h.hook != nil {
		h.hook(hashEvent{start: false, bcrypt: true})
	}
	h.release()
	if len(pw) > 72 {
		return false, false, nil // S17: never match on a truncated password
	}
	switch {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("%w: %w", ErrInvalidHash, err)
	}
}

// VerifyDummy performs the same work as a failed [Hasher.Verify] against a
// hash at the current parameters and pepper, and discards the result. Call
// it when the login name is unknown so that unknown users and wrong
// passwords take the same time (ASVS 6.3.8; SECURITY.md S11). It returns
// only the errors Verify would return for a real user at this point
// (ErrBusy or the context's error); treat them the same way.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	_, _, err := h.verifyArgon2id(ctx, pw, h.dummy)
	return err
}
