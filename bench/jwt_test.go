package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	akjwt "github.com/authkit-go/authkit/jwt"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	xjwt "github.com/lestrrat-go/jwx/v3/jwt"
)

// JWT verify and issue: authkit beside the raw primitive on the same signing
// input, golang-jwt/v5, jwx/v3 jwt.ParseString and jwx/v3 jws.Verify
// (signature only), all on the same token, in one run (docs/PERF.md). Every full
// verifier checks signature, exp, iss and aud.
//
// Names: BenchmarkJWTVerify/alg=ES256/impl=raw|authkit|golang-jwt|jwx-jwt|jwx-jws
// and BenchmarkJWTIssue/alg=ES256/impl=raw|authkit|golang-jwt|jwx-jwt.
//
//	go test -run '^$' -bench JWT -count 10 -benchtime 300ms

type jwtCase struct {
	alg    akjwt.Algorithm
	priv   any
	pub    any
	tok    string
	ks     *akjwt.KeySet
	iss    *akjwt.Issuer
	v      *akjwt.Verifier
	gm     gjwt.SigningMethod
	xalg   jwa.SignatureAlgorithm
	input  []byte
	sig    []byte
	secret []byte
}

const (
	bIss = "https://auth.example.com"
	bAud = "api"
)

func jwtCases(b *testing.B) []*jwtCase {
	b.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cs := []*jwtCase{
		{alg: akjwt.ES256, priv: ec, pub: &ec.PublicKey, gm: gjwt.SigningMethodES256, xalg: jwa.ES256()},
		{alg: akjwt.EdDSA, priv: edPriv, pub: edPub, gm: gjwt.SigningMethodEdDSA, xalg: jwa.EdDSA()},
		{alg: akjwt.RS256, priv: rs, pub: &rs.PublicKey, gm: gjwt.SigningMethodRS256, xalg: jwa.RS256()},
		{alg: akjwt.HS256, priv: secret, pub: secret, gm: gjwt.SigningMethodHS256, xalg: jwa.HS256(), secret: secret},
	}
	for _, c := range cs {
		k, err := akjwt.NewKey("k1", c.alg, c.priv)
		if err != nil {
			b.Fatal(err)
		}
		c.ks, _ = akjwt.NewKeySet(akjwt.KeySetConfig{Keys: []*akjwt.Key{k}, InsecureAllowHS256: c.alg == akjwt.HS256})
		c.iss, _ = akjwt.NewIssuer(akjwt.IssuerConfig{Keys: c.ks, Issuer: bIss, Audience: []string{bAud}})
		c.v, _ = akjwt.NewVerifier(akjwt.VerifierConfig{Keys: c.ks, Issuer: bIss, Audience: []string{bAud}})
		c.tok, _, err = c.iss.Issue(context.Background(), akjwt.AccessTokenRequest{Subject: "user-1", Roles: []string{"viewer"}})
		if err != nil {
			b.Fatal(err)
		}
		i := strings.LastIndexByte(c.tok, '.')
		c.input = []byte(c.tok[:i])
		c.sig, _ = base64.RawURLEncoding.DecodeString(c.tok[i+1:])
	}
	return cs
}

func rawVerify(c *jwtCase) bool {
	switch c.alg {
	case akjwt.ES256:
		h := sha256.Sum256(c.input)
		r, s := new(big.Int).SetBytes(c.sig[:32]), new(big.Int).SetBytes(c.sig[32:])
		return ecdsa.Verify(c.pub.(*ecdsa.PublicKey), h[:], r, s)
	case akjwt.EdDSA:
		return ed25519.Verify(c.pub.(ed25519.PublicKey), c.input, c.sig)
	case akjwt.RS256:
		h := sha256.Sum256(c.input)
		return rsa.VerifyPKCS1v15(c.pub.(*rsa.PublicKey), crypto.SHA256, h[:], c.sig) == nil
	case akjwt.HS256:
		m := hmac.New(sha256.New, c.secret)
		m.Write(c.input)
		return hmac.Equal(m.Sum(nil), c.sig)
	}
	return false
}

type gClaims struct {
	gjwt.RegisteredClaims
	Roles []string `json:"roles"`
}

func BenchmarkJWTVerify(b *testing.B) {
	ctx := context.Background()
	for _, c := range jwtCases(b) {
		gp := gjwt.NewParser(gjwt.WithValidMethods([]string{c.gm.Alg()}), gjwt.WithIssuer(bIss), gjwt.WithAudience(bAud),
			gjwt.WithExpirationRequired(), gjwt.WithIssuedAt())
		keyFunc := func(*gjwt.Token) (any, error) { return c.pub, nil }
		b.Run("alg="+string(c.alg)+"/impl=raw", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !rawVerify(c) {
					b.Fatal("raw")
				}
			}
		})
		b.Run("alg="+string(c.alg)+"/impl=authkit", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.v.Verify(ctx, c.tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+string(c.alg)+"/impl=golang-jwt", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var cl gClaims
				if _, err := gp.ParseWithClaims(c.tok, &cl, keyFunc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+string(c.alg)+"/impl=jwx-jwt", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := xjwt.ParseString(c.tok, xjwt.WithKey(c.xalg, c.pub), xjwt.WithIssuer(bIss), xjwt.WithAudience(bAud), xjwt.WithValidate(true)); err != nil {
					b.Fatal(err)
				}
			}
		})
		tok := []byte(c.tok)
		b.Run("alg="+string(c.alg)+"/impl=jwx-jws", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jws.Verify(tok, jws.WithKey(c.xalg, c.pub)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// rawSign signs the signing input with the bare primitive (hash included),
// the floor for any issuer.
func rawSign(c *jwtCase) ([]byte, error) {
	switch c.alg {
	case akjwt.ES256:
		h := sha256.Sum256(c.input)
		return ecdsa.SignASN1(rand.Reader, c.priv.(*ecdsa.PrivateKey), h[:])
	case akjwt.EdDSA:
		return ed25519.Sign(c.priv.(ed25519.PrivateKey), c.input), nil
	case akjwt.RS256:
		h := sha256.Sum256(c.input)
		return rsa.SignPKCS1v15(nil, c.priv.(*rsa.PrivateKey), crypto.SHA256, h[:])
	default:
		m := hmac.New(sha256.New, c.secret)
		m.Write(c.input)
		return m.Sum(nil), nil
	}
}

func BenchmarkJWTIssue(b *testing.B) {
	ctx := context.Background()
	for _, c := range jwtCases(b) {
		b.Run("alg="+string(c.alg)+"/impl=raw", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rawSign(c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+string(c.alg)+"/impl=authkit", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.iss.Issue(ctx, akjwt.AccessTokenRequest{Subject: "user-1", Roles: []string{"viewer"}}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+string(c.alg)+"/impl=golang-jwt", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				now := time.Now()
				t := gjwt.NewWithClaims(c.gm, gClaims{RegisteredClaims: gjwt.RegisteredClaims{Issuer: bIss, Subject: "user-1",
					Audience: gjwt.ClaimStrings{bAud}, ExpiresAt: gjwt.NewNumericDate(now.Add(15 * time.Minute)),
					IssuedAt: gjwt.NewNumericDate(now), ID: "x"}, Roles: []string{"viewer"}})
				if _, err := t.SignedString(c.priv); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+string(c.alg)+"/impl=jwx-jwt", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				now := time.Now()
				t, err := xjwt.NewBuilder().Issuer(bIss).Subject("user-1").Audience([]string{bAud}).
					Expiration(now.Add(15*time.Minute)).IssuedAt(now).JwtID("x").Claim("roles", []string{"viewer"}).Build()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := xjwt.Sign(t, xjwt.WithKey(c.xalg, c.priv)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJWTVerifyPaired alternates short batches of the raw primitive,
// authkit and golang-jwt on the same token and reports the ratio of the
// fastest batch of each (min-of-batches is robust to load from other
// processes on a shared machine). Metrics: authkit/raw and authkit/golang-jwt.
func BenchmarkJWTVerifyPaired(b *testing.B) {
	ctx := context.Background()
	for _, c := range jwtCases(b) {
		gp := gjwt.NewParser(gjwt.WithValidMethods([]string{c.gm.Alg()}), gjwt.WithIssuer(bIss), gjwt.WithAudience(bAud),
			gjwt.WithExpirationRequired(), gjwt.WithIssuedAt())
		keyFunc := func(*gjwt.Token) (any, error) { return c.pub, nil }
		batch := 20
		if c.alg == akjwt.HS256 {
			batch = 500
		}
		b.Run("alg="+string(c.alg), func(b *testing.B) {
			minRaw, minAK, minG := time.Duration(1<<62), time.Duration(1<<62), time.Duration(1<<62)
			for b.Loop() {
				t0 := time.Now()
				for i := 0; i < batch; i++ {
					rawVerify(c)
				}
				t1 := time.Now()
				for i := 0; i < batch; i++ {
					if _, err := c.v.Verify(ctx, c.tok); err != nil {
						b.Fatal(err)
					}
				}
				t2 := time.Now()
				for i := 0; i < batch; i++ {
					var cl gClaims
					if _, err := gp.ParseWithClaims(c.tok, &cl, keyFunc); err != nil {
						b.Fatal(err)
					}
				}
				t3 := time.Now()
				minRaw, minAK, minG = min(minRaw, t1.Sub(t0)), min(minAK, t2.Sub(t1)), min(minG, t3.Sub(t2))
			}
			b.ReportMetric(float64(minRaw.Nanoseconds())/float64(batch), "raw-ns/op")
			b.ReportMetric(float64(minAK.Nanoseconds())/float64(batch), "authkit-ns/op")
			b.ReportMetric(float64(minAK)/float64(minRaw), "authkit/raw")
			b.ReportMetric(float64(minAK)/float64(minG), "authkit/golang-jwt")
		})
	}
}

// BenchmarkJWTIssuePaired is the issuing counterpart of
// BenchmarkJWTVerifyPaired: alternating short batches of the raw primitive,
// authkit's Issuer.Issue and golang-jwt's SignedString, ratio of the fastest
// batch of each. authkit also draws a 128-bit random jti per token, which
// the golang-jwt side (fixed "x") does not.
func BenchmarkJWTIssuePaired(b *testing.B) {
	ctx := context.Background()
	for _, c := range jwtCases(b) {
		batch := map[akjwt.Algorithm]int{akjwt.ES256: 20, akjwt.EdDSA: 20, akjwt.RS256: 2, akjwt.HS256: 200}[c.alg]
		req := akjwt.AccessTokenRequest{Subject: "user-1", Roles: []string{"viewer"}}
		gsign := func() error {
			now := time.Now()
			t := gjwt.NewWithClaims(c.gm, gClaims{RegisteredClaims: gjwt.RegisteredClaims{Issuer: bIss, Subject: "user-1",
				Audience: gjwt.ClaimStrings{bAud}, ExpiresAt: gjwt.NewNumericDate(now.Add(15 * time.Minute)),
				IssuedAt: gjwt.NewNumericDate(now), ID: "x"}, Roles: []string{"viewer"}})
			_, err := t.SignedString(c.priv)
			return err
		}
		b.Run("alg="+string(c.alg), func(b *testing.B) {
			minRaw, minAK, minG := time.Duration(1<<62), time.Duration(1<<62), time.Duration(1<<62)
			for b.Loop() {
				t0 := time.Now()
				for i := 0; i < batch; i++ {
					if _, err := rawSign(c); err != nil {
						b.Fatal(err)
					}
				}
				t1 := time.Now()
				for i := 0; i < batch; i++ {
					if _, _, err := c.iss.Issue(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
				t2 := time.Now()
				for i := 0; i < batch; i++ {
					if err := gsign(); err != nil {
						b.Fatal(err)
					}
				}
				t3 := time.Now()
				minRaw, minAK, minG = min(minRaw, t1.Sub(t0)), min(minAK, t2.Sub(t1)), min(minG, t3.Sub(t2))
			}
			b.ReportMetric(float64(minAK.Nanoseconds())/float64(batch), "authkit-ns/op")
			b.ReportMetric(float64(minG.Nanoseconds())/float64(batch), "golang-jwt-ns/op")
			b.ReportMetric(float64(minAK)/float64(minRaw), "authkit/raw")
			b.ReportMetric(float64(minAK)/float64(minG), "authkit/golang-jwt")
		})
	}
}
