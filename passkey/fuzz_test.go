package passkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/passkey"
)

var sentinels = []error{
	passkey.ErrMalformed, passkey.ErrChallenge, passkey.ErrBindingMismatch, passkey.ErrWrongOrigin,
	passkey.ErrWrongRPID, passkey.ErrWrongType, passkey.ErrUserVerification, passkey.ErrSignature,
	passkey.ErrUnknownCredential, passkey.ErrWrongUser, passkey.ErrClonedAuthenticator,
	passkey.ErrCredentialExists, passkey.ErrNoBinding, passkey.ErrInvalidName,
}

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("fuzzed response accepted")
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error wraps no sentinel: %v", err)
}

// fuzzRig returns a Passkeys with alice's passkey registered, a fresh
// ticket store per call (so a long fuzz run does not accumulate tickets),
// and a valid assertion and registration response as seeds.
func fuzzRig(f *testing.F) (newP func(t testing.TB) *passkey.Passkeys, r *rig, login, reg []byte) {
	r = newRig(f)
	r.register(f, "alice")
	login = r.assertion(f)
	opts, err := r.p.BeginRegistration(context.Background(), sessA, passkey.User{ID: "bob", Name: "bob"})
	if err != nil {
		f.Fatal(err)
	}
	r2 := newRig(f)
	reg, _, err = r2.auth.Create(opts.JSON)
	if err != nil {
		f.Fatal(err)
	}
	newP = func(t testing.TB) *passkey.Passkeys {
		p, err := passkey.New(passkey.Config{
			RPID: rpID, RPDisplayName: "Example", Origins: []string{origin},
			Credentials: r.creds, Tickets: memtest.New(t, r.clk.Now).Tickets(), Now: r.clk.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	return newP, r, login, reg
}

// FuzzFinishWhole feeds arbitrary bytes to both finish functions.
func FuzzFinishWhole(f *testing.F) {
	newP, _, login, reg := fuzzRig(f)
	f.Add(login)
	f.Add(reg)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{}}`))
	f.Add([]byte(strings.Repeat("[", 10000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newP(t)
		_, err := p.FinishLogin(context.Background(), sessA, data)
		checkRefusal(t, err)
		_, err = p.FinishRegistration(context.Background(), sessA, "bob", "Key", data)
		checkRefusal(t, err)
	})
}

// FuzzFinishLoginParts begins a real ceremony each time and fills its
// challenge into fuzzed clientDataJSON (replacing CHALLENGE), so garbled
// client data, authenticator data and signatures reach go-webauthn's
// parsers and checks instead of stopping at the unknown challenge.
func FuzzFinishLoginParts(f *testing.F) {
	newP, _, login, _ := fuzzRig(f)
	var seed struct {
		ID       string `json:"id"`
		Response struct {
			ClientDataJSON    b64bytes `json:"clientDataJSON"`
			AuthenticatorData b64bytes `json:"authenticatorData"`
			Signature         b64bytes `json:"signature"`
		} `json:"response"`
	}
	if err := json.Unmarshal(login, &seed); err != nil {
		f.Fatal(err)
	}
	var cd map[string]any
	_ = json.Unmarshal(seed.Response.ClientDataJSON, &cd)
	cd["challenge"] = "CHALLENGE"
	cdj, _ := json.Marshal(cd)
	f.Add(cdj, []byte(seed.Response.AuthenticatorData), []byte(seed.Response.Signature))
	f.Add([]byte(`{"type":"webauthn.get","challenge":"CHALLENGE","origin":"`+origin+`","tokenBinding":{"status":"x"}}`), bytes.Repeat([]byte{0xff}, 37), []byte{0x30, 0x00})
	f.Add([]byte(`{"type":"webauthn.get","challenge":"CHALLENGE"`), append(bytes.Repeat([]byte{0}, 32), 0xc5, 0, 0, 0, 1, 0xbf, 0xbf, 0xbf), bytes.Repeat([]byte{0x30}, 72))
	f.Fuzz(func(t *testing.T, clientData, authData, sig []byte) {
		p := newP(t)
		opts, err := p.BeginLogin(context.Background(), sessA, false)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			PublicKey struct {
				Challenge string `json:"challenge"`
			} `json:"publicKey"`
		}
		if err := json.Unmarshal(opts.JSON, &o); err != nil {
			t.Fatal(err)
		}
		clientData = bytes.ReplaceAll(clientData, []byte("CHALLENGE"), []byte(o.PublicKey.Challenge))
		resp, err := json.Marshal(map[string]any{
			"id": seed.ID, "rawId": seed.ID, "type": "public-key", "clientExtensionResults": map[string]any{},
			"response": map[string]any{
				"clientDataJSON": b64bytes(clientData), "authenticatorData": b64bytes(authData),
				"signature": b64bytes(sig), "userHandle": nil,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.FinishLogin(context.Background(), sessA, resp)
		checkRefusal(t, err)
	})
}

type b64bytes []byte

func (b b64bytes) MarshalJSON() ([]byte, error) { return json.Marshal(b64(b)) }

func (b *b64bytes) UnmarshalJSON(d []byte) error {
	var s string
	if err := json.Unmarshal(d, &s); err != nil {
		return err
	}
	v, err := b64dec(s)
	*b = v
	return err
}
