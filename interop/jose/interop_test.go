package jose

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	akjwt "github.com/authkit-go/authkit/jwt"
	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	gjwt "github.com/golang-jwt/jwt/v5"
)

const (
	iss = "https://auth.example.com"
	aud = "api"
)

type keyCase struct {
	alg  akjwt.Algorithm
	priv crypto.Signer
	gm   gjwt.SigningMethod
	ja   jose.SignatureAlgorithm
}

func keyCases(t *testing.T) []keyCase {
	t.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return []keyCase{
		{akjwt.ES256, ec, gjwt.SigningMethodES256, jose.ES256},
		{akjwt.EdDSA, ed, gjwt.SigningMethodEdDSA, jose.EdDSA},
		{akjwt.RS256, rs, gjwt.SigningMethodRS256, jose.RS256},
		{akjwt.PS256, rs, gjwt.SigningMethodPS256, jose.PS256},
	}
}

// pemOf writes the private key as PKCS#8 PEM, the way a host would hand a
// key to both authkit and another library.
func pemOf(t *testing.T, k crypto.Signer) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// fetchJWKS gets our JWKS over HTTP and parses it with go-jose.
func fetchJWKS(t *testing.T, ks *akjwt.KeySet) jose.JSONWebKeySet {
	srv := httptest.NewServer(ks.JWKSHandler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("go-jose cannot parse our JWKS: %v\n%s", err, body)
	}
	return set
}

type ourClaims struct {
	gjwt.RegisteredClaims
	Roles []string `json:"roles"`
}

func goJoseVerify(tok string, set jose.JSONWebKeySet, alg jose.SignatureAlgorithm) (josejwt.Claims, error) {
	parsed, err := josejwt.ParseSigned(tok, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return josejwt.Claims{}, err
	}
	if len(parsed.Headers) != 1 {
		return josejwt.Claims{}, errors.New("headers")
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		return josejwt.Claims{}, errors.New("kid not in JWKS")
	}
	var c josejwt.Claims
	if err := parsed.Claims(keys[0].Key, &c); err != nil {
		return c, err
	}
	return c, c.ValidateWithLeeway(josejwt.Expected{Issuer: iss, AnyAudience: josejwt.Audience{aud}, Time: time.Now()}, 0)
}

func golangJWTVerify(tok string, set jose.JSONWebKeySet, alg string) (*ourClaims, error) {
	var c ourClaims
	_, err := gjwt.ParseWithClaims(tok, &c, func(t *gjwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		keys := set.Key(kid)
		if len(keys) != 1 {
			return nil, errors.New("kid not in JWKS")
		}
		return keys[0].Key, nil
	}, gjwt.WithValidMethods([]string{alg}), gjwt.WithIssuer(iss), gjwt.WithAudience(aud), gjwt.WithExpirationRequired())
	return &c, err
}

// Ours → theirs: tokens authkit issues verify with golang-jwt and go-jose
// given only authkit's JWKS.
func TestOursVerifyWithTheirs(t *testing.T) {
	for _, kc := range keyCases(t) {
		t.Run(string(kc.alg), func(t *testing.T) {
			k, err := akjwt.ParseKeyPEM("", kc.alg, pemOf(t, kc.priv))
			if err != nil {
				t.Fatal(err)
			}
			ks, _ := akjwt.NewKeySet(akjwt.KeySetConfig{Keys: []*akjwt.Key{k}})
			is, _ := akjwt.NewIssuer(akjwt.IssuerConfig{Keys: ks, Issuer: iss, Audience: []string{aud}})
			tok, _, err := is.Issue(context.Background(), akjwt.AccessTokenRequest{Subject: "user-1", Roles: []string{"admin"}})
			if err != nil {
				t.Fatal(err)
			}
			set := fetchJWKS(t, ks)
			gc, err := golangJWTVerify(tok, set, string(kc.alg))
			if err != nil || gc.Subject != "user-1" || len(gc.Roles) != 1 {
				t.Fatalf("golang-jwt: %v %+v", err, gc)
			}
			jc, err := goJoseVerify(tok, set, kc.ja)
			if err != nil || jc.Subject != "user-1" {
				t.Fatalf("go-jose: %v %+v", err, jc)
			}
			// go-jose sees typ at+jwt
			parsed, _ := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{kc.ja})
			if typ := parsed.Signatures[0].Protected.ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
				t.Fatalf("typ %v", typ)
			}
		})
	}
}

func claimsMap(now time.Time) map[string]any {
	return map[string]any{"iss": iss, "sub": "user-1", "aud": []string{aud}, "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "nbf": now.Unix(), "jti": "j-1", "roles": []string{"viewer"}}
}

// Theirs → ours: golang-jwt and go-jose sign with a private key authkit's
// KeySet also loads (PEM); authkit verifies.
func TestTheirsVerifyWithOurs(t *testing.T) {
	for _, kc := range keyCases(t) {
		t.Run(string(kc.alg), func(t *testing.T) {
			k, err := akjwt.ParseKeyPEM("shared", kc.alg, pemOf(t, kc.priv))
			if err != nil {
				t.Fatal(err)
			}
			ks, _ := akjwt.NewKeySet(akjwt.KeySetConfig{Keys: []*akjwt.Key{k}})
			v, _ := akjwt.NewVerifier(akjwt.VerifierConfig{Keys: ks, Issuer: iss, Audience: []string{aud}})
			now := time.Now()

			gt := gjwt.NewWithClaims(kc.gm, gjwt.MapClaims(claimsMap(now)))
			gt.Header["kid"] = "shared"
			gt.Header["typ"] = "at+jwt"
			gtok, err := gt.SignedString(kc.priv)
			if err != nil {
				t.Fatal(err)
			}
			if c, err := v.Verify(context.Background(), gtok); err != nil || c.Subject != "user-1" || c.Roles[0] != "viewer" {
				t.Fatalf("golang-jwt token: %v %+v", err, c)
			}

			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: kc.ja, Key: kc.priv},
				(&jose.SignerOptions{}).WithType("at+jwt").WithHeader(jose.HeaderKey("kid"), "shared"))
			if err != nil {
				t.Fatal(err)
			}
			jtok, err := josejwt.Signed(signer).Claims(claimsMap(now)).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			if c, err := v.Verify(context.Background(), jtok); err != nil || c.Subject != "user-1" {
				t.Fatalf("go-jose token: %v %+v", err, c)
			}
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// The same forgeries fail in all three libraries.
func TestForgeriesFailEverywhere(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k, _ := akjwt.ParseKeyPEM("k1", akjwt.ES256, pemOf(t, ec))
	ks, _ := akjwt.NewKeySet(akjwt.KeySetConfig{Keys: []*akjwt.Key{k}})
	is, _ := akjwt.NewIssuer(akjwt.IssuerConfig{Keys: ks, Issuer: iss, Audience: []string{aud}})
	v, _ := akjwt.NewVerifier(akjwt.VerifierConfig{Keys: ks, Issuer: iss, Audience: []string{aud}})
	good, _, _ := is.Issue(context.Background(), akjwt.AccessTokenRequest{Subject: "user-1"})
	p := strings.Split(good, ".")
	set := fetchJWKS(t, ks)
	pubPEM, _ := k.MarshalPEM()

	payload, _ := base64.RawURLEncoding.DecodeString(p[1])
	forgedPayload := b64(strings.Replace(string(payload), `"sub":"user-1"`, `"sub":"admin"`, 1))
	hsConfusion := func() string {
		h := b64(`{"alg":"HS256","kid":"k1","typ":"at+jwt"}`)
		s, _ := gjwt.SigningMethodHS256.Sign(h+"."+p[1], pubPEM)
		return h + "." + p[1] + "." + base64.RawURLEncoding.EncodeToString(s)
	}()
	forgeries := map[string]string{
		"J1_alg_none":        b64(`{"alg":"none","kid":"k1","typ":"at+jwt"}`) + "." + p[1] + ".",
		"J2_hs256_confusion": hsConfusion,
		"J4_forged_payload":  p[0] + "." + forgedPayload + "." + p[2],
		"J5_zero_signature":  p[0] + "." + p[1] + "." + strings.Repeat("A", 86),
		"J3_two_segments":    p[0] + "." + p[1],
		"J6_embedded_jwk": func() string {
			att, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: att}, (&jose.SignerOptions{EmbedJWK: true}).WithType("at+jwt"))
			tok, _ := josejwt.Signed(signer).Claims(claimsMap(time.Now())).Serialize()
			return tok
		}(),
	}
	for name, tok := range forgeries {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Verify(context.Background(), tok); !errors.Is(err, akjwt.ErrInvalidToken) {
				t.Errorf("authkit accepted: %v", err)
			}
			if _, err := golangJWTVerify(tok, set, "ES256"); err == nil {
				t.Errorf("golang-jwt accepted")
			}
			if _, err := goJoseVerify(tok, set, jose.ES256); err == nil {
				t.Errorf("go-jose accepted")
			}
		})
	}
	// sanity: the unmodified token verifies in all three
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	if _, err := golangJWTVerify(good, set, "ES256"); err != nil {
		t.Fatal(err)
	}
	if _, err := goJoseVerify(good, set, jose.ES256); err != nil {
		t.Fatal(err)
	}
}
