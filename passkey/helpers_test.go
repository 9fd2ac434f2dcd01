package passkey_test

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/memstore"
)

const (
	rpID   = "example.com"
	origin = "https://login.example.com"
	sessA  = "browser-session-a"
	sessB  = "browser-session-b"
)

type rig struct {
	p       *passkey.Passkeys
	tickets *memstore.Tickets
	creds   *memstore.Passkeys
	clk     *memtest.Clock
	auth    *passkeytest.Authenticator
}

func newRig(t testing.TB, mod ...func(*passkey.Config)) *rig {
	t.Helper()
	clk := memtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	st := memtest.New(t, clk.Now)
	creds := st.Passkeys()
	tickets := st.Tickets()
	cfg := passkey.Config{
		RPID: rpID, RPDisplayName: "Example", Origins: []string{origin},
		Credentials: creds, Tickets: tickets, Now: clk.Now,
	}
	for _, m := range mod {
		m(&cfg)
	}
	p, err := passkey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{p: p, tickets: tickets, creds: creds, clk: clk, auth: passkeytest.New(origin)}
}

// register adds a passkey on r.auth for user and returns its id.
func (r *rig) register(t testing.TB, userID string) []byte {
	t.Helper()
	ctx := context.Background()
	opts, err := r.p.BeginRegistration(ctx, sessA, passkey.User{ID: userID, Name: userID + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	resp, id, err := r.auth.Create(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.p.FinishRegistration(ctx, sessA, userID, "Laptop", resp)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	if string(c.ID) != string(id) {
		t.Fatalf("stored id %x, authenticator id %x", c.ID, id)
	}
	return id
}

// assertion begins a discoverable sign-in in sessA and returns the
// authenticator's response.
func (r *rig) assertion(t testing.TB) []byte {
	t.Helper()
	opts, err := r.p.BeginLogin(context.Background(), sessA, false)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.auth.Get(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
