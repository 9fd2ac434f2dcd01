package memstore_test

import (
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
)

// TestPurgeKeepsNotBeforeForOldSignIns: a sign-in's AuthTime can be far in
// the past (a family minted for a long-lived session keeps the original
// sign-in's time). Purge must not forget a "log out everywhere" that such a
// sign-in predates, or Create would start a live family for it.
func TestPurgeKeepsNotBeforeForOldSignIns(t *testing.T) {
	ctx := t.Context()
	start := time.Unix(1_700_000_000, 0)
	now := start
	s := memtest.New(t, func() time.Time { return now }).RefreshTokens()
	user := "u-1"
	logout := start.Add(time.Hour)
	if err := s.SetNotBefore(ctx, user, logout); err != nil {
		t.Fatal(err)
	}
	now = logout.Add(jwt.MaxAccessTokenLifetime + time.Hour)
	s.Purge()
	tok := jwt.RefreshToken{ID: jwt.RefreshTokenID("akrt_x"), FamilyID: "f", UserID: user, IssuedAt: now,
		Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(24 * time.Hour),
		SignIn: jwt.SignIn{AuthTime: logout.Add(-time.Minute)}}
	created, err := s.Create(ctx, tok)
	if err != nil || created {
		t.Fatalf("Create for a sign-in before the purged not-before: created=%v err=%v, want false", created, err)
	}
}
