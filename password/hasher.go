package password

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

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
	// DefaultMaxWait is the default [Config.MaxWait]: about forty argon2id
	// computations at the default parameters.
	DefaultMaxWait = time.Second
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
	// allocating. It must be at least Params.Memory.
	MaxMemoryKiB uint32

	// MaxBcryptCost is the largest bcrypt cost accepted when verifying an
	// imported bcrypt hash (default 14; 4 to 31).
	MaxBcryptCost int

	// ImportedBcryptCost is the bcrypt cost of imported hashes (plain or
	// wrapped by [Hasher.WrapBcrypt]) still in the user store, 0 when there
	// are none (the default). When set, every verification that does not
	// already compute bcrypt (native argon2id accounts and
	// [Hasher.VerifyDummy] for unknown logins) also computes one bcrypt at
	// this cost and discards it, so the time of a failed login does not
	// tell imported accounts from the others. That adds bcrypt's cost to
	// every login: set it back to 0 once the imported hashes have been
	// replaced at their owners' logins. 4 to MaxBcryptCost.
	ImportedBcryptCost int

	// MaxConcurrent caps the hashes computed at once by this Hasher
	// (default 2×GOMAXPROCS at New). Callers beyond the cap wait until a
	// slot frees, their context ends or MaxWait passes (then ErrBusy).
	// Hashing memory is therefore bounded by MaxConcurrent × m.
	MaxConcurrent int

	// MaxWait is the longest a call waits for a hashing slot when all
	// MaxConcurrent are taken (default [DefaultMaxWait]); then it fails
	// with [ErrBusy], which a server answers with 503 and Retry-After, so
	// a burst of logins cannot queue everyone else's behind it.
	MaxWait time.Duration

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
// bcrypt hashes, plain or wrapped. Verification parses the stored hash once,
// with bounds, and runs golang.org/x/crypto/argon2 on exactly the decoded
// values, so the checked bounds are the ones argon2 runs with. It is safe
// for concurrent use.
type Hasher struct {
	params        Params
	maxMemKiB     uint32
	maxBcryptCost int
	importedCost  int
	sem           chan struct{}
	maxWait       time.Duration
	nfkc          bool
	// peppers maps the base64 keyid as written in hashes to the key.
	peppers   map[string][]byte
	curKeyID  string // base64 keyid of Peppers[0], "" when unpeppered
	curPepper []byte
	dummy     string // a hash at the current params that matches nothing
}

// kdf computes the hash functions a Hasher runs inside a hashing slot.
// The exported methods always pass stdKDF; this package's tests pass a
// wrapper that counts and can block the computations.
type kdf interface {
	argon2id(in, salt []byte, p Params) []byte
	// bcrypt returns bcrypt's 23-byte output for pw under cost and the
	// 16-byte salt.
	bcrypt(pw []byte, cost int, salt []byte) []byte
	// bcryptCompare is bcrypt.CompareHashAndPassword.
	bcryptCompare(hash, pw []byte) error
}

// stdKDF is the kdf of production: x/crypto's argon2 and bcrypt.
type stdKDF struct{}

func (stdKDF) argon2id(in, salt []byte, p Params) []byte {
	return argon2.IDKey(in, salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
}

func (stdKDF) bcrypt(pw []byte, cost int, salt []byte) []byte { return bcryptRaw(pw, cost, salt) }

func (stdKDF) bcryptCompare(hash, pw []byte) error { return bcrypt.CompareHashAndPassword(hash, pw) }

// New returns a Hasher for cfg, or an error if cfg is invalid.
func New(cfg Config) (_ *Hasher, err error) {
	defer wrapInvalidConfig(&err)
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
	if ic := cfg.ImportedBcryptCost; ic != 0 && (ic < bcrypt.MinCost || ic > bc) {
		return nil, fmt.Errorf("password: ImportedBcryptCost %d outside [%d, MaxBcryptCost %d]", ic, bcrypt.MinCost, bc)
	}
	n := cfg.MaxConcurrent
	if n == 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	if n < 0 {
		return nil, errors.New("password: negative MaxConcurrent")
	}
	wait := cfg.MaxWait
	if wait == 0 {
		wait = DefaultMaxWait
	}
	if wait < 0 {
		return nil, errors.New("password: negative MaxWait")
	}
	h := &Hasher{
		params:        p,
		maxMemKiB:     maxMem,
		maxBcryptCost: bc,
		importedCost:  cfg.ImportedBcryptCost,
		sem:           make(chan struct{}, n),
		maxWait:       wait,
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
func (h *Hasher) input(pw string, pepper []byte) []byte {
	if h.nfkc {
		pw = norm.NFKC.String(pw)
	}
	return mix([]byte(pw), pepper)
}

// mix returns in, or HMAC-SHA256(pepper, in) when pepper is set.
func mix(in, pepper []byte) []byte {
	if pepper == nil {
		return in
	}
	m := hmac.New(sha256.New, pepper)
	m.Write(in)
	return m.Sum(nil)
}

// pepperFor returns the pepper of a hash's keyid ("" for none).
func (h *Hasher) pepperFor(keyID string) ([]byte, error) {
	if keyID == "" {
		return nil, nil
	}
	if p, ok := h.peppers[keyID]; ok {
		return p, nil
	}
	return nil, ErrUnknownPepper
}

// acquire takes a hashing slot, waiting until one frees, ctx ends or
// MaxWait passes.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	case <-t.C:
		return fmt.Errorf("%w: no hashing slot free within %v", ErrBusy, h.maxWait)
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns a new argon2id hash of pw in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…[,keyid=…]$salt$key) with a fresh random salt
// from crypto/rand. The password is not truncated or case-folded (ASVS
// 6.2.8); see [Config.NormalizeNFKC]. Without a pepper the result is
// compatible with alexedwards/argon2id and the argon2 reference CLI.
//
// Hash waits for a slot under [Config.MaxConcurrent]; if ctx ends or
// [Config.MaxWait] passes first it returns an error wrapping [ErrBusy]
// (and ctx.Err() when ctx ended). It does not apply a [Policy]: check new
// passwords with one first.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	return h.hashInput(ctx, stdKDF{}, h.input(pw, h.curPepper))
}

// hashInput hashes the prepared argon2id input at the current parameters
// and encodes it with the current pepper id.
func (h *Hasher) hashInput(ctx context.Context, k kdf, in []byte) (string, error) {
	salt := make([]byte, h.params.SaltLength)
	rand.Read(salt) // never returns an error (crypto/rand)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := k.argon2id(in, salt, h.params)
	h.release()
	return h.encode(salt, key), nil
}

// Verify reports whether pw matches the stored hash encoded, and whether
// the hash should be replaced by Hash(pw) after a successful login.
//
// Supported formats: argon2id PHC strings (v=19, any parameters within the
// decoding bounds, optionally peppered), bcrypt ($2a$, $2b$, $2y$) and
// bcrypt wrapped by [Hasher.WrapBcrypt]; the bcrypt forms are verify-only,
// for migration. needsRehash is true only when ok is true and the hash is
// bcrypt-based, or its argon2id parameters, salt or key length or pepper
// key id differ from the current ones.
//
// Every path computes exactly one argon2id at the current parameters for a
// current hash (a plain bcrypt hash adds one that it discards), plus one
// bcrypt when the hash is bcrypt-based or [Config.ImportedBcryptCost] is
// set, so a wrong password costs the same whatever kind of account it is
// tried on.
//
// A wrong password gives ok=false and err=nil. err is non-nil when the
// stored hash is unusable (ErrInvalidHash, ErrUnknownPepper), or when no
// hashing slot was free before ctx ended or MaxWait passed (ErrBusy).
// Bounds are checked before any hashing, so a hostile stored hash cannot
// panic or exhaust memory. A password longer than 72 bytes never matches a
// bcrypt-based hash, because bcrypt would silently truncate it, nor does
// a password holding a NUL byte (bcrypt's key schedule collides it with
// shorter ones).
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error) {
	return h.verify(ctx, stdKDF{}, pw, encoded)
}

func (h *Hasher) verify(ctx context.Context, k kdf, pw, encoded string) (bool, bool, error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return h.verifyArgon2id(ctx, k, pw, encoded)
	case isBcrypt(encoded):
		return h.verifyBcrypt(ctx, k, pw, encoded)
	case strings.HasPrefix(encoded, wrappedPrefix):
		return h.verifyWrapped(ctx, k, pw, encoded)
	}
	return false, false, fmt.Errorf("%w: unsupported format", ErrInvalidHash)
}

func (h *Hasher) verifyArgon2id(ctx context.Context, k kdf, pw, encoded string) (bool, bool, error) {
	d, err := decodeArgon2id(encoded, h.maxMemKiB)
	if err != nil {
		return false, false, err
	}
	pepper, err := h.pepperFor(d.keyID)
	if err != nil {
		return false, false, err
	}
	in := h.input(pw, pepper)
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	h.equalize(k, pw)
	p := d.params
	got := k.argon2id(in, d.salt(), p)
	h.release()
	if subtle.ConstantTimeCompare(got, d.key()) != 1 {
		return false, false, nil
	}
	return true, p != h.params || d.keyID != h.curKeyID, nil
}

// equalize spends the bcrypt of [Config.ImportedBcryptCost] on a path that
// computes no bcrypt of its own.
func (h *Hasher) equalize(k kdf, pw string) {
	if h.importedCost != 0 {
		var salt [16]byte
		k.bcrypt([]byte(pw), h.importedCost, salt[:])
	}
}

// bcryptExact reports whether bcrypt distinguishes pw from every other
// password. bcrypt keys Blowfish with pw and a NUL, repeated to 72 bytes,
// so a password over 72 bytes collides with its first 72, and one holding
// a NUL with others ("pw" and "pw\x00pw" give the same key). Such a
// password never matches a bcrypt-based hash; C implementations, which
// stop at the NUL, could not have hashed one as given either.
func bcryptExact(pw string) bool {
	return len(pw) <= 72 && strings.IndexByte(pw, 0) < 0
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

func (h *Hasher) verifyBcrypt(ctx context.Context, k kdf, pw, encoded string) (bool, bool, error) {
	if _, _, _, err := h.bcryptParts(encoded); err != nil {
		return false, false, err
	}
	in := h.input(pw, h.curPepper)
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	// For passwords over 72 bytes or with a NUL the comparison still runs
	// (same timing) but its result is ignored below: see bcryptExact.
	err := k.bcryptCompare([]byte(encoded), []byte(pw))
	// The argon2id every other path computes, discarded.
	var salt [MaxSaltLength]byte
	k.argon2id(in, salt[:h.params.SaltLength], h.params)
	h.release()
	if !bcryptExact(pw) {
		return false, false, nil // bcrypt saw another password as well
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
// passwords take the same time (ASVS 6.3.8). It returns only the errors
// Verify would return for a real user at this point (ErrBusy or the
// context's error); treat them the same way.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	return h.verifyDummy(ctx, stdKDF{}, pw)
}

func (h *Hasher) verifyDummy(ctx context.Context, k kdf, pw string) error {
	_, _, err := h.verifyArgon2id(ctx, k, pw, h.dummy)
	return err
}
