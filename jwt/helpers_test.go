package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"testing"
	"time"
)

var testNow = time.Unix(1_800_000_000, 0)

const (
	testIss = "https://auth.example.com"
	testAud = "api"
)

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rawSign builds a compact JWS by hand (header and payload exactly as given)
// so tests can forge anything the Issuer would refuse to produce.
func rawSign(t testing.TB, alg string, key any, header, payload string) string {
	t.Helper()
	in := enc([]byte(header)) + "." + enc([]byte(payload))
	var sig []byte
	var err error
	h := sha256.Sum256([]byte(in))
	switch alg {
	case "ES256":
		r, s, e := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), h[:])
		err = e
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case "EdDSA":
		sig = ed25519.Sign(key.(ed25519.PrivateKey), []byte(in))
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, h[:])
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write([]byte(in))
		sig = m.Sum(nil)
	case "none":
	default:
		t.Fatalf("rawSign: alg %q", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + enc(sig)
}

type fixture struct {
	ks     *KeySet
	es     *Key
	ecPriv *ecdsa.PrivateKey
	ed     *Key
	edPriv ed25519.PrivateKey
	rs     *Key
	rsPriv *rsa.PrivateKey
	hs     *Key
	secret []byte
	v      *Verifier
}

var rsaOnce struct {
	k *rsa.PrivateKey
}

func testRSA(t testing.TB) *rsa.PrivateKey {
	if rsaOnce.k == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		rsaOnce.k = k
	}
	return rsaOnce.k
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{}
	var err error
	f.ecPriv, _ = ecdsa.GenerateKey(p256(), rand.Reader)
	_, f.edPriv, _ = ed25519.GenerateKey(rand.Reader)
	f.rsPriv = testRSA(t)
	f.secret = []byte("0123456789abcdef0123456789abcdef")
	if f.es, err = NewKey("es", ES256, f.ecPriv); err != nil {
		t.Fatal(err)
	}
	if f.ed, err = NewKey("ed", EdDSA, f.edPriv); err != nil {
		t.Fatal(err)
	}
	if f.rs, err = NewKey("rs", RS256, f.rsPriv); err != nil {
		t.Fatal(err)
	}
	if f.hs, err = NewKey("hs", HS256, f.secret); err != nil {
		t.Fatal(err)
	}
	f.ks, err = NewKeySet(KeySetConfig{Keys: []*Key{f.es, f.ed, f.rs, f.hs}, InsecureAllowHS256: true})
	if err != nil {
		t.Fatal(err)
	}
	f.v = f.verifier(t, VerifierConfig{})
	return f
}

func (f *fixture) verifier(t testing.TB, cfg VerifierConfig) *Verifier {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = f.ks
	}
	if cfg.Issuer == "" {
		cfg.Issuer = testIss
	}
	if cfg.Audience == nil {
		cfg.Audience = []string{testAud}
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) priv(alg string) any {
	switch alg {
	case "ES256":
		return f.ecPriv
	case "EdDSA":
		return f.edPriv
	case "RS256", "PS256":
		return f.rsPriv
	case "HS256":
		return f.secret
	}
	return nil
}

func kidFor(alg string) string {
	return map[string]string{"ES256": "es", "EdDSA": "ed", "RS256": "rs", "HS256": "hs"}[alg]
}

// claims returns a valid claim set (as a map) for testNow.
func claims() map[string]any {
	return map[string]any{
		"iss": testIss, "sub": "user-1", "aud": []string{testAud},
		"exp": testNow.Add(10 * time.Minute).Unix(), "iat": testNow.Unix(), "nbf": testNow.Unix(),
		"jti": "jti-1", "roles": []string{"viewer"},
	}
}

func js(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hdr(alg, kid string) string {
	return `{"alg":"` + alg + `","kid":"` + kid + `","typ":"at+jwt"}`
}

// token signs the given claims with the fixture key for alg.
func (f *fixture) token(t testing.TB, alg string, c map[string]any) string {
	return rawSign(t, alg, f.priv(alg), hdr(alg, kidFor(alg)), js(t, c))
}

func wantErr(t *testing.T, err error, cause error) {
	t.Helper()
	if err == nil {
		t.Fatalf("verified; want %v", cause)
	}
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err %v does not wrap ErrInvalidToken", err)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Fatalf("err = %v; want cause %v", err, cause)
	}
}

func bigN() *big.Int { return p256().Params().N }

var bg = context.Background()

func rsaKey1024() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 1024) }

// failStore fails every call: used where the store must never be reached.
type failStore struct{}

var errReached = errors.New("store reached")

func (failStore) Create(context.Context, RefreshToken) (bool, error) { return false, errReached }
func (failStore) Rotate(context.Context, Rotation) (RotateResult, error) {
	return RotateResult{}, errReached
}
func (failStore) RevokeToken(context.Context, string) (string, bool, error) {
	return "", false, errReached
}
func (failStore) RevokeUser(context.Context, string) error { return errReached }
func (failStore) UpdateSignIn(context.Context, SignInUpdate) (RefreshToken, bool, error) {
	return RefreshToken{}, false, errReached
}
func (failStore) SetNotBefore(context.Context, string, time.Time) error { return errReached }
func (failStore) NotBefore(context.Context, string) (time.Time, bool, error) {
	return time.Time{}, false, errReached
}

func newMemRefresh() RefreshStore { return failStore{} }
