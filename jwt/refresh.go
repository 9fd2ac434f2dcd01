package jwt

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Refresh tokens are opaque, not JWTs: only this server ever reads them and
// it must consult the RefreshStore on every use anyway (atomic rotation and
// reuse detection), so a signature would add size and cost without removing
// the lookup, and an opaque token can never be mistaken for an access token.
// A token is RefreshTokenPrefix + the 3-hex-digit shard of its user
// ([RefreshShard]) + 256 random bits (base64url); the store sees only
// [RefreshTokenID], the shard and the token's SHA-256.

// RefreshTokenPrefix starts every refresh token (a distinct purpose).
const RefreshTokenPrefix = "akrt_"

// Defaults for [RefreshManagerConfig].
const (
	DefaultRefreshLifetime = 7 * 24 * time.Hour  // one refresh token
	DefaultFamilyLifetime  = 30 * 24 * time.Hour // absolute, per login
	DefaultGraceWindow     = 5 * time.Second     // retry window of a rotation
	MaxGraceWindow         = time.Minute         // upper bound of GraceWindow
	// NoGraceWindow, as RefreshManagerConfig.GraceWindow, turns the retry window
	// off: any second presentation of a rotated token is reuse.
	NoGraceWindow time.Duration = -1
)

// RefreshManagerConfig configures a [RefreshManager].
type RefreshManagerConfig struct {
	Store RefreshStore // required
	// Lifetime of one refresh token; zero means 7 days.
	Lifetime time.Duration
	// FamilyLifetime is the absolute lifetime of a login's token family:
	// rotation never extends it (ASVS 10.4.8); zero means 30 days.
	FamilyLifetime time.Duration
	// GraceWindow makes rotation safe to retry: a token presented again
	// less than GraceWindow after it was rotated, while its successor is
	// still unused, gets the SAME successor token back instead of a reuse
	// verdict, so a client whose response was lost (a dropped connection,
	// a store reply lost and retried by the driver) keeps its sign-in.
	// Zero means DefaultGraceWindow (5 s); NoGraceWindow turns it off; at
	// most MaxGraceWindow.
	//
	// The cost: within the window, whoever presents the rotated token gets
	// the successor too. A thief who copied a token and presents it within
	// seconds of the legitimate rotation obtains a live token of the family
	// without tripping reuse detection; the theft is still detected at the
	// next rotation by either party (the successor then is superseded and
	// the other copy is reuse, which revokes the family), and a token
	// presented after the window, or after its successor was rotated, is
	// reuse as without the window (RFC 9700 §4.14.2 allows this trade).
	GraceWindow time.Duration
	Now         func() time.Time // nil: time.Now
	Rand        io.Reader        // nil: crypto/rand.Reader
}

// RefreshManager issues and rotates refresh tokens with reuse detection.
// It is safe for concurrent use.
type RefreshManager struct {
	store     RefreshStore
	life, fam time.Duration
	grace     time.Duration
	now       func() time.Time
	rand      io.Reader
}

// NewRefreshManager validates cfg and returns a RefreshManager.
func NewRefreshManager(cfg RefreshManagerConfig) (_ *RefreshManager, err error) {
	defer wrapInvalidConfig(&err)
	if cfg.Store == nil {
		return nil, errors.New("jwt: RefreshManagerConfig.Store is required")
	}
	switch {
	case cfg.GraceWindow == 0:
		cfg.GraceWindow = DefaultGraceWindow
	case cfg.GraceWindow == NoGraceWindow:
		cfg.GraceWindow = 0
	case cfg.GraceWindow < 0 || cfg.GraceWindow > MaxGraceWindow:
		return nil, fmt.Errorf("jwt: RefreshManagerConfig.GraceWindow must be within 0..%v (or NoGraceWindow)", MaxGraceWindow)
	}
	if cfg.Lifetime < 0 || cfg.FamilyLifetime < 0 {
		return nil, errors.New("jwt: invalid RefreshManagerConfig durations")
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultRefreshLifetime
	}
	if cfg.FamilyLifetime == 0 {
		cfg.FamilyLifetime = DefaultFamilyLifetime
	}
	if cfg.Lifetime > cfg.FamilyLifetime {
		return nil, errors.New("jwt: Lifetime exceeds FamilyLifetime")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &RefreshManager{store: cfg.Store, life: cfg.Lifetime, fam: cfg.FamilyLifetime,
		grace: cfg.GraceWindow, now: cfg.Now, rand: cfg.Rand}, nil
}

// GraceWindow returns the effective retry window (zero when off).
func (m *RefreshManager) GraceWindow() time.Duration { return m.grace }

// shardLen is the length of a shard: 3 hex digits, 10 bits.
const shardLen = 3

// RefreshShard returns the shard of userID: the first 10 bits of
// SHA-256(userID) as 3 lowercase hex digits ("000"…"3ff"). Every refresh
// token of the user carries it, and [RefreshTokenID] starts with it, so a
// partitioned store can keep all of one user's records in one partition
// (one Redis Cluster hash slot) and find it from a token id alone.
func RefreshShard(userID string) string {
	h := sha256.Sum256([]byte(userID))
	return hex.EncodeToString([]byte{h[0] >> 6, h[1]})[1:]
}

// RefreshIDShard returns the shard that starts a token id made by
// [RefreshTokenID]; ok=false if id is not of that form.
func RefreshIDShard(id string) (shard string, ok bool) {
	if len(id) < shardLen+1 || id[shardLen] != '.' || !isShard(id[:shardLen]) {
		return "", false
	}
	return id[:shardLen], true
}

func isShard(s string) bool {
	if len(s) != shardLen || s[0] < '0' || s[0] > '3' {
		return false
	}
	for _, c := range []byte(s[1:]) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// RefreshTokenID returns the store id of a refresh token: its shard, a dot
// and the base64url SHA-256 of the whole token. Revocation keys on this,
// never on the raw string. A string that is not a refresh token gets the
// shard "000".
func RefreshTokenID(token string) string {
	shard := "000"
	if len(token) >= len(RefreshTokenPrefix)+shardLen && isShard(token[len(RefreshTokenPrefix):len(RefreshTokenPrefix)+shardLen]) {
		shard = token[len(RefreshTokenPrefix) : len(RefreshTokenPrefix)+shardLen]
	}
	h := sha256.Sum256([]byte(token))
	return shard + "." + base64.RawURLEncoding.EncodeToString(h[:])
}

func (m *RefreshManager) random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(m.rand, b); err != nil {
		return "", fmt.Errorf("jwt: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newToken returns a fresh token of userID's shard and its record with the
// per-token fields set.
func (m *RefreshManager) newToken(userID string, now time.Time) (string, RefreshToken, error) {
	secret, err := m.random(32)
	if err != nil {
		return "", RefreshToken{}, err
	}
	tok := RefreshTokenPrefix + RefreshShard(userID) + secret
	return tok, RefreshToken{ID: RefreshTokenID(tok), UserID: userID, IssuedAt: now, Expiry: now.Add(m.life)}, nil
}

// Issue starts a new family for userID (call it at the end of a sign-in)
// and returns the first refresh token. in holds the sign-in's facts; a zero
// AuthTime means now. The store keeps them with the family and every
// rotation returns them unchanged. If the user's not-before is later than
// in.AuthTime (a "log out everywhere" happened after this sign-in checked
// its credentials), nothing is stored and the error satisfies
// errors.Is(err, ErrRevoked).
func (m *RefreshManager) Issue(ctx context.Context, userID string, in SignIn) (string, RefreshToken, error) {
	if userID == "" {
		return "", RefreshToken{}, errors.New("jwt: empty userID")
	}
	family, err := m.random(16)
	if err != nil {
		return "", RefreshToken{}, err
	}
	now := m.now()
	if in.AuthTime.IsZero() {
		in.AuthTime = now
	}
	in.AMR = append([]string(nil), in.AMR...)
	tok, rec, err := m.newToken(userID, now)
	if err != nil {
		return "", RefreshToken{}, err
	}
	rec.FamilyID, rec.FamilyExpiry, rec.SignIn = family, now.Add(m.fam), in
	if rec.Expiry.After(rec.FamilyExpiry) {
		rec.Expiry = rec.FamilyExpiry
	}
	created, err := m.store.Create(ctx, rec)
	if err != nil {
		return "", RefreshToken{}, fmt.Errorf("jwt: store refresh token: %w", err)
	}
	if !created {
		return "", RefreshToken{}, errSignInRevoked
	}
	return tok, rec, nil
}

var errSignInRevoked = fmt.Errorf("jwt: sign-in predates the user's not-before: %w", ErrRevoked)

func parseRefresh(token string) bool {
	if len(token) != len(RefreshTokenPrefix)+shardLen+43 || !strings.HasPrefix(token, RefreshTokenPrefix) ||
		!isShard(token[len(RefreshTokenPrefix):len(RefreshTokenPrefix)+shardLen]) {
		return false
	}
	for _, c := range []byte(token[len(RefreshTokenPrefix)+shardLen:]) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// successorInfo labels the key that seals a successor (HKDF info).
const successorInfo = "authkit refresh successor v1"

// sealAEAD returns the AES-256-GCM cipher keyed by HKDF-SHA-256 of the
// presented token: only a holder of that token can open what it sealed,
// and the store, which sees only the token's SHA-256, cannot.
func sealAEAD(presented string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, []byte(presented), nil, successorInfo, 32)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func (m *RefreshManager) seal(presented, id, next string) ([]byte, error) {
	aead, err := sealAEAD(presented)
	if err != nil {
		return nil, fmt.Errorf("jwt: seal successor: %w", err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(next)+aead.Overhead())
	if _, err := io.ReadFull(m.rand, nonce); err != nil {
		return nil, fmt.Errorf("jwt: random: %w", err)
	}
	return aead.Seal(nonce, nonce, []byte(next), []byte(id)), nil
}

var errSealed = errors.New("jwt: stored successor does not open with the presented token")

func openSealed(presented, id string, sealed []byte) (string, error) {
	aead, err := sealAEAD(presented)
	if err != nil {
		return "", fmt.Errorf("jwt: open successor: %w", err)
	}
	if len(sealed) < aead.NonceSize() {
		return "", errSealed
	}
	pt, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(id))
	if err != nil {
		return "", errSealed
	}
	return string(pt), nil
}

// Refresh rotates token in one atomic store operation ([RefreshStore.Rotate])
// and returns its successor with the successor's record: the family's user
// id and the SignIn facts of the sign-in that started it, for minting the
// access token.
//
// It is safe to retry: the same token presented again within the grace
// window, while its successor is unused, returns the same successor string
// (sealed in the store under a key only the presented token opens). A
// second use of any token of a family outside that window, or of a token
// whose successor has itself been rotated, revokes the whole family, the
// newest token included, and returns ErrTokenReused with the presented
// token's record (RFC 9700 §4.14.2). Unknown, expired or revoked tokens
// give ErrInvalidToken. A store error changes nothing: the same token can
// be presented again.
func (m *RefreshManager) Refresh(ctx context.Context, token string) (string, RefreshToken, error) {
	if !parseRefresh(token) {
		return "", RefreshToken{}, errMalformed
	}
	id := RefreshTokenID(token)
	now := m.now()
	secret, err := m.random(32)
	if err != nil {
		return "", RefreshToken{}, err
	}
	// The successor is in the presented token's shard, which is its user's.
	next := token[:len(RefreshTokenPrefix)+shardLen] + secret
	sealed, err := m.seal(token, id, next)
	if err != nil {
		return "", RefreshToken{}, err
	}
	res, err := m.store.Rotate(ctx, Rotation{ID: id, Sealed: sealed, Now: now, Grace: m.grace,
		Next: RefreshToken{ID: RefreshTokenID(next), IssuedAt: now, Expiry: now.Add(m.life)}})
	if err != nil {
		return "", RefreshToken{}, fmt.Errorf("jwt: rotate refresh token: %w", err)
	}
	switch res.Outcome {
	case Rotated:
		return next, res.Token, nil
	case RotateRetried:
		prev, err := openSealed(token, id, res.Sealed)
		if err != nil {
			return "", RefreshToken{}, err
		}
		if RefreshTokenID(prev) != res.Token.ID {
			return "", RefreshToken{}, errSealed
		}
		return prev, res.Token, nil
	case RotateReused:
		return "", res.Token, ErrTokenReused
	}
	return "", RefreshToken{}, errUnknownKeyRefresh
}

var errUnknownKeyRefresh = &invalid{errors.New("jwt: refresh token unknown, expired or revoked")}

// UpdateSignIn records a re-authentication of userID in the family of
// token, the client's current refresh token, in one atomic store operation
// ([RefreshStore.UpdateSignIn]): every access token minted from the family
// afterwards carries in's auth_time, amr and acr. The token itself does not
// change and rotates as before; reuse detection is unaffected. in.AuthTime
// zero means now. A token that is malformed, unknown, already rotated,
// expired, of a revoked family or of another user, or a sign-in that
// predates the user's not-before, gives an error matching ErrInvalidToken
// and changes nothing. It returns the token's record (its expiry is
// unchanged) with the new facts.
func (m *RefreshManager) UpdateSignIn(ctx context.Context, token, userID string, in SignIn) (RefreshToken, error) {
	if !parseRefresh(token) {
		return RefreshToken{}, errMalformed
	}
	if userID == "" {
		return RefreshToken{}, errUnknownKeyRefresh
	}
	now := m.now()
	if in.AuthTime.IsZero() {
		in.AuthTime = now
	}
	in.AMR = append([]string(nil), in.AMR...)
	rec, found, err := m.store.UpdateSignIn(ctx, SignInUpdate{ID: RefreshTokenID(token), UserID: userID, SignIn: in, Now: now})
	if err != nil {
		return RefreshToken{}, fmt.Errorf("jwt: update sign-in: %w", err)
	}
	if !found {
		return RefreshToken{}, errUnknownKeyRefresh
	}
	return rec, nil
}

// Revoke revokes the family of token (logout). Unknown tokens are ignored.
func (m *RefreshManager) Revoke(ctx context.Context, token string) error {
	if !parseRefresh(token) {
		return nil
	}
	if _, _, err := m.store.RevokeToken(ctx, RefreshTokenID(token)); err != nil {
		return fmt.Errorf("jwt: revoke: %w", err)
	}
	return nil
}

// RevokeUser ends every refresh-token family of userID (logout everywhere,
// password change). It first records now as the user's not-before in the
// store, so a sign-in that checked its credentials before this call cannot
// create a family after it (see [RefreshStore.Create]) and a Verifier whose
// NotBefore is this store refuses the access tokens issued before; then it
// revokes the families that exist.
func (m *RefreshManager) RevokeUser(ctx context.Context, userID string) error {
	if err := m.store.SetNotBefore(ctx, userID, m.now()); err != nil {
		return fmt.Errorf("jwt: revoke user: %w", err)
	}
	if err := m.store.RevokeUser(ctx, userID); err != nil {
		return fmt.Errorf("jwt: revoke user: %w", err)
	}
	return nil
}
