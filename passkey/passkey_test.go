package passkey_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/authkit-go/authkit/passkey"
)

func TestRegisterThenDiscoverableLogin(t *testing.T) {
	r := newRig(t)
	id := r.register(t, "alice")
	res, err := r.p.FinishLogin(context.Background(), sessA, r.assertion(t))
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	if res.UserID != "alice" || string(res.Credential.ID) != string(id) {
		t.Fatalf("result user %q cred %x", res.UserID, res.Credential.ID)
	}
	if !res.UserVerified || !res.MultiFactor {
		t.Fatalf("UserVerified %v MultiFactor %v, want both", res.UserVerified, res.MultiFactor)
	}
	if want := []string{"hwk", "user", "mfa"}; !slices.Equal(res.AMR, want) {
		t.Fatalf("amr %q, want %q", res.AMR, want)
	}
	if res.Credential.SignCount != 1 || !res.Credential.LastUsedAt.Equal(r.clk.Now()) {
		t.Fatalf("count %d last used %v", res.Credential.SignCount, res.Credential.LastUsedAt)
	}
	stored, _, _ := r.creds.Get(context.Background(), id)
	if stored.SignCount != 1 {
		t.Fatalf("stored count %d, want 1", stored.SignCount)
	}
}

func TestReplayedAssertionIsRefused(t *testing.T) {
	r := newRig(t)
	r.register(t, "alice")
	resp := r.assertion(t)
	if _, err := r.p.FinishLogin(context.Background(), sessA, resp); err != nil {
		t.Fatal(err)
	}
	_, err := r.p.FinishLogin(context.Background(), sessA, resp)
	if !errors.Is(err, passkey.ErrReplay) || !errors.Is(err, passkey.ErrChallenge) {
		t.Fatalf("replay: %v, want ErrReplay", err)
	}
}

var _ = passkey.ErrReplay
