package jwt

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerifyValid(t *testing.T) {
	f := newFixture(t)
	for _, alg := range []string{"ES256", "EdDSA", "RS256", "HS256"} {
		t.Run(alg, func(t *testing.T) {
			c, err := f.v.Verify(bg, f.token(t, alg, claims()))
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "user-1" || c.Issuer != testIss || c.ID != "jti-1" || len(c.Roles) != 1 || c.Roles[0] != "viewer" ||
				!c.ExpiresAt.Equal(testNow.Add(10*time.Minute)) || !c.IssuedAt.Equal(testNow) || c.Extra != nil {
				t.Fatalf("claims = %+v", c)
			}
		})
	}
	t.Run("PS256", func(t *testing.T) {
		ps, err := NewKey("ps", PS256, f.rsPriv)
		if err != nil {
			t.Fatal(err)
		}
		ks, _ := NewKeySet(KeySetConfig{Keys: []*Key{ps}})
		v := f.verifier(t, VerifierConfig{Keys: ks})
		if _, err := v.Verify(bg, rawSign(t, "PS256", f.rsPriv, hdr("PS256", "ps"), js(t, claims()))); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	good := f.token(t, "ES256", claims())
	parts := strings.Split(good, ".")

	t.Run("alg_none", func(t *testing.T) {
		for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
			tok := enc([]byte(`{"alg":"`+alg+`","kid":"es","typ":"at+jwt"}`)) + "." + parts[1] + "."
			_, err := f.v.Verify(bg, tok)
			wantErr(t, err, nil)
			tok = enc([]byte(`{"alg":"`+alg+`","kid":"es","typ":"at+jwt"}`)) + "." + parts[1] + "." + parts[2]
			_, err = f.v.Verify(bg, tok)
			wantErr(t, err, ErrAlgorithm)
		}
		// RFC 7519 §6.1 unsecured token (V5 section)
		_, err := f.v.Verify(bg, "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.")
		wantErr(t, err, ErrMalformed)
	})

	t.Run("alg_confusion", func(t *testing.T) {
		der, _ := x509.MarshalPKIXPublicKey(&f.ecPriv.PublicKey)
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		jwkPub, _ := f.es.MarshalPublicJWK()
		secrets := [][]byte{pemKey, []byte(strings.TrimSpace(string(pemKey))), []byte(strings.ReplaceAll(string(pemKey), "\n", "")), der, jwkPub}
		for _, s := range secrets {
			tok := rawSign(t, "HS256", s, hdr("HS256", "es"), js(t, claims()))
			_, err := f.v.Verify(bg, tok)
			wantErr(t, err, ErrAlgorithm)
		}
		// RS256 token naming the ES256 key id
		_, err := f.v.Verify(bg, rawSign(t, "RS256", f.rsPriv, hdr("RS256", "es"), js(t, claims())))
		wantErr(t, err, ErrAlgorithm)
	})

	t.Run("structure", func(t *testing.T) {
		other := f.token(t, "ES256", map[string]any{"sub": "someone-else"})
		for _, tok := range []string{
			parts[0] + "." + parts[1] + ".",
			parts[0] + "." + parts[1],
			good + "." + parts[2],
			"", ".", "..", "...",
			"." + parts[1] + "." + parts[2],
			parts[0] + ".." + parts[2],
		} {
			_, err := f.v.Verify(bg, tok)
			wantErr(t, err, ErrMalformed)
		}
		_, err := f.v.Verify(bg, parts[0]+"."+parts[1]+"."+strings.Split(other, ".")[2])
		wantErr(t, err, ErrSignature)
	})

	t.Run("forged_payload", func(t *testing.T) {
		c := claims()
		c["roles"] = []string{"admin"}
		_, err := f.v.Verify(bg, parts[0]+"."+enc([]byte(js(t, c)))+"."+parts[2])
		wantErr(t, err, ErrSignature)
	})

	t.Run("ecdsa_zero_and_n", func(t *testing.T) {
		zero := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // V7
		_, err := f.v.Verify(bg, parts[0]+"."+parts[1]+"."+zero)
		wantErr(t, err, ErrSignature)
		n := make([]byte, 64)
		bigN().FillBytes(n[:32])
		bigN().FillBytes(n[32:])
		_, err = f.v.Verify(bg, parts[0]+"."+parts[1]+"."+enc(n))
		wantErr(t, err, ErrSignature)
		// DER-encoded signatures (wrong length) are refused too.
		_, err = f.v.Verify(bg, parts[0]+"."+parts[1]+"."+enc(make([]byte, 70)))
		wantErr(t, err, ErrSignature)
	})

	t.Run("embedded_jwk", func(t *testing.T) {
		att, _ := ecdsa.GenerateKey(p256(), rand.Reader)
		attKey, _ := NewKey("", ES256, att)
		jwkPub, _ := attKey.MarshalPublicJWK()
		h := `{"alg":"ES256","typ":"at+jwt","jwk":` + string(jwkPub) + `}`
		_, err := f.v.Verify(bg, rawSign(t, "ES256", att, h, js(t, claims())))
		wantErr(t, err, ErrForbiddenHeader)
		h = `{"alg":"ES256","kid":"es","typ":"at+jwt","jwk":` + string(jwkPub) + `}`
		_, err = f.v.Verify(bg, rawSign(t, "ES256", att, h, js(t, claims())))
		wantErr(t, err, ErrForbiddenHeader)
	})

	t.Run("jku_x5u", func(t *testing.T) {
		for _, p := range []string{"jku", "x5u"} {
			h := `{"alg":"ES256","kid":"attacker","typ":"at+jwt","` + p + `":"https://evil.example/jwks.json"}`
			_, err := f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, h, js(t, claims())))
			wantErr(t, err, ErrForbiddenHeader)
		}
		// remote key set with a failing RoundTripper: see TestRemoteKeySet/last_good_set_when_down
	})

	t.Run("x5c", func(t *testing.T) {
		h := `{"alg":"ES256","kid":"es","typ":"at+jwt","x5c":["MIIB"]}`
		_, err := f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, h, js(t, claims())))
		wantErr(t, err, ErrForbiddenHeader)
	})

	t.Run("kid", func(t *testing.T) {
		for _, kid := range []string{"../../../../dev/null", "x' UNION SELECT 'AAAA'--", `\u0000`, "", "unknown", strings.Repeat("k", 4000)} {
			h := `{"alg":"HS256","kid":"` + kid + `","typ":"at+jwt"}`
			_, err := f.v.Verify(bg, rawSign(t, "HS256", []byte{}, h, js(t, claims())))
			wantErr(t, err, ErrUnknownKey)
		}
		_, err := f.v.Verify(bg, rawSign(t, "HS256", []byte{}, `{"alg":"HS256","kid":"`+strings.Repeat("k", 10000)+`","typ":"at+jwt"}`, js(t, claims())))
		wantErr(t, err, ErrTooLarge)
	})

	t.Run("exp_leeway", func(t *testing.T) {
		c := claims()
		c["exp"] = testNow.Add(-30 * time.Second).Unix()
		tok := f.token(t, "ES256", c)
		_, err := f.v.Verify(bg, tok)
		wantErr(t, err, ErrExpired)
		lv := f.verifier(t, VerifierConfig{Leeway: 60 * time.Second})
		if _, err := lv.Verify(bg, tok); err != nil {
			t.Fatalf("within leeway: %v", err)
		}
		c["exp"] = testNow.Add(-61 * time.Second).Unix()
		_, err = lv.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrExpired)
		c["exp"] = testNow.Unix() // exp == now is expired (RFC 7519 §4.1.4 "on or after")
		_, err = f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrExpired)
		if _, err := NewVerifier(VerifierConfig{Keys: f.ks, Issuer: testIss, Audience: []string{testAud}, Leeway: 61 * time.Second}); err == nil {
			t.Fatal("leeway > 60s accepted")
		}
	})

	t.Run("nbf_iat_future", func(t *testing.T) {
		c := claims()
		c["nbf"] = testNow.Add(time.Hour).Unix()
		_, err := f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrNotYetValid)
		c = claims()
		c["iat"] = testNow.Add(time.Hour).Unix()
		_, err = f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrIssuedInFuture)
	})

	t.Run("required_claims", func(t *testing.T) {
		for _, name := range []string{"exp", "iat", "jti", "iss", "aud", "sub"} {
			c := claims()
			delete(c, name)
			_, err := f.v.Verify(bg, f.token(t, "ES256", c))
			wantErr(t, err, ErrMissingClaim)
		}
	})

	t.Run("numeric_dates", func(t *testing.T) {
		for _, raw := range []string{`"9999999999"`, `1e308`, `-1`, `null`, `1.5`, `true`, `99999999999999999999`, `[1]`, `{}`} {
			p := strings.Replace(js(t, claims()), `"exp":`+js(t, claims()["exp"]), `"exp":`+raw, 1)
			tok := rawSign(t, "ES256", f.ecPriv, hdr("ES256", "es"), p)
			_, err := f.v.Verify(bg, tok)
			wantErr(t, err, nil)
			if !errors.Is(err, ErrClaimType) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("exp=%s: err %v", raw, err)
			}
		}
	})

	t.Run("audience", func(t *testing.T) {
		for _, aud := range []any{[]string{"x", "api"}, "api"} {
			c := claims()
			c["aud"] = aud
			if _, err := f.v.Verify(bg, f.token(t, "ES256", c)); err != nil {
				t.Fatalf("aud %v: %v", aud, err)
			}
		}
		for _, aud := range []any{[]string{}, "", []string{"x"}, nil, 5, []any{1}} {
			c := claims()
			c["aud"] = aud
			_, err := f.v.Verify(bg, f.token(t, "ES256", c))
			wantErr(t, err, nil)
		}
	})

	t.Run("other_issuer", func(t *testing.T) {
		c := claims()
		c["iss"] = "https://other.example.com"
		_, err := f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrIssuer)
		c["iss"] = testIss + "/"
		_, err = f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrIssuer)
		// Issuer A's claims signed with issuer B's key (not in our set).
		b, _ := ecdsa.GenerateKey(p256(), rand.Reader)
		_, err = f.v.Verify(bg, rawSign(t, "ES256", b, hdr("ES256", "issuer-b"), js(t, claims())))
		wantErr(t, err, ErrUnknownKey)
		_, err = f.v.Verify(bg, rawSign(t, "ES256", b, hdr("ES256", "es"), js(t, claims())))
		wantErr(t, err, ErrSignature)
	})

	t.Run("crit", func(t *testing.T) {
		_, err := f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, `{"alg":"ES256","kid":"es","typ":"at+jwt","crit":["x"],"x":1}`, js(t, claims())))
		wantErr(t, err, ErrForbiddenHeader)
	})

	t.Run("typ", func(t *testing.T) {
		for _, h := range []string{
			`{"alg":"ES256","kid":"es"}`,
			`{"alg":"ES256","kid":"es","typ":"JWT"}`,
			`{"alg":"ES256","kid":"es","typ":"refresh+jwt"}`,
			`{"alg":"ES256","kid":"es","typ":"at+jwt2"}`,
			`{"alg":"ES256","kid":"es","typ":1}`,
		} {
			_, err := f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, h, js(t, claims())))
			wantErr(t, err, nil)
		}
		for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt"} {
			if _, err := f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, `{"alg":"ES256","kid":"es","typ":"`+typ+`"}`, js(t, claims()))); err != nil {
				t.Fatalf("typ %q: %v", typ, err)
			}
		}
		// A refresh token is opaque and never verifies as an access token.
		_, err := f.v.Verify(bg, RefreshTokenPrefix+strings.Repeat("A", 43))
		wantErr(t, err, ErrMalformed)
	})

	t.Run("jwe_nested", func(t *testing.T) {
		jwe := enc([]byte(`{"alg":"PBES2-HS256+A128KW","enc":"A128GCM","p2c":2147483647}`)) + ".AAAA.AAAA.AAAA.AAAA"
		_, err := f.v.Verify(bg, jwe)
		wantErr(t, err, ErrMalformed)
		for _, h := range []string{
			`{"alg":"ES256","kid":"es","typ":"at+jwt","cty":"JWT"}`,
			`{"alg":"ES256","kid":"es","typ":"at+jwt","enc":"A128GCM"}`,
			`{"alg":"ES256","kid":"es","typ":"at+jwt","zip":"DEF"}`,
			`{"alg":"ES256","kid":"es","typ":"at+jwt","b64":false}`,
		} {
			_, err := f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, h, js(t, claims())))
			wantErr(t, err, ErrForbiddenHeader)
		}
	})

	t.Run("json_serialization", func(t *testing.T) {
		j := `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`
		_, err := f.v.Verify(bg, j)
		wantErr(t, err, ErrMalformed)
		_, err = f.v.Verify(bg, " "+good)
		wantErr(t, err, ErrMalformed)
		_, err = f.v.Verify(bg, parts[0]+"=."+parts[1]+"."+parts[2])
		wantErr(t, err, ErrMalformed)
	})

	t.Run("duplicates", func(t *testing.T) {
		p := js(t, claims())
		for _, dup := range []string{
			p[:len(p)-1] + `,"exp":9999999999}`,
			p[:len(p)-1] + `,"\u0065xp":9999999999}`,
			p[:len(p)-1] + `,"sub":"admin"}`,
		} {
			_, err := f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, hdr("ES256", "es"), dup))
			wantErr(t, err, ErrDuplicateMember)
		}
		_, err := f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, `{"alg":"ES256","alg":"HS256","kid":"es","typ":"at+jwt"}`, js(t, claims())))
		wantErr(t, err, ErrDuplicateMember)
	})

	t.Run("noncanonical_base64", func(t *testing.T) {
		s := parts[2]
		last := s[len(s)-1]
		idx := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last)
		flipped := s[:len(s)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[idx^1])
		// ES256: 64 bytes → 86 chars, the last char carries 4 unused bits.
		_, err := f.v.Verify(bg, parts[0]+"."+parts[1]+"."+flipped)
		wantErr(t, err, ErrMalformed)
		if _, err := base64.RawURLEncoding.DecodeString(flipped); err != nil {
			t.Fatal("lenient decoder should accept the flipped form (test premise)")
		}
	})

	t.Run("huge_inputs", func(t *testing.T) {
		for _, tok := range []string{
			strings.Repeat(".", 1<<20),
			strings.Repeat("a.", 100000),
			parts[0] + "." + strings.Repeat("A", 8<<20) + "." + parts[2],
		} {
			start := time.Now()
			allocs := testing.AllocsPerRun(3, func() { _, _ = f.v.Verify(bg, tok) })
			_, err := f.v.Verify(bg, tok)
			wantErr(t, err, ErrTooLarge)
			if allocs > 1 || time.Since(start) > time.Second {
				t.Fatalf("huge input: %v allocs, %v", allocs, time.Since(start))
			}
		}
		deep := `{"alg":"ES256","kid":"es","typ":"at+jwt","x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`
		_, err := f.v.Verify(bg, enc([]byte(deep))+"."+parts[1]+"."+parts[2])
		wantErr(t, err, ErrMalformed)
		c := claims()
		var nest any = 1
		for i := 0; i < 40; i++ {
			nest = []any{nest}
		}
		c["deep"] = nest
		_, err = f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrMalformed)
	})

	t.Run("jwe_p2c", func(t *testing.T) {
		// JWE is never accepted: the 5-part form is refused before any
		// header is decoded, so p2c or zip never reach a decrypter.
		_, err := f.v.Verify(bg, enc([]byte(`{"alg":"PBES2-HS512+A256KW","p2c":2147483648,"enc":"A256GCM","zip":"DEF"}`))+".a.b.c.d")
		wantErr(t, err, ErrMalformed)
	})

	t.Run("signature_before_expiry", func(t *testing.T) {
		c := claims()
		c["exp"] = testNow.Add(-time.Hour).Unix()
		p := strings.Split(f.token(t, "ES256", c), ".")
		_, err := f.v.Verify(bg, p[0]+"."+p[1]+"."+parts[2])
		wantErr(t, err, ErrSignature)
		if errors.Is(err, ErrExpired) {
			t.Fatal("expired reported for a badly signed token")
		}
	})

	t.Run("allowlist", func(t *testing.T) {
		v := f.verifier(t, VerifierConfig{Algorithms: []Algorithm{ES256, EdDSA}})
		for _, alg := range []string{"HS256", "RS256"} {
			_, err := v.Verify(bg, f.token(t, alg, claims()))
			wantErr(t, err, ErrAlgorithm)
		}
		for _, alg := range []string{"ES256", "EdDSA"} {
			if _, err := v.Verify(bg, f.token(t, alg, claims())); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := NewVerifier(VerifierConfig{Keys: f.ks, Issuer: testIss, Audience: []string{testAud}, Algorithms: []Algorithm{"none"}}); err == nil {
			t.Fatal("none accepted in allow-list")
		}
		// Default allow-list of a KeySet without InsecureAllowHS256 excludes HS256.
		ks, _ := NewKeySet(KeySetConfig{Keys: []*Key{f.es}})
		if mask, _ := algMask(ks.defaultAlgs()); mask&16 != 0 {
			t.Fatal("HS256 in default allow-list")
		}
	})

	t.Run("utf8", func(t *testing.T) {
		p := js(t, claims())
		bad := p[:len(p)-1] + `,"name":"` + "\xff\xfe" + `"}`
		_, err := f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, hdr("ES256", "es"), bad))
		wantErr(t, err, ErrInvalidUTF8)
		lone := p[:len(p)-1] + `,"name":"\ud800"}`
		_, err = f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, hdr("ES256", "es"), lone))
		wantErr(t, err, ErrMalformed)
		_, err = f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, "{\"alg\":\"ES256\",\"kid\":\"es\xff\",\"typ\":\"at+jwt\"}", js(t, claims())))
		wantErr(t, err, ErrInvalidUTF8)
	})

	t.Run("audience", func(t *testing.T) {
		c := claims()
		c["aud"] = []string{"other-api"}
		_, err := f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrAudience)
		delete(c, "aud")
		_, err = f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrMissingClaim)
	})

	t.Run("purpose_separation", func(t *testing.T) {
		// An OIDC ID token (typ JWT, aud = client id) is refused by the
		// access-token verifier for typ and for aud.
		c := claims()
		c["aud"] = "client-123"
		_, err := f.v.Verify(bg, rawSign(t, "ES256", f.ecPriv, `{"alg":"ES256","kid":"es","typ":"JWT"}`, js(t, c)))
		wantErr(t, err, ErrType)
		_, err = f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrAudience)
		// An access token is not a refresh token.
		rm, _ := NewRefreshManager(RefreshManagerConfig{Store: newMemRefresh()})
		if _, _, err := rm.Refresh(bg, good); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("access token accepted as refresh token: %v", err)
		}
	})

	t.Run("extra_claims", func(t *testing.T) {
		c := claims()
		c["tenant"] = "t1"
		c["amr"] = []string{"pwd", "otp"}
		c["auth_time"] = testNow.Add(-time.Minute).Unix()
		got, err := f.v.Verify(bg, f.token(t, "ES256", c))
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Extra["tenant"]) != `"t1"` || !got.HasAMR("otp") || !got.AuthTime.Equal(testNow.Add(-time.Minute)) {
			t.Fatalf("claims = %+v", got)
		}
	})
}

func TestVectors(t *testing.T) {
	t.Run("RFC8037_Ed25519", func(t *testing.T) {
		d, _ := base64.RawURLEncoding.DecodeString("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
		jk := `{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
		k, err := ParseJWK([]byte(jk))
		if err != nil {
			t.Fatal(err)
		}
		if k.ID() != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
			t.Fatalf("thumbprint kid = %s", k.ID())
		}
		_ = d
		const tok = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
		ks, _ := NewKeySet(KeySetConfig{Keys: []*Key{k}})
		p, err := verifyCompact(bg, []byte(tok), MaxJWSSize, 2, ks) // kid-less: the only key
		if err != nil || string(p.payload) != "Example of Ed25519 signing" {
			t.Fatalf("payload %q err %v", p.payload, err)
		}
		// Deterministic: the signing fast path (the one Issuer and
		// KeySet.Sign use) reproduces the RFC 8037 A.4 token byte for byte
		// when given the vector's protected header.
		mine, err := signWith(k, enc([]byte(`{"alg":"EdDSA"}`)), []byte("Example of Ed25519 signing"))
		if err != nil || mine != tok {
			t.Fatalf("fast path = %q, %v; want RFC 8037 A.4 %q", mine, err, tok)
		}
		// One flipped payload bit fails.
		_, err = verifyCompact(bg, []byte(strings.Replace(tok, "RXhh", "RXha", 1)), MaxJWSSize, 2, ks)
		wantErr(t, err, ErrSignature)
	})
	t.Run("RFC7515_HS256", func(t *testing.T) {
		kb, _ := base64.RawURLEncoding.DecodeString("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
		k, err := NewKey("v5", HS256, kb)
		if err != nil {
			t.Fatal(err)
		}
		ks, _ := NewKeySet(KeySetConfig{Keys: []*Key{k}, InsecureAllowHS256: true})
		const tok = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
		v, err := VerifySignature(bg, ks, tok, []Algorithm{HS256})
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Iss string `json:"iss"`
			Exp int64  `json:"exp"`
		}
		if err := json.Unmarshal(v.Payload, &c); err != nil || c.Iss != "joe" || c.Exp != 1300819380 || v.Type != "JWT" {
			t.Fatalf("payload %s typ %q", v.Payload, v.Type)
		}
		// Checked with another algorithm: refused.
		_, err = VerifySignature(bg, ks, tok, []Algorithm{ES256})
		wantErr(t, err, ErrAlgorithm)
		// Access-token rules: typ JWT is refused even with the right key.
		av, _ := NewVerifier(VerifierConfig{Keys: ks, Issuer: "joe", Audience: []string{"x"}, Now: func() time.Time { return time.Unix(1300819000, 0) }})
		_, err = av.Verify(bg, tok)
		wantErr(t, err, ErrType)
	})
}

func TestWeakKeys(t *testing.T) {
	t.Run("weak_keys", testWeakKeys)
	t.Run("cannot_mint_none", func(t *testing.T) {
		if _, err := GenerateKey("none", nil); !errors.Is(err, ErrUnsupportedAlg) {
			t.Fatalf("none key: %v", err)
		}
		if _, err := NewKey("n", "none", []byte("0123456789abcdef0123456789abcdef")); !errors.Is(err, ErrUnsupportedAlg) {
			t.Fatalf("none key: %v", err)
		}
		// Every token the Issuer mints carries the key's own algorithm.
		f := newFixture(t)
		for _, k := range f.ks.Keys() {
			tok, err := k.sign([]byte(js(t, claims())), AccessTokenType)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
			if !strings.Contains(string(h), `"alg":"`+string(k.Algorithm())+`"`) || strings.Count(tok, ".") != 2 || strings.HasSuffix(tok, ".") {
				t.Fatalf("header %s", h)
			}
		}
	})
}

func testWeakKeys(t *testing.T) {
	if _, err := NewKey("h", HS256, make([]byte, 31)); !errors.Is(err, ErrWeakKey) {
		t.Fatalf("31-byte HS256 secret: %v", err)
	}
	small, err := rsaKey1024()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKey("r", RS256, small); !errors.Is(err, ErrWeakKey) {
		t.Fatalf("1024-bit RSA: %v", err)
	}
	if _, err := NewPublicKey("r", PS256, &small.PublicKey); !errors.Is(err, ErrWeakKey) {
		t.Fatalf("1024-bit RSA public: %v", err)
	}
	hs, _ := NewKey("h", HS256, make([]byte, 32))
	if _, err := NewKeySet(KeySetConfig{Keys: []*Key{hs}}); !errors.Is(err, ErrHS256NotAllowed) {
		t.Fatalf("HS256 without opt-in: %v", err)
	}
	ec, _ := ecdsa.GenerateKey(p256(), rand.Reader)
	if _, err := NewKey("e", RS256, ec); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("EC key as RS256: %v", err)
	}
}

// TestVerifyACR: "acr" (RFC 9068 §2.2.1) comes back as Claims.ACR; a
// non-string acr is refused.
func TestVerifyACR(t *testing.T) {
	f := newFixture(t)
	c := claims()
	c["acr"] = "urn:example:mfa"
	got, err := f.v.Verify(bg, f.token(t, "ES256", c))
	if err != nil || got.ACR != "urn:example:mfa" || got.Extra["acr"] != nil {
		t.Fatalf("ACR %q extra %v err %v", got.ACR, got.Extra, err)
	}
	delete(c, "acr")
	if got, err = f.v.Verify(bg, f.token(t, "ES256", c)); err != nil || got.ACR != "" {
		t.Fatalf("absent acr: %q %v", got.ACR, err)
	}
	for _, bad := range []any{5, []string{"a"}, nil} {
		c["acr"] = bad
		_, err := f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrClaimType)
	}
}

// TestVerifyRefusesNullInStringArrays: encoding/json would decode null
// elements as "", so aud, roles and amr holding null are refused.
func TestVerifyRefusesNullInStringArrays(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"aud", "roles", "amr"} {
		c := claims()
		c[name] = []any{testAud, nil}
		_, err := f.v.Verify(bg, f.token(t, "ES256", c))
		wantErr(t, err, ErrClaimType)
	}
}
