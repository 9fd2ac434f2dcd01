package jwt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// signCase is one signing key with the jwx algorithm and the key jwx
// verifies with.
type signCase struct {
	key  *Key
	xalg jwa.SignatureAlgorithm
	pub  any
}

func signCases(t *testing.T) []signCase {
	t.Helper()
	f := newFixture(t)
	ps, err := NewKey("ps", PS256, f.rsPriv)
	if err != nil {
		t.Fatal(err)
	}
	return []signCase{
		{f.es, jwa.ES256(), &f.ecPriv.PublicKey},
		{f.ed, jwa.EdDSA(), f.edPriv.Public()},
		{f.rs, jwa.RS256(), &f.rsPriv.PublicKey},
		{ps, jwa.PS256(), &f.rsPriv.PublicKey},
		{f.hs, jwa.HS256(), f.secret},
	}
}

// TestSignFastPathInterop: tokens from the direct-primitive signing path
// verify with jwx's jws.Verify (an independent JOSE implementation) for every
// algorithm, carry exactly the header {"alg","kid","typ"}, have a signature
// of the algorithm's fixed size, and verify with our own verifier.
func TestSignFastPathInterop(t *testing.T) {
	payload := []byte(`{"iss":"https://auth.example.com","sub":"user-1"}`)
	for _, c := range signCases(t) {
		t.Run(string(c.key.Algorithm()), func(t *testing.T) {
			ks, err := NewKeySet(KeySetConfig{Keys: []*Key{c.key}, InsecureAllowHS256: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, typ := range []string{AccessTokenType, "", "JWT"} {
				tok, err := ks.Sign(payload, typ)
				if err != nil {
					t.Fatal(err)
				}
				got, err := jws.Verify([]byte(tok), jws.WithKey(c.xalg, c.pub))
				if err != nil {
					t.Fatalf("typ %q: jws.Verify: %v", typ, err)
				}
				if !bytes.Equal(got, payload) {
					t.Fatalf("payload %q", got)
				}
				parts := strings.Split(tok, ".")
				if len(parts) != 3 {
					t.Fatalf("token %q", tok)
				}
				h, _ := base64.RawURLEncoding.DecodeString(parts[0])
				want := `{"alg":"` + string(c.key.Algorithm()) + `","kid":"` + c.key.ID() + `"`
				if typ != "" {
					want += `,"typ":"` + typ + `"`
				}
				want += "}"
				if string(h) != want {
					t.Fatalf("header %s; want %s", h, want)
				}
				sig, err := b64.DecodeString(parts[2])
				if err != nil || len(sig) != c.key.sigSize() {
					t.Fatalf("signature %d bytes (%v); want %d", len(sig), err, c.key.sigSize())
				}
				v, err := VerifySignature(bg, ks, tok, []Algorithm{c.key.Algorithm()})
				if err != nil || v.Type != typ || !bytes.Equal(v.Payload, payload) {
					t.Fatalf("own verify: %+v %v", v, err)
				}
				// A flipped signature bit is refused by jwx too: the check
				// above is not vacuous.
				sig[0] ^= 1
				bad := parts[0] + "." + parts[1] + "." + b64.EncodeToString(sig)
				if _, err := jws.Verify([]byte(bad), jws.WithKey(c.xalg, c.pub)); err == nil {
					t.Fatal("jws.Verify accepted a corrupted signature")
				}
			}
		})
	}
}

// TestIssueFastPathJWX: full access tokens from the Issuer verify with jwx.
func TestIssueFastPathJWX(t *testing.T) {
	for _, c := range signCases(t) {
		t.Run(string(c.key.Algorithm()), func(t *testing.T) {
			ks, _ := NewKeySet(KeySetConfig{Keys: []*Key{c.key}, InsecureAllowHS256: true})
			is, err := NewIssuer(IssuerConfig{Keys: ks, Issuer: testIss, Audience: []string{testAud}, Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			tok, cl, err := is.Issue(bg, AccessTokenRequest{Subject: "user-1", Roles: []string{"viewer"}, AMR: []string{"pwd"},
				AuthTime: testNow.Add(-time.Minute), Extra: map[string]any{"tenant": "t<1>"}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := jws.Verify([]byte(tok), jws.WithKey(c.xalg, c.pub))
			if err != nil {
				t.Fatalf("jws.Verify: %v", err)
			}
			var m map[string]any
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			if m["sub"] != "user-1" || m["jti"] != cl.ID || m["tenant"] != "t<1>" || m["exp"] != float64(testNow.Add(DefaultAccessTokenLifetime).Unix()) {
				t.Fatalf("claims %v", m)
			}
		})
	}
}

// TestSignConcurrent signs from many goroutines with every key (pooled HMAC
// states, shared raw keys) under -race; every token must verify.
func TestSignConcurrent(t *testing.T) {
	cs := signCases(t)
	var keys []*Key
	for _, c := range cs {
		keys = append(keys, c.key)
	}
	ks, _ := NewKeySet(KeySetConfig{Keys: keys, InsecureAllowHS256: true})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			k := keys[g%len(keys)]
			n := 20
			if k.alg == RS256 || k.alg == PS256 {
				n = 2
			}
			for i := 0; i < n; i++ {
				p := []byte(`{"g":` + string(rune('0'+g%10)) + `}`)
				tok, err := k.sign(p, AccessTokenType)
				if err == nil {
					_, err = VerifySignature(bg, ks, tok, []Algorithm{k.alg})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestES256SignatureIsRawRS checks the JWS form of ES256 signatures (RFC
// 7518 §3.4): 64 bytes, r and s left-padded to 32 bytes each, verifiable by
// crypto/ecdsa as (r, s). Many signatures, so that short r or s values
// (probability 1/128 per signature) are exercised.
func TestES256SignatureIsRawRS(t *testing.T) {
	k, _ := ecdsa.GenerateKey(p256(), rand.Reader)
	key, _ := NewKey("e", ES256, k)
	for i := 0; i < 300; i++ {
		in := []byte{byte(i), byte(i >> 8)}
		sig, err := key.rawSign([]byte("x"), in)
		if err != nil || len(sig) != 65 || sig[0] != 'x' {
			t.Fatalf("signature %d: len %d err %v", i, len(sig), err)
		}
		sig = sig[1:]
		h := sha256.Sum256(in)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(&k.PublicKey, h[:], r, s) || !key.verify(in, sig) {
			t.Fatalf("signature %d does not verify", i)
		}
	}
}

// TestNewKeyLeavesCallerKey: NewKey copies Ed25519 and RSA private keys and
// does not write to the caller's RSA key when precomputing.
func TestNewKeyLeavesCallerKey(t *testing.T) {
	rk := *testRSA(t)
	rk.Precomputed = rsa.PrecomputedValues{}
	k, err := NewKey("r", RS256, &rk)
	if err != nil {
		t.Fatal(err)
	}
	if rk.Precomputed.Dp != nil {
		t.Fatal("caller's RSA key was precomputed in place")
	}
	if k.rsaPriv.Precomputed.Dp == nil {
		t.Fatal("signing key not precomputed")
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ek, _ := NewKey("e", EdDSA, ed)
	orig := bytes.Clone(ed)
	ed[0] ^= 0xff
	if !bytes.Equal(ek.edPriv, orig) {
		t.Fatal("Ed25519 key aliases the caller's slice")
	}
}

var hostileStrings = []string{
	"", "plain", `q"uote`, `back\slash`, "<script>&amp;</script>", "tab\tnl\ncr\r",
	"\b\f\x00\x01\x1f\x7f", "é ü 漢字 😀", "\u2028line\u2029para", "bad\xffutf8\xc3", "\xed\xa0\x80",
	"trunc\xe2\x82",
}

// TestIssuedClaimsRoundTrip: hostile strings in every string claim come
// back from Verify exactly as encoding/json encodes them (invalid UTF-8 as
// U+FFFD), acr included.
func TestIssuedClaimsRoundTrip(t *testing.T) {
	f := newFixture(t)
	iss, err := NewIssuer(IssuerConfig{Keys: f.ks, Issuer: testIss, Audience: []string{testAud}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range hostileStrings {
		if s == "" {
			continue
		}
		tok, _, err := iss.Issue(bg, AccessTokenRequest{Subject: "u" + s, Roles: []string{s}, AMR: []string{"pwd", s}, ACR: s,
			AuthTime: testNow.Add(-time.Minute), Extra: map[string]any{"x" + s: s}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.v.Verify(bg, tok)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var fix string
		_ = json.Unmarshal(want, &fix)
		if c.Subject != "u"+fix || len(c.Roles) != 1 || c.Roles[0] != fix || len(c.AMR) != 2 || c.AMR[1] != fix || c.ACR != fix {
			t.Errorf("%q: got %+v", s, c)
		}
		if string(c.Extra["x"+fix]) != string(want) {
			t.Errorf("%q: extra %s, want %s", s, c.Extra["x"+fix], want)
		}
	}
}
