package passkey_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
)

func TestRemoveReturnsSignalPayloads(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	first := r.register(t, "alice")
	r.auth = passkeytest.New(origin) // a second device
	second := r.register(t, "alice")
	r.register(t, "bob")
	rm, err := r.p.Remove(ctx, "alice", first, true)
	if err != nil {
		t.Fatal(err)
	}
	if rm.Unknown != (passkey.SignalUnknownCredential{RPID: rpID, CredentialID: b64(first)}) {
		t.Fatalf("signalUnknownCredential %+v", rm.Unknown)
	}
	c, _, _ := r.creds.Get(ctx, second)
	if rm.AllAccepted.RPID != rpID || rm.AllAccepted.UserID != b64(c.UserHandle) ||
		!slices.Equal(rm.AllAccepted.AllAcceptedCredentialIDs, []string{b64(second)}) {
		t.Fatalf("signalAllAcceptedCredentials %+v", rm.AllAccepted)
	}
	// keepLast: the only remaining passkey stays.
	if _, err := r.p.Remove(ctx, "alice", second, true); !errors.Is(err, passkey.ErrLastCredential) {
		t.Fatalf("removing the last passkey with keepLast: %v", err)
	}
	if _, found, _ := r.creds.Get(ctx, second); !found {
		t.Fatal("last passkey removed despite keepLast")
	}
	rm, err = r.p.Remove(ctx, "alice", second, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.AllAccepted.AllAcceptedCredentialIDs) != 0 || rm.AllAccepted.AllAcceptedCredentialIDs == nil {
		t.Fatalf("allAcceptedCredentialIds %#v, want empty list", rm.AllAccepted.AllAcceptedCredentialIDs)
	}
}

func TestRemoveOrRenameAnotherUsersPasskeyIsNotFound(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	bob := r.register(t, "bob")
	r.auth = passkeytest.New(origin)
	r.register(t, "bob")
	if _, err := r.p.Remove(ctx, "alice", bob, false); !errors.Is(err, passkey.ErrNotFound) {
		t.Fatalf("Remove: %v", err)
	}
	if err := r.p.Rename(ctx, "alice", bob, "Mine"); !errors.Is(err, passkey.ErrNotFound) {
		t.Fatalf("Rename: %v", err)
	}
	if c, _, _ := r.creds.Get(ctx, bob); c.Name != "Laptop" {
		t.Fatalf("name %q", c.Name)
	}
}

func TestRename(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id := r.register(t, "alice")
	if err := r.p.Rename(ctx, "alice", id, "Phone ☎"); err != nil {
		t.Fatal(err)
	}
	list, err := r.p.List(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].Name != "Phone ☎" {
		t.Fatalf("list %+v err %v", list, err)
	}
	for _, bad := range []string{"", "   ", "a\x00b", "line\nbreak", strings.Repeat("x", passkey.MaxNameBytes+1), "\xff"} {
		if err := r.p.Rename(ctx, "alice", id, bad); !errors.Is(err, passkey.ErrInvalidName) {
			t.Errorf("Rename(%q): %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	good := func() passkey.Config {
		return passkey.Config{
			RPID: rpID, RPDisplayName: "Example", Origins: []string{origin},
			Credentials: memtest.New(t, nil).Passkeys(), Tickets: memtest.New(t, nil).Tickets(),
		}
	}
	if _, err := passkey.New(good()); err != nil {
		t.Fatalf("good config: %v", err)
	}
	cases := map[string]func(*passkey.Config){
		"no rp id":           func(c *passkey.Config) { c.RPID = "" },
		"rp id with scheme":  func(c *passkey.Config) { c.RPID = "https://example.com" },
		"rp id ip":           func(c *passkey.Config) { c.RPID = "192.0.2.1" },
		"no display name":    func(c *passkey.Config) { c.RPDisplayName = " " },
		"no origins":         func(c *passkey.Config) { c.Origins = nil },
		"http origin":        func(c *passkey.Config) { c.Origins = []string{"http://login.example.com"} },
		"origin outside rp":  func(c *passkey.Config) { c.Origins = []string{"https://example.net"} },
		"origin suffix trap": func(c *passkey.Config) { c.Origins = []string{"https://badexample.com"} },
		"origin with path":   func(c *passkey.Config) { c.Origins = []string{"https://example.com/login"} },
		"no credentials":     func(c *passkey.Config) { c.Credentials = nil },
		"no tickets":         func(c *passkey.Config) { c.Tickets = nil },
		"timeout too long":   func(c *passkey.Config) { c.Timeout = passkey.MaxCeremonyTimeout + 1 },
		"timeout too short":  func(c *passkey.Config) { c.Timeout = 1 },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			mod(&cfg)
			if _, err := passkey.New(cfg); !errors.Is(err, passkey.ErrInvalidConfig) {
				t.Fatalf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
	cfg := good()
	cfg.RPID, cfg.Origins = "localhost", []string{"http://localhost:8080"}
	if _, err := passkey.New(cfg); err != nil {
		t.Fatalf("localhost over http: %v", err)
	}
}

type failingTickets struct{}

var errDown = errors.New("store down")

func (failingTickets) Put(context.Context, string, string, []byte, time.Time) error { return errDown }
func (failingTickets) Take(context.Context, string, string) ([]byte, bool, error) {
	return nil, false, errDown
}

func TestTicketStoreFailureFailsClosed(t *testing.T) {
	r := newRig(t)
	r.register(t, "alice")
	resp := r.assertion(t)
	p, err := passkey.New(passkey.Config{
		RPID: rpID, RPDisplayName: "Example", Origins: []string{origin},
		Credentials: r.creds, Tickets: failingTickets{},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.BeginLogin(ctx, sessA, false); !errors.Is(err, errDown) {
		t.Fatalf("BeginLogin: %v", err)
	}
	if _, err := p.FinishLogin(ctx, sessA, resp); !errors.Is(err, errDown) {
		t.Fatalf("FinishLogin: %v", err)
	}
}
