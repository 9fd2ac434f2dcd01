package passkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
)

// optionsUserHandle returns publicKey.user.id of registration options.
func optionsUserHandle(t *testing.T, o passkey.Options) []byte {
	t.Helper()
	var v struct {
		PublicKey struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(o.JSON, &v); err != nil {
		t.Fatal(err)
	}
	h, err := b64dec(v.PublicKey.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestConcurrentFirstRegistrationsShareOneUserHandle(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	const n = 16
	opts := make([]passkey.Options, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	// Every ceremony begins before any finishes: all see a user without
	// passkeys.
	for i := range n {
		wg.Go(func() {
			opts[i], errs[i] = r.p.BeginRegistration(ctx, fmt.Sprintf("browser-%d", i), passkey.User{ID: "alice", Name: "alice@example.com"})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		wg.Go(func() {
			resp, _, err := passkeytest.New(origin).Create(opts[i].JSON)
			if err == nil {
				_, err = r.p.FinishRegistration(ctx, fmt.Sprintf("browser-%d", i), "alice", fmt.Sprintf("Key %d", i), resp)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	creds, err := r.p.List(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != n {
		t.Fatalf("%d credentials, want %d", len(creds), n)
	}
	want := creds[0].UserHandle
	if len(want) != 32 {
		t.Fatalf("user handle is %d bytes, want 32", len(want))
	}
	for i, c := range creds {
		if !bytes.Equal(c.UserHandle, want) {
			t.Errorf("credential %d: user handle %x, want %x", i, c.UserHandle, want)
		}
	}
	for i, o := range opts {
		if h := optionsUserHandle(t, o); !bytes.Equal(h, want) {
			t.Errorf("ceremony %d offered user handle %x, want %x", i, h, want)
		}
	}
}

func TestSameUserHandleKeyGivesSameHandleOnTwoInstances(t *testing.T) {
	key := bytes.Repeat([]byte{7}, passkey.MinUserHandleKeyBytes)
	withKey := func(k []byte) func(*passkey.Config) {
		return func(c *passkey.Config) { c.UserHandleKey = k }
	}
	a, b := newRig(t, withKey(key)), newRig(t, withKey(key))
	other := newRig(t, withKey(bytes.Repeat([]byte{8}, passkey.MinUserHandleKeyBytes)))
	ctx := context.Background()
	handle := func(r *rig, userID string) []byte {
		o, err := r.p.BeginRegistration(ctx, sessA, passkey.User{ID: userID, Name: userID + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		return optionsUserHandle(t, o)
	}
	ha := handle(a, "alice")
	if hb := handle(b, "alice"); !bytes.Equal(ha, hb) {
		t.Fatalf("two instances with one key: handles %x and %x", ha, hb)
	}
	if len(ha) != 32 || bytes.Contains(ha, []byte("alice")) {
		t.Fatalf("handle %x: want 32 opaque bytes", ha)
	}
	if hc := handle(other, "alice"); bytes.Equal(ha, hc) {
		t.Fatalf("another key gave the same handle %x", hc)
	}
	if hbob := handle(a, "bob"); bytes.Equal(ha, hbob) {
		t.Fatalf("alice and bob share the handle %x", ha)
	}
}

func TestShortUserHandleKeyIsRefused(t *testing.T) {
	for _, n := range []int{0, 1, passkey.MinUserHandleKeyBytes - 1} {
		_, err := passkey.New(passkey.Config{
			RPID: rpID, RPDisplayName: "Example", Origins: []string{origin},
			Credentials: memtest.New(t, nil).Passkeys(), Tickets: memtest.New(t, nil).Tickets(),
			UserHandleKey: make([]byte, n),
		})
		if !errors.Is(err, passkey.ErrInvalidConfig) {
			t.Errorf("%d-byte key: %v, want ErrInvalidConfig", n, err)
		}
	}
}
