package passkey_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"testing"
)

// BenchmarkFinishLogin is a discoverable passkey sign-in finish: parse,
// take the challenge, get the credential, ES256 verification by
// go-webauthn, counter compare-and-set; memstore for both stores.
// Assertions are signed before the timer starts.
func BenchmarkFinishLogin(b *testing.B) {
	r := newRig(b)
	r.register(b, "alice")
	resps := make([][]byte, b.N)
	for i := range resps {
		resps[i] = r.assertion(b)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := r.p.FinishLogin(ctx, sessA, resps[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawES256Verify is ecdsa.VerifyASN1 of one assertion signature
// from the same authenticator: the floor FinishLogin is compared to.
func BenchmarkRawES256Verify(b *testing.B) {
	r := newRig(b)
	id := r.register(b, "alice")
	var resp struct {
		Response struct {
			ClientDataJSON    b64bytes `json:"clientDataJSON"`
			AuthenticatorData b64bytes `json:"authenticatorData"`
			Signature         b64bytes `json:"signature"`
		} `json:"response"`
	}
	if err := json.Unmarshal(r.assertion(b), &resp); err != nil {
		b.Fatal(err)
	}
	cdHash := sha256.Sum256(resp.Response.ClientDataJSON)
	digest := sha256.Sum256(append([]byte(resp.Response.AuthenticatorData), cdHash[:]...))
	pub := r.auth.PublicKey(id)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if !ecdsa.VerifyASN1(pub, digest[:], resp.Response.Signature) {
			b.Fatal("signature does not verify")
		}
	}
}
