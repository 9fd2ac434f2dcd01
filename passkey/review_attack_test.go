package passkey_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/memstore"
)

// staleStore returns a snapshot taken earlier from its next Get: the
// interleaving where two finishes read the credential before either writes.
type staleStore struct {
	*memstore.Passkeys
	stale *passkey.Credential
}

func (s *staleStore) Get(ctx context.Context, id []byte) (passkey.Credential, bool, error) {
	if c := s.stale; c != nil {
		s.stale = nil
		return *c, true, nil
	}
	return s.Passkeys.Get(ctx, id)
}

// Two tabs finish sign-ins with counters 1 and 2 at once; both read the
// stored 0 first. The one with 2 loses the compare-and-set to the one with
// 1, but 2 is above 1: it is a legitimate sign-in, not a clone.
func TestConcurrentAssertionsWithIncreasingCountersAreNotReportedAsClones(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id := r.register(t, "alice")
	first, second := r.assertion(t), r.assertion(t) // counters 1 and 2
	snap, _, _ := r.creds.Get(ctx, id)
	ss := &staleStore{Passkeys: r.creds}
	p, err := passkey.New(passkey.Config{
		RPID: rpID, RPDisplayName: "Example", Origins: []string{origin},
		Credentials: ss, Tickets: r.tickets, Now: r.clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.FinishLogin(ctx, sessA, first); err != nil {
		t.Fatal(err)
	}
	ss.stale = &snap // the second finish read before the first wrote
	res, err := p.FinishLogin(ctx, sessA, second)
	if err != nil {
		t.Fatalf("second finish: %v, want success", err)
	}
	if res.Credential.SignCount != 2 {
		t.Fatalf("count %d, want 2", res.Credential.SignCount)
	}
	if c, _, _ := r.creds.Get(ctx, id); c.SignCount != 2 {
		t.Fatalf("stored count %d, want 2", c.SignCount)
	}
}

// The holder of a cloned device-bound key sets BE in its assertion and
// reports 0: the stored flag decides, so the rollback is a clone.
func TestBackupEligibleClaimedInAssertionDoesNotAllowCounterReset(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id := r.register(t, "alice") // BE=0
	for range 3 {
		if _, err := r.p.FinishLogin(ctx, sessA, r.assertion(t)); err != nil {
			t.Fatal(err)
		}
	}
	r.auth.BackupEligible, r.auth.StaticCounter = true, true
	r.auth.SetCounter(id, 0)
	if _, err := r.p.FinishLogin(ctx, sessA, r.assertion(t)); !errors.Is(err, passkey.ErrClonedAuthenticator) {
		t.Fatalf("BE=1 counter 0 after 3: %v, want ErrClonedAuthenticator", err)
	}
	if c, _, _ := r.creds.Get(ctx, id); c.BackupEligible || c.SignCount != 3 {
		t.Fatalf("refused assertion changed the record: BE=%v count %d", c.BackupEligible, c.SignCount)
	}
	// Two steps: the clone first signs BE=1 above the count (accepted, as
	// any clone's first use is), then resets to 0. The genuine device's
	// next sign-in is still caught.
	r.auth.SetCounter(id, 4)
	if _, err := r.p.FinishLogin(ctx, sessA, r.assertion(t)); err != nil {
		t.Fatal(err)
	}
	r.auth.SetCounter(id, 0)
	if _, err := r.p.FinishLogin(ctx, sessA, r.assertion(t)); err != nil {
		t.Fatal(err)
	}
	r.auth.BackupEligible, r.auth.StaticCounter = false, false
	r.auth.SetCounter(id, 3) // genuine device signs 4
	if _, err := r.p.FinishLogin(ctx, sessA, r.assertion(t)); !errors.Is(err, passkey.ErrClonedAuthenticator) {
		t.Fatalf("genuine device after clone: %v, want ErrClonedAuthenticator", err)
	}
}

func TestAssertionWithoutUserPresenceIsRefused(t *testing.T) {
	for _, uv := range []bool{true, false} {
		r := newRig(t, func(c *passkey.Config) { c.UnsafeAllowNoUserVerification = true })
		r.register(t, "alice")
		r.auth.OmitUserPresence, r.auth.UserVerified = true, uv
		res, err := r.p.FinishLogin(context.Background(), sessA, r.assertion(t))
		if err == nil || res != nil {
			t.Fatalf("uv=%v: sign-in without user presence accepted", uv)
		}
	}
}

func challengeOf(t *testing.T, opts []byte) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	return o.PublicKey.Challenge
}

// A registration challenge cannot finish a sign-in, nor a sign-in
// challenge a registration, and the attempt does not spend the other
// ceremony.
func TestChallengeOfOneCeremonyCannotFinishTheOther(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id := r.register(t, "alice")

	reg, err := r.p.BeginRegistration(ctx, sessA, passkey.User{ID: "alice", Name: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	asReq := []byte(`{"publicKey":{"challenge":"` + challengeOf(t, reg.JSON) + `","rpId":"` + rpID + `"}}`)
	resp, err := r.auth.Get(asReq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.FinishLogin(ctx, sessA, resp); !errors.Is(err, passkey.ErrReplay) {
		t.Fatalf("login with registration challenge: %v, want ErrReplay", err)
	}

	login, err := r.p.BeginLogin(ctx, sessA, false)
	if err != nil {
		t.Fatal(err)
	}
	asCreate := []byte(`{"publicKey":{"challenge":"` + challengeOf(t, login.JSON) + `","rp":{"id":"` + rpID +
		`"},"user":{"id":"AAAA","name":"alice"}}}`)
	cresp, _, err := r.auth.Create(asCreate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.FinishRegistration(ctx, sessA, "alice", "Key", cresp); !errors.Is(err, passkey.ErrReplay) {
		t.Fatalf("registration with login challenge: %v, want ErrReplay", err)
	}

	// Both genuine ceremonies still finish.
	if cresp, _, err = passkeytest.New(origin).Create(reg.JSON); err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.FinishRegistration(ctx, sessA, "alice", "Key 2", cresp); err != nil {
		t.Fatalf("registration after confused attempt: %v", err)
	}
	r.auth.Select = id
	if resp, err = r.auth.Get(login.JSON); err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.FinishLogin(ctx, sessA, resp); err != nil {
		t.Fatalf("login after confused attempt: %v", err)
	}
}

// craftRegistration answers creation options with a "none" attestation of
// an arbitrary credential id and COSE public key.
func craftRegistration(t *testing.T, opts []byte, credID []byte, coseKey any) []byte {
	t.Helper()
	enc, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	ck, err := enc.Marshal(coseKey)
	if err != nil {
		t.Fatal(err)
	}
	cd, _ := json.Marshal(map[string]any{"type": "webauthn.create", "challenge": challengeOf(t, opts), "origin": origin})
	h := sha256.Sum256([]byte(rpID))
	ad := append(h[:], 0x01|0x04|0x40)
	ad = binary.BigEndian.AppendUint32(ad, 0)
	ad = append(ad, make([]byte, 16)...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(credID)))
	ad = append(ad, credID...)
	ad = append(ad, ck...)
	att, err := enc.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := json.Marshal(map[string]any{
		"id": b64(credID), "rawId": b64(credID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(cd), "attestationObject": b64(att)},
	})
	return resp
}

type ec2Key struct {
	Kty int    `cbor:"1,keyasint"`
	Alg int    `cbor:"3,keyasint"`
	Crv int    `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
	Y   []byte `cbor:"-3,keyasint"`
}

type rsaKey struct {
	Kty int    `cbor:"1,keyasint"`
	Alg int    `cbor:"3,keyasint"`
	N   []byte `cbor:"-1,keyasint"`
	E   []byte `cbor:"-2,keyasint"`
}

func TestRegistrationOfUnacceptableCredentialsIsRefused(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.PublicKey.Bytes()
	good := ec2Key{Kty: 2, Alg: -7, Crv: 1, X: pub[1:33], Y: pub[33:]}
	offCurve := good
	offCurve.Y = bytes.Clone(good.Y)
	offCurve.Y[31] ^= 1
	n := make([]byte, 256)
	rand.Read(n)
	n[0] |= 0x80
	id16 := bytes.Repeat([]byte{7}, 16)
	for _, tc := range []struct {
		name string
		id   []byte
		key  any
		want error
	}{
		{"RS1 key", id16, rsaKey{Kty: 3, Alg: -65535, N: n, E: []byte{1, 0, 1}}, passkey.ErrSignature},
		{"ES256 point not on the curve", id16, offCurve, passkey.ErrSignature},
		{"credential id over 1023 bytes", bytes.Repeat([]byte{7}, 1024), good, passkey.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			ctx := context.Background()
			opts, err := r.p.BeginRegistration(ctx, sessA, passkey.User{ID: "alice", Name: "alice@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.p.FinishRegistration(ctx, sessA, "alice", "Key", craftRegistration(t, opts.JSON, tc.id, tc.key))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got, _ := r.creds.List(ctx, "alice"); len(got) != 0 {
				t.Fatalf("stored %d credentials", len(got))
			}
		})
	}
}

// Credential ids are public (allowCredentials lists them): registering
// another user's id with one's own key does not take the credential over.
func TestRegisteringAnotherUsersCredentialIDIsRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	victim := r.register(t, "alice")
	before, _, _ := r.creds.Get(ctx, victim)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.PublicKey.Bytes()
	opts, err := r.p.BeginRegistration(ctx, sessB, passkey.User{ID: "mallory", Name: "mallory@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	resp := craftRegistration(t, opts.JSON, victim, ec2Key{Kty: 2, Alg: -7, Crv: 1, X: pub[1:33], Y: pub[33:]})
	if _, err := r.p.FinishRegistration(ctx, sessB, "mallory", "Key", resp); !errors.Is(err, passkey.ErrCredentialExists) {
		t.Fatalf("got %v, want ErrCredentialExists", err)
	}
	after, _, _ := r.creds.Get(ctx, victim)
	if after.UserID != "alice" || !bytes.Equal(after.PublicKey, before.PublicKey) {
		t.Fatalf("victim's credential changed: %+v", after)
	}
	if res, err := r.p.FinishLogin(ctx, sessA, r.assertion(t)); err != nil || res.UserID != "alice" {
		t.Fatalf("victim sign-in: %v", err)
	}
}

// A synced passkey's key can leak with the provider account; its holder
// then signs BE=0 to pass as a device-bound key ("hwk"). Backup
// eligibility is a property of the credential (WebAuthn §6.1.3): once
// recorded it stays, and the sign-in still reports "swk".
func TestSyncedPasskeyCannotBeDowngradedToDeviceBound(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.auth.BackupEligible, r.auth.BackupState, r.auth.StaticCounter = true, true, true
	id := r.register(t, "alice")
	r.auth.BackupEligible, r.auth.BackupState = false, false
	res, err := r.p.FinishLogin(ctx, sessA, r.assertion(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.AMR[0] != "swk" || !res.Credential.BackupEligible {
		t.Fatalf("amr %q BE=%v after a BE=0 assertion, want swk and BE kept", res.AMR, res.Credential.BackupEligible)
	}
	if c, _, _ := r.creds.Get(ctx, id); !c.BackupEligible {
		t.Fatal("stored BE cleared by an assertion")
	}
}

func TestBackupStateWithoutEligibilityIsRefused(t *testing.T) {
	r := newRig(t)
	r.auth.BackupState = true // BS=1 with BE=0 is invalid
	opts, err := r.p.BeginRegistration(context.Background(), sessA, passkey.User{ID: "alice", Name: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := r.auth.Create(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.FinishRegistration(context.Background(), sessA, "alice", "Key", resp); err == nil {
		t.Fatal("registration with BS=1 BE=0 accepted")
	}
	r.auth.BackupState = false
	r.register(t, "alice")
	r.auth.BackupState = true
	if _, err := r.p.FinishLogin(context.Background(), sessA, r.assertion(t)); err == nil {
		t.Fatal("sign-in with BS=1 BE=0 accepted")
	}
}

// userHandle is not signed: a discoverable sign-in with alice's passkey
// and bob's handle pasted in is refused, and never signs bob in.
func TestDiscoverableSignInWithAnotherUsersHandleIsRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	bob := r.register(t, "bob")
	bobCred, _, _ := r.creds.Get(ctx, bob)
	alice := r.register(t, "alice")
	for _, conditional := range []bool{false, true} {
		opts, err := r.p.BeginLogin(ctx, sessA, conditional)
		if err != nil {
			t.Fatal(err)
		}
		r.auth.Select = alice
		resp, err := r.auth.Get(opts.JSON)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(resp, &m); err != nil {
			t.Fatal(err)
		}
		m["response"].(map[string]any)["userHandle"] = b64(bobCred.UserHandle)
		forged, _ := json.Marshal(m)
		res, err := r.p.FinishLogin(ctx, sessA, forged)
		if !errors.Is(err, passkey.ErrWrongUser) || res != nil {
			t.Fatalf("conditional=%v: got %+v, %v; want ErrWrongUser", conditional, res, err)
		}
	}
}

// Many sign-ins of one authenticator (counters 1..n) finish at once, all
// reading the credential before any writes: whatever the order, the
// highest counter is genuine and always signs in, every refusal is a
// counter at or below one already recorded, and the record ends at n.
func TestConcurrentIncreasingCountersHighestAlwaysSignsIn(t *testing.T) {
	const n = 8
	r := newRig(t)
	ctx := context.Background()
	id := r.register(t, "alice")
	resps := make([][]byte, n)
	for i := range resps {
		resps[i] = r.assertion(t) // counter i+1
	}
	bs := &barrierStore{Passkeys: r.creds, n: n}
	bs.wg.Add(n)
	p, err := passkey.New(passkey.Config{
		RPID: rpID, RPDisplayName: "Example", Origins: []string{origin},
		Credentials: bs, Tickets: r.tickets, Now: r.clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, resp := range resps {
		wg.Go(func() { _, errs[i] = p.FinishLogin(ctx, sessA, resp) })
	}
	wg.Wait()
	if errs[n-1] != nil {
		t.Fatalf("highest counter refused: %v", errs[n-1])
	}
	for i, err := range errs {
		var ce *passkey.ClonedError
		if err != nil && (!errors.As(err, &ce) || ce.Received > ce.Stored) {
			t.Errorf("counter %d: %v", i+1, err)
		}
	}
	if c, _, _ := r.creds.Get(ctx, id); c.SignCount != n {
		t.Fatalf("stored count %d, want %d", c.SignCount, n)
	}
}
