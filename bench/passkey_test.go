package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/memstore"
)

// BenchmarkPasskeyFinish compares a discoverable passkey sign-in finish
// (passkey.FinishLogin: parse, take the challenge, get the credential,
// go-webauthn's ES256 check, counter compare-and-set, memstore for both
// stores) with its floor: ecdsa.VerifyASN1 of the same kind of assertion
// plus one credential read from the same store. Assertions are signed
// before the timer starts.
func BenchmarkPasskeyFinish(b *testing.B) {
	const origin, binding = "https://login.example.com", "browser-session"
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	st, err := memstore.New(memstore.Config{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	creds := st.Passkeys()
	p, err := passkey.New(passkey.Config{
		RPID: "login.example.com", RPDisplayName: "Example", Origins: []string{origin},
		Credentials: creds, Tickets: st.Tickets(), Now: now,
	})
	if err != nil {
		b.Fatal(err)
	}
	auth := passkeytest.New(origin)
	opts, err := p.BeginRegistration(ctx, binding, passkey.User{ID: "alice", Name: "alice@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	resp, id, err := auth.Create(opts.JSON)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.FinishRegistration(ctx, binding, "alice", "Laptop", resp); err != nil {
		b.Fatal(err)
	}
	assertion := func(b *testing.B) []byte {
		o, err := p.BeginLogin(ctx, binding, false)
		if err != nil {
			b.Fatal(err)
		}
		r, err := auth.Get(o.JSON)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	b.Run("impl=authkit", func(b *testing.B) {
		resps := make([][]byte, b.N)
		for i := range resps {
			resps[i] = assertion(b)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, err := p.FinishLogin(ctx, binding, resps[i]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=raw", func(b *testing.B) {
		var a struct {
			Response struct {
				ClientDataJSON    string `json:"clientDataJSON"`
				AuthenticatorData string `json:"authenticatorData"`
				Signature         string `json:"signature"`
			} `json:"response"`
		}
		if err := json.Unmarshal(assertion(b), &a); err != nil {
			b.Fatal(err)
		}
		dec := func(s string) []byte {
			v, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
			if err != nil {
				b.Fatal(err)
			}
			return v
		}
		cd, ad, sig := dec(a.Response.ClientDataJSON), dec(a.Response.AuthenticatorData), dec(a.Response.Signature)
		cdHash := sha256.Sum256(cd)
		digest := sha256.Sum256(append(ad, cdHash[:]...))
		pub := auth.PublicKey(id)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, found, err := creds.Get(ctx, id); err != nil || !found {
				b.Fatal("credential not found", err)
			}
			if !ecdsa.VerifyASN1(pub, digest[:], sig) {
				b.Fatal("signature does not verify")
			}
		}
	})
}
