package jwt

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Refresh tokens are opaque, not JWTs: only this server ever reads them and
// it must consult the RefreshStore on every use anyway (atomic rotation and
// reuse detection), so a signature would add size and cost without removing
// the lookup, and an opaque token can never be mistaken for an access token
// (B10, J17). A token is RefreshTokenPrefix + 256 random bits (base64url);
// the store sees only its SHA-256.

// RefreshTokenPrefix starts every refresh token (distinct purpose, B10).
const RefreshTokenPrefix = "akrt_"

// Defaults for [RefreshConfig].
const (
	DefaultRefreshLifetime = 7 * 24 * time.Hour  // one refresh token
	DefaultFamilyLifetime  = 30 * 24 * time.Hour // absolute, per login
	MaxGraceWindow         = time.Minute         // upper bound of GraceWindow
)

// RefreshConfig configures a [RefreshManager].
type RefreshConfig struct {
	Store RefreshStore // required
	// Lifetime of one refresh token; zero means 7 days.
	Lifetime time.Duration
	// FamilyLifetime is the absolute lifetime of a login's token family:
	// rotation never extends it (ASVS 10.4.8); zero means 30 days.
	FamilyLifetime time.Duration
	// GraceWindow, if positive (at most one minute), lets a token that was
	// rotated less than GraceWindow ago be presented again without revoking
	// the family, for a client that lost the response. Each such retry gets
	// a new token in the same family. Zero (the default) disables it: any
	// second use revokes the family (RFC 9700 §4.14.2).
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
func NewRefreshManager(cfg RefreshConfig) (*RefreshManager, error) {
	if cfg.Store == nil {
		return nil, errors.New("jwt: RefreshConfig.Store is required")
	}
	if cfg.Lifetime < 0 || cfg.FamilyLifetime < 0 || cfg.GraceWindow < 0 || cfg.GraceWindow > MaxGraceWindow {
		return nil, errors.New("jwt: invalid RefreshConfig durations")
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

// RefreshTokenID returns the store id of a refresh token: base64url of its
// SHA-256. Revocation keys on this, never on the raw string.
func RefreshTokenID(token string) string {
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func (m *RefreshManager) random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(m.rand, b); err != nil {
		return "", fmt.Errorf("jwt: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (m *RefreshManager) mint(ctx context.Context, userID, family string, famExp, now time.Time) (string, RefreshToken, error) {
	secret, err := m.random(32)
	if err != nil {
		return "", RefreshToken{}, err
	}
	tok := RefreshTokenPrefix + secret
	exp := now.Add(m.life)
	if exp.After(famExp) {
		exp = famExp
	}
	rec := RefreshToken{ID: RefreshTokenID(tok), FamilyID: family, UserID: userID,
		IssuedAt: now, Expiry: exp, FamilyExpiry: famExp}
	if err := m.store.Create(ctx, rec); err != nil {
		return "", RefreshToken{}, fmt.Errorf("jwt: store refresh token: %w", err)
	}
	return tok, rec, nil
}

// Issue starts a new family for userID (call it at login) and returns the
// first refresh token.
func (m *RefreshManager) Issue(ctx context.Context, userID string) (string, RefreshToken, error) {
	if userID == "" {
		return "", RefreshToken{}, errors.New("jwt: empty userID")
	}
	family, err := m.random(16)
	if err != nil {
		return "", RefreshToken{}, err
	}
	now := m.now()
	return m.mint(ctx, userID, family, now.Add(m.fam), now)
}

func parseRefresh(token string) bool {
	if len(token) != len(RefreshTokenPrefix)+43 || !strings.HasPrefix(token, RefreshTokenPrefix) {
		return false
	}
	for _, c := range []byte(token[len(RefreshTokenPrefix):]) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Refresh rotates token: it is used atomically through RefreshStore.Use and
// a new token of the same family is returned (with the family's user id in
// the record, for minting the access token). A second use of any token of a
// family revokes the whole family, the newest token included, and returns
// ErrTokenReused (RFC 9700 §4.14.2; S19, S20) unless it falls in the grace
// window. Unknown, expired or revoked tokens give ErrInvalidToken.
func (m *RefreshManager) Refresh(ctx context.Context, token string) (string, RefreshToken, error) {
	if !parseRefresh(token) {
		return "", RefreshToken{}, errMalformed
	}
	now := m.now()
	prev, found, err := m.store.Use(ctx, RefreshTokenID(token), now)
	if err != nil {
		return "", RefreshToken{}, fmt.Errorf("jwt: use refresh token: %w", err)
	}
	if !found {
		return "", RefreshToken{}, errUnknownKeyRefresh
	}
	if !now.Before(prev.FamilyExpiry) {
		return "", RefreshToken{}, errExpired // absolute family lifetime
	}
	if !prev.UsedAt.IsZero() {
		if m.grace > 0 && now.Sub(prev.UsedAt) < m.grace {
			return m.mint(ctx, prev.UserID, prev.FamilyID, prev.FamilyExpiry, now)
		}
		if err := m.store.RevokeFamily(ctx, prev.FamilyID); err != nil {
			return "", RefreshToken{}, errors.Join(ErrTokenReused, fmt.Errorf("jwt: revoke family: %w", err))
		}
		return "", RefreshToken{}, ErrTokenReused
	}
	return m.mint(ctx, prev.UserID, prev.FamilyID, prev.FamilyExpiry, now)
}

var errUnknownKeyRefresh = &invalid{errors.New("jwt: refresh token unknown, expired or revoked")}

// Revoke revokes the family of token (logout). Unknown tokens are ignored.
// It marks the token used, so the revocation works even if the family id can
// only be learned through Use.
func (m *RefreshManager) Revoke(ctx context.Context, token string) error {
	if !parseRefresh(token) {
		return nil
	}
	prev, found, err := m.store.Use(ctx, RefreshTokenID(token), m.now())
	if err != nil {
		return fmt.Errorf("jwt: revoke: %w", err)
	}
	if !found {
		return nil
	}
	if err := m.store.RevokeFamily(ctx, prev.FamilyID); err != nil {
		return fmt.Errorf("jwt: revoke: %w", err)
	}
	return nil
}

// RevokeUser revokes every refresh-token family of userID (logout
// everywhere, password change). Pair it with NotBeforeStore.SetNotBefore so
// outstanding access tokens are refused too (J25).
func (m *RefreshManager) RevokeUser(ctx context.Context, userID string) error {
	if err := m.store.RevokeUser(ctx, userID); err != nil {
		return fmt.Errorf("jwt: revoke user: %w", err)
	}
	return nil
}
