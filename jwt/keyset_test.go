package jwt

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{ES256, EdDSA, RS256, PS256, HS256} {
		t.Run(string(alg), func(t *testing.T) {
			var k *Key
			var err error
			if alg == RS256 || alg == PS256 {
				k, err = NewKey("", alg, testRSA(t))
			} else {
				k, err = GenerateKey(alg, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			ks, err := NewKeySet(KeySetConfig{Keys: []*Key{k}, InsecureAllowHS256: alg == HS256})
			if err != nil {
				t.Fatal(err)
			}
			now := func() time.Time { return testNow }
			iss, _ := NewIssuer(IssuerConfig{Keys: ks, Issuer: testIss, Audience: []string{testAud}, Now: now})
			tok, want, err := iss.Issue(bg, AccessTokenRequest{Subject: "u1", Roles: []string{"admin"}, AMR: []string{"pwd", "otp"},
				AuthTime: testNow.Add(-time.Minute), Extra: map[string]any{"tenant": "t1", "n": 3}})
			if err != nil {
				t.Fatal(err)
			}
			v, _ := NewVerifier(VerifierConfig{Keys: ks, Issuer: testIss, Audience: []string{testAud}, Now: now})
			got, err := v.Verify(bg, tok)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != "u1" || got.ID != want.ID || len(got.ID) != 22 || !got.ExpiresAt.Equal(testNow.Add(15*time.Minute)) ||
				!got.HasAMR("otp") || string(got.Extra["tenant"]) != `"t1"` || string(got.Extra["n"]) != "3" || got.Roles[0] != "admin" {
				t.Fatalf("claims %+v", got)
			}
			// header: typ at+jwt, kid, alg
			vs, err := VerifySignature(bg, ks, tok, []Algorithm{alg})
			if err != nil || vs.Type != "at+jwt" || vs.KeyID != k.ID() || vs.Algorithm != alg {
				t.Fatalf("header %+v %v", vs, err)
			}
		})
	}
}

func TestIssuerReservedClaims(t *testing.T) {
	ks, _ := NewKeySet(KeySetConfig{})
	_, _ = ks.Rotate(nil)
	iss, _ := NewIssuer(IssuerConfig{Keys: ks, Issuer: testIss, Audience: []string{testAud}})
	for _, name := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "roles", "amr", "auth_time", "typ"} {
		_, _, err := iss.Issue(bg, AccessTokenRequest{Subject: "u", Extra: map[string]any{name: "x"}})
		if !errors.Is(err, ErrReservedClaim) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, _, err := iss.Issue(bg, AccessTokenRequest{}); err == nil {
		t.Fatal("empty subject accepted")
	}
	empty, _ := NewKeySet(KeySetConfig{})
	iss2, _ := NewIssuer(IssuerConfig{Keys: empty, Issuer: testIss, Audience: []string{testAud}})
	if _, _, err := iss2.Issue(bg, AccessTokenRequest{Subject: "u"}); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("no key: %v", err)
	}
}

func TestRotation(t *testing.T) {
	ks, _ := NewKeySet(KeySetConfig{})
	k1, _ := ks.Rotate(nil)
	iss, _ := NewIssuer(IssuerConfig{Keys: ks, Issuer: testIss, Audience: []string{testAud}})
	v, _ := NewVerifier(VerifierConfig{Keys: ks, Issuer: testIss, Audience: []string{testAud}})
	old, _, _ := iss.Issue(bg, AccessTokenRequest{Subject: "u"})
	k2, err := ks.Rotate(nil)
	if err != nil || ks.Active() != k2 || k2.ID() == k1.ID() {
		t.Fatal("rotate", err)
	}
	newer, _, _ := iss.Issue(bg, AccessTokenRequest{Subject: "u"})
	if vs, _ := VerifySignature(bg, ks, newer, []Algorithm{ES256}); vs.KeyID != k2.ID() {
		t.Fatalf("new tokens signed by %s", vs.KeyID)
	}
	if _, err := v.Verify(bg, old); err != nil {
		t.Fatalf("old key stops verifying before removal: %v", err)
	}
	if err := ks.Remove(k2.ID()); err == nil {
		t.Fatal("removed the active key")
	}
	if err := ks.Remove(k1.ID()); err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(bg, old)
	wantErr(t, err, ErrUnknownKey)
	if _, err := v.Verify(bg, newer); err != nil {
		t.Fatal(err)
	}
}

func TestJWKSHandler(t *testing.T) {
	f := newFixture(t)
	rec := httptest.NewRecorder()
	f.ks.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=300" || rec.Header().Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 3 {
		t.Fatalf("want 3 public keys (no HS256), got %d", len(doc.Keys))
	}
	for _, k := range doc.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Fatalf("private member %q published: %v", private, k)
			}
		}
		if k["kid"] == nil || k["alg"] == nil || k["use"] != "sig" {
			t.Fatalf("key without kid/alg/use: %v", k)
		}
	}
	if strings.Contains(rec.Body.String(), string(f.secret)) {
		t.Fatal("HS256 secret published")
	}
	rec = httptest.NewRecorder()
	f.ks.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatal(rec.Code)
	}
	// Keys never print private material.
	for _, k := range f.ks.Keys() {
		if s := k.String(); strings.Contains(s, "PRIVATE") || len(s) > 80 {
			t.Fatal(s)
		}
	}
}

func TestKeySource(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	f := newFixture(t)
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	for _, withKEK := range []bool{false, true} {
		path := filepath.Join(dir, "keys-"+map[bool]string{false: "plain", true: "enc"}[withKEK])
		cfg := FileKeySourceConfig{Path: path}
		if withKEK {
			cfg.KEK = kek
		}
		src, err := NewFileKeySource(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, found, err := LoadKeySet(ctx, src, KeySetConfig{}); found || err != nil {
			t.Fatalf("empty source: found=%v err=%v", found, err)
		}
		if err := f.ks.Save(ctx, src); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode().Perm())
		}
		raw, _ := os.ReadFile(path)
		if withKEK == strings.Contains(string(raw), `"keys"`) {
			t.Fatalf("encrypted=%v but file content plain=%v", withKEK, strings.Contains(string(raw), `"keys"`))
		}
		ks, found, err := LoadKeySet(ctx, src, KeySetConfig{InsecureAllowHS256: true})
		if err != nil || !found {
			t.Fatal(err)
		}
		if ks.Active().ID() != f.ks.Active().ID() || len(ks.Keys()) != 4 {
			t.Fatalf("loaded %v", ks.Keys())
		}
		// A token signed by the loaded set verifies with the original.
		tok, _ := ks.Sign([]byte(js(t, claims())), "at+jwt")
		if _, err := f.v.Verify(bg, tok); err != nil {
			t.Fatal(err)
		}
		if withKEK {
			wrong := make([]byte, 32)
			src2, _ := NewFileKeySource(FileKeySourceConfig{Path: path, KEK: wrong})
			if _, _, err := LoadKeySet(ctx, src2, KeySetConfig{}); !errors.Is(err, ErrKeySourceCorrupt) {
				t.Fatalf("wrong KEK: %v", err)
			}
			raw[len(raw)-1] ^= 1
			_ = os.WriteFile(path, raw, 0o600)
			if _, _, err := LoadKeySet(ctx, src, KeySetConfig{}); !errors.Is(err, ErrKeySourceCorrupt) {
				t.Fatalf("tampered: %v", err)
			}
		}
		_ = os.Chmod(path, 0o644)
		if _, _, err := src.Load(ctx); !errors.Is(err, ErrKeyFilePerm) {
			t.Fatalf("0644 file: %v", err)
		}
	}
	if _, err := NewFileKeySource(FileKeySourceConfig{Path: "x", KEK: make([]byte, 16)}); err == nil {
		t.Fatal("16-byte KEK accepted")
	}
}

func TestParseKeyPEMAndJWK(t *testing.T) {
	f := newFixture(t)
	pemPub, err := f.es.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParseKeyPEM("es", ES256, pemPub)
	if err != nil || pub.CanSign() {
		t.Fatal(err)
	}
	ks, _ := NewKeySet(KeySetConfig{Keys: []*Key{pub}})
	v := f.verifier(t, VerifierConfig{Keys: ks})
	if _, err := v.Verify(bg, f.token(t, "ES256", claims())); err != nil {
		t.Fatal(err)
	}
	j, _ := f.ed.MarshalPublicJWK()
	k, err := ParseJWK(j)
	if err != nil || k.ID() != "ed" || k.Algorithm() != EdDSA || k.CanSign() {
		t.Fatalf("%v %v", k, err)
	}
	if _, err := ParseKeyPEM("x", ES256, []byte("not pem")); err == nil {
		t.Fatal("garbage PEM accepted")
	}
}

// TestConstructorsWrapErrInvalidConfig: every constructor of the package
// reports a bad Config as ErrInvalidConfig, keeping its own message and the
// specific sentinel where there is one.
func TestConstructorsWrapErrInvalidConfig(t *testing.T) {
	f := newFixture(t)
	hsOnly, err := NewKey("hs2", HS256, f.secret)
	if err != nil {
		t.Fatal(err)
	}
	errs := map[string]error{}
	_, errs["NewKeySet/JWKSMaxAge"] = NewKeySet(KeySetConfig{JWKSMaxAge: -1})
	_, errs["NewKeySet/HS256"] = NewKeySet(KeySetConfig{Keys: []*Key{hsOnly}})
	_, errs["NewIssuer"] = NewIssuer(IssuerConfig{})
	_, errs["NewVerifier"] = NewVerifier(VerifierConfig{})
	_, errs["NewRefreshManager"] = NewRefreshManager(RefreshManagerConfig{})
	_, errs["NewRemoteKeySet"] = NewRemoteKeySet(RemoteKeySetConfig{URL: "http://example.com/jwks"})
	_, errs["NewFileKeySource"] = NewFileKeySource(FileKeySourceConfig{})
	for name, err := range errs {
		if !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "jwt: ") {
			t.Errorf("%s: %v does not wrap ErrInvalidConfig", name, err)
		}
	}
	if !errors.Is(errs["NewKeySet/HS256"], ErrHS256NotAllowed) {
		t.Errorf("NewKeySet without the HS256 opt-in: %v, want ErrHS256NotAllowed as well", errs["NewKeySet/HS256"])
	}
}
