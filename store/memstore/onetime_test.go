package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/store/memstore"
)

var _ authkit.OneTimeTokenStore = (*memstore.OneTimeTokens)(nil)

func TestOneTimeTokensConformance(t *testing.T) {
	authkittest.RunOneTimeTokenStore(t, func(t *testing.T) authkit.OneTimeTokenStore { return memstore.NewOneTimeTokens(nil) })
}

func TestOneTimeTokensClockAndPurge(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := memstore.NewOneTimeTokens(func() time.Time { return now })
	ctx := context.Background()
	rec := authkit.OneTimeToken{Purpose: authkit.PurposePasswordReset, UserID: "u", Email: "u@example.com", Expiry: now.Add(time.Minute)}
	for _, h := range []string{"a", "b"} {
		if err := s.Save(ctx, h, rec); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	now = now.Add(time.Minute) // Expiry is exclusive: at Expiry the token is dead
	if _, found, err := s.Take(ctx, "a"); err != nil || found {
		t.Fatalf("Take at expiry = found %v, err %v; want not found", found, err)
	}
	if n := s.Purge(); n != 1 {
		t.Fatalf("Purge = %d, want 1", n)
	}
	if n := s.Len(); n != 0 {
		t.Fatalf("Len after purge = %d, want 0", n)
	}
}
