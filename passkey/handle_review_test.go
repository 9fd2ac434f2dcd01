package passkey_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
)

func withHandleKey(k []byte) func(*passkey.Config) {
	return func(c *passkey.Config) { c.UserHandleKey = k }
}

// sibling is a second Passkeys over r's stores and clock, as another
// instance of one deployment runs.
func (r *rig) sibling(t *testing.T, key []byte) *passkey.Passkeys {
	t.Helper()
	p, err := passkey.New(passkey.Config{
		RPID: rpID, RPDisplayName: "Example", Origins: []string{origin},
		Credentials: r.creds, Tickets: r.tickets, Now: r.clk.Now, UserHandleKey: key,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// registerOn runs a whole registration of userID on p with dev under
// binding and returns the stored credential.
func registerOn(t *testing.T, p *passkey.Passkeys, dev *passkeytest.Authenticator, binding, userID string) passkey.Credential {
	t.Helper()
	ctx := context.Background()
	opts, err := p.BeginRegistration(ctx, binding, passkey.User{ID: userID, Name: userID + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := dev.Create(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.FinishRegistration(ctx, binding, userID, "Key", resp)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return c
}

// signInWith runs a discoverable sign-in on p with dev.
func signInWith(t *testing.T, p *passkey.Passkeys, dev *passkeytest.Authenticator, binding string) (*passkey.Result, error) {
	t.Helper()
	opts, err := p.BeginLogin(context.Background(), binding, false)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := dev.Get(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	return p.FinishLogin(context.Background(), binding, resp)
}

// withUserHandle returns the assertion resp with its userHandle replaced.
func withUserHandle(t *testing.T, resp, handle []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatal(err)
	}
	m["response"].(map[string]any)["userHandle"] = b64(handle)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The handle is HMAC-SHA-256 over a fixed label then the user id, so the
// HMAC inputs of two distinct user ids differ (the label is the same
// prefix for every user: "ab"+"c" and "a"+"bc" cannot meet), and the
// derivation is pinned: instances running different versions during a
// rollout must agree on it.
func TestDerivedUserHandleIsHMACOfLabelThenUserID(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a}, passkey.MinUserHandleKeyBytes)
	r := newRig(t, withHandleKey(key))
	ids := []string{
		"a", "ab", "abc", "a\x00", "\x00a", "a\x00bc", "ab\x00c", "A", "é", "e\u0301",
		"authkit passkey user handle v1", "authkit passkey user handle v1\x00",
		"1", "01", " 1", "1 ",
	}
	seen := map[string]string{}
	for _, id := range ids {
		o, err := r.p.BeginRegistration(context.Background(), sessA, passkey.User{ID: id, Name: "n"})
		if err != nil {
			t.Fatal(err)
		}
		got := optionsUserHandle(t, o)
		m := hmac.New(sha256.New, key)
		m.Write([]byte("authkit passkey user handle v1\x00" + id))
		if want := m.Sum(nil); !bytes.Equal(got, want) {
			t.Fatalf("user %q: handle %x, want %x", id, got, want)
		}
		if other, dup := seen[string(got)]; dup {
			t.Fatalf("users %q and %q share the handle %x", other, id, got)
		}
		seen[string(got)] = id
	}
}

// Derived handles come back: a user whose passkeys were all removed, or a
// new account given the id of a deleted one whose passkeys the host
// removed, gets the same handle again. The old authenticator still holds
// its resident credential under that handle; it must stay refused, with
// or without the userHandle, in a discoverable or known-user sign-in.
func TestRemovedPasskeyStaysRefusedWhenItsUserHandleIsIssuedAgain(t *testing.T) {
	r := newRig(t, withHandleKey(bytes.Repeat([]byte{1}, passkey.MinUserHandleKeyBytes)))
	ctx := context.Background()
	oldDev, newDev := passkeytest.New(origin), passkeytest.New(origin)
	old := registerOn(t, r.p, oldDev, sessA, "u1")
	if _, err := r.p.Remove(ctx, "u1", old.ID, false); err != nil {
		t.Fatal(err)
	}
	fresh := registerOn(t, r.p, newDev, sessA, "u1")
	if !bytes.Equal(fresh.UserHandle, old.UserHandle) {
		t.Fatalf("handle %x after re-registration, want the derived %x again", fresh.UserHandle, old.UserHandle)
	}
	for _, omit := range []bool{false, true} {
		oldDev.OmitUserHandle = omit
		res, err := signInWith(t, r.p, oldDev, sessA)
		var ue *passkey.UnknownCredentialError
		if res != nil || !errors.As(err, &ue) || !bytes.Equal(ue.CredentialID, old.ID) {
			t.Fatalf("omitUserHandle=%v: removed credential: %+v, %v; want UnknownCredentialError", omit, res, err)
		}
		opts, err := r.p.BeginLoginFor(ctx, sessA, "u1")
		if err != nil {
			t.Fatal(err)
		}
		oldDev.Select = old.ID
		resp, err := oldDev.Get(opts.JSON)
		oldDev.Select = nil
		if err != nil {
			t.Fatal(err)
		}
		if res, err := r.p.FinishLogin(ctx, sessA, resp); res != nil || !errors.As(err, &ue) {
			t.Fatalf("omitUserHandle=%v: removed credential on a known-user ceremony: %+v, %v; want UnknownCredentialError", omit, res, err)
		}
	}
	if res, err := signInWith(t, r.p, newDev, sessA); err != nil || res.UserID != "u1" || !bytes.Equal(res.Credential.ID, fresh.ID) {
		t.Fatalf("the new passkey: %+v, %v", res, err)
	}
}

// Two instances with different keys (the nil default on each, or a
// mismatched configuration) can give one user two handles when first
// registrations run at once. Each passkey then signs in only under its
// own handle: neither handle lets the other's passkey in, and a third
// registration reuses the oldest handle.
func TestFirstRegistrationsUnderDifferentKeysKeepEachPasskeyToItsHandle(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	p1, p2 := r.p, r.sibling(t, nil)
	dev1, dev2 := passkeytest.New(origin), passkeytest.New(origin)
	u := passkey.User{ID: "alice", Name: "alice@example.com"}
	o1, err := p1.BeginRegistration(ctx, "b1", u)
	if err != nil {
		t.Fatal(err)
	}
	o2, err := p2.BeginRegistration(ctx, "b2", u)
	if err != nil {
		t.Fatal(err)
	}
	var creds [2]passkey.Credential
	for i, x := range []struct {
		p    *passkey.Passkeys
		dev  *passkeytest.Authenticator
		o    passkey.Options
		bind string
	}{{p1, dev1, o1, "b1"}, {p2, dev2, o2, "b2"}} {
		resp, _, err := x.dev.Create(x.o.JSON)
		if err != nil {
			t.Fatal(err)
		}
		if creds[i], err = x.p.FinishRegistration(ctx, x.bind, "alice", fmt.Sprint("Key ", i), resp); err != nil {
			t.Fatal(err)
		}
	}
	if bytes.Equal(creds[0].UserHandle, creds[1].UserHandle) {
		t.Fatal("two random keys gave one handle")
	}
	for i, dev := range []*passkeytest.Authenticator{dev1, dev2} {
		if res, err := signInWith(t, p1, dev, sessA); err != nil || res.UserID != "alice" {
			t.Fatalf("passkey %d: %+v, %v", i, res, err)
		}
		opts, err := p1.BeginLogin(ctx, sessA, false)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := dev.Get(opts.JSON)
		if err != nil {
			t.Fatal(err)
		}
		ko, err := p2.BeginLoginFor(ctx, sessA, "alice")
		if err != nil {
			t.Fatal(err)
		}
		dev.Select = creds[i].ID
		kresp, err := dev.Get(ko.JSON)
		dev.Select = nil
		if err != nil {
			t.Fatal(err)
		}
		if res, err := p2.FinishLogin(ctx, sessA, kresp); err != nil || res.UserID != "alice" || !bytes.Equal(res.Credential.ID, creds[i].ID) {
			t.Fatalf("passkey %d on a known-user ceremony: %+v, %v", i, res, err)
		}
		other := creds[1-i].UserHandle
		if res, err := p1.FinishLogin(ctx, sessA, withUserHandle(t, resp, other)); res != nil || !errors.Is(err, passkey.ErrWrongUser) {
			t.Fatalf("passkey %d under the other handle: %+v, %v; want ErrWrongUser", i, res, err)
		}
	}
	list, err := p1.List(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	o3, err := p2.BeginRegistration(ctx, "b3", u)
	if err != nil {
		t.Fatal(err)
	}
	if h := optionsUserHandle(t, o3); !bytes.Equal(h, list[0].UserHandle) {
		t.Fatalf("third registration offered %x, want the oldest passkey's %x", h, list[0].UserHandle)
	}
}

// Two instances sharing one key and one store: first registrations of one
// user begun on either, all before any finishes, agree on the handle.
func TestConcurrentFirstRegistrationsOnTwoInstancesWithOneKeyShareOneHandle(t *testing.T) {
	key := bytes.Repeat([]byte{9}, passkey.MinUserHandleKeyBytes)
	r := newRig(t, withHandleKey(key))
	ps := []*passkey.Passkeys{r.p, r.sibling(t, key)}
	ctx := context.Background()
	const n = 16
	opts := make([]passkey.Options, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			opts[i], errs[i] = ps[i%2].BeginRegistration(ctx, fmt.Sprint("browser-", i), passkey.User{ID: "alice", Name: "alice@example.com"})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	devs := make([]*passkeytest.Authenticator, n)
	for i := range n {
		devs[i] = passkeytest.New(origin)
		wg.Go(func() {
			resp, _, err := devs[i].Create(opts[i].JSON)
			if err == nil {
				_, err = ps[(i+1)%2].FinishRegistration(ctx, fmt.Sprint("browser-", i), "alice", fmt.Sprint("Key ", i), resp)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	creds, err := r.p.List(ctx, "alice")
	if err != nil || len(creds) != n {
		t.Fatalf("%d credentials, %v; want %d", len(creds), err, n)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("authkit passkey user handle v1\x00alice"))
	want := m.Sum(nil)
	for i, c := range creds {
		if !bytes.Equal(c.UserHandle, want) {
			t.Errorf("credential %d: handle %x, want %x", i, c.UserHandle, want)
		}
	}
	for i, dev := range devs {
		if res, err := signInWith(t, ps[i%2], dev, sessA); err != nil || res.UserID != "alice" {
			t.Errorf("passkey %d: %+v, %v", i, res, err)
		}
	}
}

// Registrations racing the removal of the user's last passkey: whichever
// saw the old passkey and whichever saw none, every new passkey carries
// the user's one handle and signs in.
func TestRegistrationsRacingRemovalOfLastPasskeyKeepOneHandle(t *testing.T) {
	r := newRig(t, withHandleKey(bytes.Repeat([]byte{3}, passkey.MinUserHandleKeyBytes)))
	ctx := context.Background()
	first := registerOn(t, r.p, passkeytest.New(origin), sessA, "alice")
	const n = 8
	devs := make([]*passkeytest.Authenticator, n)
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[n] = r.p.Remove(ctx, "alice", first.ID, false) })
	for i := range n {
		devs[i] = passkeytest.New(origin)
		wg.Go(func() {
			b := fmt.Sprint("browser-", i)
			opts, err := r.p.BeginRegistration(ctx, b, passkey.User{ID: "alice", Name: "alice@example.com"})
			if err == nil {
				var resp []byte
				if resp, _, err = devs[i].Create(opts.JSON); err == nil {
					_, err = r.p.FinishRegistration(ctx, b, "alice", fmt.Sprint("Key ", i), resp)
				}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	creds, err := r.p.List(ctx, "alice")
	if err != nil || len(creds) != n {
		t.Fatalf("%d credentials, %v; want %d", len(creds), err, n)
	}
	for i, c := range creds {
		if !bytes.Equal(c.UserHandle, first.UserHandle) {
			t.Errorf("credential %d: handle %x, want %x", i, c.UserHandle, first.UserHandle)
		}
	}
	for i, dev := range devs {
		if res, err := signInWith(t, r.p, dev, sessA); err != nil || res.UserID != "alice" {
			t.Errorf("passkey %d: %+v, %v", i, res, err)
		}
	}
}

// A phone in a hybrid sign-in sends no userHandle: on a known-user
// ceremony for bob, alice's passkey is still refused, and her credential
// records no use.
func TestHybridAssertionWithoutHandleOnAnotherUsersCeremonyIsRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.register(t, "bob")
	alice := r.register(t, "alice")
	opts, err := r.p.BeginLoginFor(ctx, sessA, "bob")
	if err != nil {
		t.Fatal(err)
	}
	r.auth.Select, r.auth.OmitUserHandle = alice, true
	resp, err := r.auth.Get(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := r.p.FinishLogin(ctx, sessA, resp); res != nil || !errors.Is(err, passkey.ErrWrongUser) {
		t.Fatalf("alice's passkey without a handle for bob: %+v, %v; want ErrWrongUser", res, err)
	}
	if c, _, _ := r.creds.Get(ctx, alice); c.SignCount != 0 || !c.LastUsedAt.IsZero() {
		t.Fatalf("alice's credential recorded a use: %+v", c)
	}
}
