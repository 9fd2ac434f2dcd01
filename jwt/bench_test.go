package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"strings"
	"testing"
	"time"
)

// Benchmarks of the verify hot path beside the raw primitive on the same
// signing input (docs/PERF.md). The cross-library comparison is in bench/jwt_test.go.

func benchRaw(b *testing.B, f *fixture, alg, tok string) {
	i := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:i])
	sig, _ := b64.DecodeString(tok[i+1:])
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ok := false
		switch alg {
		case "ES256":
			h := sha256.Sum256(input)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			ok = ecdsa.Verify(&f.ecPriv.PublicKey, h[:], r, s)
		case "EdDSA":
			ok = ed25519.Verify(f.edPriv.Public().(ed25519.PublicKey), input, sig)
		case "RS256":
			h := sha256.Sum256(input)
			ok = rsa.VerifyPKCS1v15(&f.rsPriv.PublicKey, crypto.SHA256, h[:], sig) == nil
		case "HS256":
			m := hmac.New(sha256.New, f.secret)
			m.Write(input)
			ok = hmac.Equal(m.Sum(nil), sig)
		}
		if !ok {
			b.Fatal("raw verify failed")
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	for _, alg := range []string{"ES256", "EdDSA", "RS256", "HS256"} {
		tok := f.token(b, alg, claims())
		b.Run(alg+"/raw", func(b *testing.B) { benchRaw(b, f, alg, tok) })
		b.Run(alg+"/authkit", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.v.Verify(bg, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkIssue(b *testing.B) {
	for _, alg := range []Algorithm{ES256, EdDSA, RS256, HS256} {
		k, _ := GenerateKey(alg, nil)
		ks, _ := NewKeySet(KeySetConfig{Keys: []*Key{k}, InsecureAllowHS256: true})
		iss, _ := NewIssuer(IssuerConfig{Keys: ks, Issuer: testIss, Audience: []string{testAud}})
		b.Run(string(alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := iss.Issue(bg, AccessTokenRequest{Subject: "user-1", Roles: []string{"viewer"}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Rejecting oversized input is cheap and allocation-free.
func BenchmarkVerifyHugeReject(b *testing.B) {
	f := newFixture(b)
	tok := strings.Repeat(".", 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = f.v.Verify(bg, tok)
	}
}

// The per-user not-before check, measured apart from the signature
// budget: a cached lookup on top of an HS256 verify (compare with
// BenchmarkVerify/HS256/authkit).
func BenchmarkVerifyNotBeforeCached(b *testing.B) {
	f := newFixture(b)
	v := f.verifier(b, VerifierConfig{NotBefore: staticNB{}})
	tok := f.token(b, "HS256", claims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(bg, tok); err != nil {
			b.Fatal(err)
		}
	}
}

type staticNB struct{}

func (staticNB) SetNotBefore(context.Context, string, time.Time) error { return nil }
func (staticNB) NotBefore(context.Context, string) (time.Time, bool, error) {
	return time.Unix(1, 0), true, nil
}
