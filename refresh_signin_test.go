package authkit_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/store/memstore"
)

// Every access token minted by a refresh carries the amr and auth_time of
// the sign-in that started the family, so the MFA fact survives a refresh
// and a later FamilyLifetime change cannot move auth_time.
func TestRefreshKeepsSignInFacts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.signup("facts@example.com")
	u, found, err := e.users.UserByLogin(ctx, "facts@example.com")
	if err != nil || !found {
		t.Fatalf("user: %v %v", found, err)
	}
	signedIn := e.clock.Now()
	toks, err := e.auth.IssueTokens(ctx, u, []string{authkit.AMRPassword, authkit.AMROTP})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	next, _, err := e.auth.Refresh(ctx, toks.Refresh, authkit.Client{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := e.auth.Verifier().Verify(ctx, next.Access)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cl.AMR, []string{"pwd", "otp"}) || !cl.AuthTime.Equal(signedIn.Truncate(time.Second)) {
		t.Fatalf("refreshed access token: amr %v auth_time %v, want [pwd otp] and %v", cl.AMR, cl.AuthTime, signedIn)
	}
}

func TestFamilyLifetimeChangeKeepsAuthTime(t *testing.T) {
	ctx := context.Background()
	var st *memstore.RefreshTokens
	long := newEnv(t, func(c *authkit.Config) {
		st = memtest.New(t, c.Now).RefreshTokens()
		c.RefreshStore, c.NotBefore = st, st
	})
	long.signup("move@example.com")
	u, _, _ := long.users.UserByLogin(ctx, "move@example.com")
	signedIn := long.clock.Now()
	toks, err := long.auth.IssueTokens(ctx, u, []string{authkit.AMRPassword})
	if err != nil {
		t.Fatal(err)
	}
	short := newEnv(t, func(c *authkit.Config) {
		c.RefreshStore, c.NotBefore, c.FamilyLifetime, c.RefreshLifetime = st, st, 24*time.Hour, time.Hour
		c.Users = long.users
	})
	short.clock.Advance(time.Minute)
	next, _, err := short.auth.Refresh(ctx, toks.Refresh, authkit.Client{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := short.auth.Verifier().Verify(ctx, next.Access)
	if err != nil {
		t.Fatal(err)
	}
	if !cl.AuthTime.Equal(signedIn.Truncate(time.Second)) {
		t.Fatalf("auth_time %v after a FamilyLifetime change, want %v", cl.AuthTime, signedIn)
	}
}
