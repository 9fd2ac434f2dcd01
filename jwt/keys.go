package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"sync"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Algorithm is a JWS signature algorithm (RFC 7518 §3.1). Exactly one
// algorithm is bound to each [Key]; a token naming any other algorithm is
// refused (RFC 8725 §3.1).
type Algorithm string

// Supported algorithms. There is deliberately no "none" (RFC 8725 §3.2).
const (
	ES256 Algorithm = "ES256" // ECDSA P-256 SHA-256, the default
	EdDSA Algorithm = "EdDSA" // Ed25519 (RFC 8037)
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 SHA-256, modulus ≥ 2048 bits
	PS256 Algorithm = "PS256" // RSASSA-PSS SHA-256, modulus ≥ 2048 bits
	HS256 Algorithm = "HS256" // HMAC SHA-256, secret ≥ 32 bytes; needs KeySetConfig.InsecureAllowHS256
)

// MinRSABits is the smallest accepted RSA modulus (RFC 7518 §3.3).
const MinRSABits = 2048

// MinHMACSecret is the smallest accepted HS256 secret in bytes (RFC 7518 §3.2).
const MinHMACSecret = 32

func (a Algorithm) jwa() (jwa.SignatureAlgorithm, error) {
	switch a {
	case ES256:
		return jwa.ES256(), nil
	case EdDSA:
		return jwa.EdDSA(), nil
	case RS256:
		return jwa.RS256(), nil
	case PS256:
		return jwa.PS256(), nil
	case HS256:
		return jwa.HS256(), nil
	}
	return jwa.SignatureAlgorithm{}, fmt.Errorf("%w: %q", ErrUnsupportedAlg, string(a))
}

// algBit maps the header's alg bytes to a bit; 0 means unknown.
func algBit(b []byte) (Algorithm, uint8) {
	switch string(b) {
	case "ES256":
		return ES256, 1
	case "EdDSA":
		return EdDSA, 2
	case "RS256":
		return RS256, 4
	case "PS256":
		return PS256, 8
	case "HS256":
		return HS256, 16
	}
	return "", 0
}

func algMask(algs []Algorithm) (uint8, error) {
	var m uint8
	for _, a := range algs {
		_, b := algBit([]byte(a))
		if b == 0 {
			return 0, fmt.Errorf("%w: %q", ErrUnsupportedAlg, string(a))
		}
		m |= b
	}
	return m, nil
}

// Key is one signing or verification key with its key id and its single
// algorithm. A Key is immutable. Keys with private material can sign; keys
// made by [NewPublicKey] only verify. Key never prints private material: its
// String method shows only kid and algorithm.
type Key struct {
	kid    string
	alg    Algorithm
	signer crypto.Signer // nil for public-only and HS256
	secret []byte        // HS256 only
	ecPub  *ecdsa.PublicKey
	edPub  ed25519.PublicKey
	rsaPub *rsa.PublicKey
	jwkSig jwk.Key    // private JWK (or the oct secret), kept for KeySource; nil if public-only
	jwkPub jwk.Key    // public JWK for the JWKS; nil for HS256
	macs   *sync.Pool // HS256: keyed HMAC states, reset before use

	// Raw private keys used by the signing fast path (one is set when the
	// key can sign; HS256 uses secret and macs). Signing never goes back
	// through the JWK, so no key is rebuilt per signature.
	ecPriv  *ecdsa.PrivateKey  // ES256
	edPriv  ed25519.PrivateKey // EdDSA (private copy)
	rsaPriv *rsa.PrivateKey    // RS256, PS256 (private copy, precomputed)
	// Base64url protected headers, computed once: {"alg","kid","typ":"at+jwt"}
	// and {"alg","kid"} (typ empty). Other typ values are encoded per call.
	hdrAT, hdrBare string
}

// ID returns the key id ("kid", RFC 7515 §4.1.4).
func (k *Key) ID() string { return k.kid }

// Algorithm returns the algorithm bound to the key.
func (k *Key) Algorithm() Algorithm { return k.alg }

// CanSign reports whether the key holds private material.
func (k *Key) CanSign() bool { return k.jwkSig != nil }

// Public returns the public key (nil for HS256).
func (k *Key) Public() crypto.PublicKey {
	switch {
	case k.ecPub != nil:
		return k.ecPub
	case k.edPub != nil:
		return k.edPub
	case k.rsaPub != nil:
		return k.rsaPub
	}
	return nil
}

// String implements fmt.Stringer without revealing key material.
func (k *Key) String() string { return "jwt.Key{kid=" + k.kid + " alg=" + string(k.alg) + "}" }

// GoString implements fmt.GoStringer without revealing key material.
func (k *Key) GoString() string { return k.String() }

// GenerateKey creates a new private key for alg (RSA keys are 2048 bits) with
// its kid set to the RFC 7638 thumbprint of the public key (a random id for
// HS256, so that no hash of the secret is published). random defaults to
// crypto/rand.Reader.
func GenerateKey(alg Algorithm, random io.Reader) (*Key, error) {
	if random == nil {
		random = rand.Reader
	}
	var priv any
	var err error
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), random)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(random)
	case RS256, PS256:
		priv, err = rsa.GenerateKey(random, MinRSABits)
	case HS256:
		b := make([]byte, 32)
		if _, err = io.ReadFull(random, b); err == nil {
			priv = b
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlg, string(alg))
	}
	if err != nil {
		return nil, fmt.Errorf("jwt: generate key: %w", err)
	}
	kid := ""
	if alg == HS256 {
		var b [16]byte
		if _, err := io.ReadFull(random, b[:]); err != nil {
			return nil, fmt.Errorf("jwt: generate key: %w", err)
		}
		kid = "hs-" + base64.RawURLEncoding.EncodeToString(b[:])
	}
	return NewKey(kid, alg, priv)
}

// NewKey wraps a private key: *ecdsa.PrivateKey (P-256) for ES256,
// ed25519.PrivateKey for EdDSA, *rsa.PrivateKey (≥2048 bits) for RS256 and
// PS256, or a []byte secret (≥32 bytes) for HS256. An empty kid is replaced by
// the RFC 7638 thumbprint of the public key (required for HS256).
func NewKey(kid string, alg Algorithm, private any) (*Key, error) {
	k := &Key{kid: kid, alg: alg}
	switch alg {
	case HS256:
		b, ok := private.([]byte)
		if !ok {
			return nil, fmt.Errorf("%w: HS256 needs a []byte secret", ErrKeyMismatch)
		}
		if len(b) < MinHMACSecret {
			return nil, fmt.Errorf("%w: HS256 secret has %d bytes, need %d", ErrWeakKey, len(b), MinHMACSecret)
		}
		if kid == "" {
			return nil, fmt.Errorf("jwt: HS256 key needs an explicit kid")
		}
		k.secret = bytes.Clone(b)
		secret := k.secret
		k.macs = &sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}
		jk, err := jwk.Import(k.secret)
		if err != nil {
			return nil, fmt.Errorf("jwt: import key: %w", err)
		}
		k.jwkSig = jk
		return k, finishJWK(k, jk, nil)
	case ES256, EdDSA, RS256, PS256:
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlg, string(alg))
	}
	var signer crypto.Signer
	switch p := private.(type) {
	case *ecdsa.PrivateKey:
		if p == nil {
			return nil, fmt.Errorf("%w: empty ECDSA key", ErrKeyMismatch)
		}
		// The pointer is kept (not copied): crypto/ecdsa caches its
		// internal key per *PrivateKey, so every signature after the first
		// skips re-deriving and re-checking the public point.
		k.ecPriv = p
		signer = p
	case ed25519.PrivateKey:
		if len(p) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("%w: bad Ed25519 key size", ErrKeyMismatch)
		}
		k.edPriv = bytes.Clone(p)
		signer = k.edPriv
	case *rsa.PrivateKey:
		if p == nil || p.N == nil {
			return nil, fmt.Errorf("%w: empty RSA key", ErrKeyMismatch)
		}
		// A shallow copy is precomputed (CRT values and the internal key)
		// so that the caller's key is never written to.
		cp := *p
		cp.Precompute()
		k.rsaPriv = &cp
		signer = k.rsaPriv
	default:
		return nil, fmt.Errorf("%w: %T for %s", ErrKeyMismatch, private, alg)
	}
	if err := k.setPublic(signer.Public()); err != nil {
		return nil, err
	}
	k.signer = signer
	jk, err := jwk.Import(signer)
	if err != nil {
		return nil, fmt.Errorf("jwt: import key: %w", err)
	}
	k.jwkSig = jk
	pub, err := jwk.Import(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("jwt: import key: %w", err)
	}
	return k, finishJWK(k, jk, pub)
}

// NewPublicKey wraps a verification-only public key: *ecdsa.PublicKey,
// ed25519.PublicKey or *rsa.PublicKey, bound to alg. An empty kid is replaced
// by the RFC 7638 thumbprint.
func NewPublicKey(kid string, alg Algorithm, public crypto.PublicKey) (*Key, error) {
	if alg == HS256 {
		return nil, fmt.Errorf("%w: HS256 has no public key; use NewKey", ErrKeyMismatch)
	}
	if _, err := alg.jwa(); err != nil {
		return nil, err
	}
	k := &Key{kid: kid, alg: alg}
	if err := k.setPublic(public); err != nil {
		return nil, err
	}
	pub, err := jwk.Import(public)
	if err != nil {
		return nil, fmt.Errorf("jwt: import key: %w", err)
	}
	return k, finishJWK(k, nil, pub)
}

func (k *Key) setPublic(pub crypto.PublicKey) error {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if k.alg != ES256 || p.Curve != elliptic.P256() {
			return fmt.Errorf("%w: ECDSA key for %s", ErrKeyMismatch, k.alg)
		}
		k.ecPub = p
	case ed25519.PublicKey:
		if k.alg != EdDSA || len(p) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: Ed25519 key for %s", ErrKeyMismatch, k.alg)
		}
		k.edPub = p
	case *rsa.PublicKey:
		if k.alg != RS256 && k.alg != PS256 {
			return fmt.Errorf("%w: RSA key for %s", ErrKeyMismatch, k.alg)
		}
		if p.N.BitLen() < MinRSABits {
			return fmt.Errorf("%w: RSA modulus has %d bits, need %d", ErrWeakKey, p.N.BitLen(), MinRSABits)
		}
		k.rsaPub = p
	default:
		return fmt.Errorf("%w: %T for %s", ErrKeyMismatch, pub, k.alg)
	}
	return nil
}

func finishJWK(k *Key, sig, pub jwk.Key) error {
	alg, err := k.alg.jwa()
	if err != nil {
		return err
	}
	if k.kid == "" {
		tp, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			return fmt.Errorf("jwt: thumbprint: %w", err)
		}
		k.kid = base64.RawURLEncoding.EncodeToString(tp)
	}
	for _, jk := range []jwk.Key{sig, pub} {
		if jk == nil {
			continue
		}
		if err := jk.Set(jwk.KeyIDKey, k.kid); err != nil {
			return fmt.Errorf("jwt: set kid: %w", err)
		}
		if err := jk.Set(jwk.AlgorithmKey, alg); err != nil {
			return fmt.Errorf("jwt: set alg: %w", err)
		}
		if err := jk.Set(jwk.KeyUsageKey, "sig"); err != nil {
			return fmt.Errorf("jwt: set use: %w", err)
		}
	}
	k.jwkPub = pub
	if sig != nil {
		if k.hdrAT, err = encodeHeader(k.alg, k.kid, AccessTokenType); err != nil {
			return err
		}
		if k.hdrBare, err = encodeHeader(k.alg, k.kid, ""); err != nil {
			return err
		}
	}
	return nil
}

// encodeHeader returns the base64url JWS protected header with exactly the
// members alg, kid and (when typ is not empty) typ, in that order.
func encodeHeader(alg Algorithm, kid, typ string) (string, error) {
	h := struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ,omitempty"`
	}{string(alg), kid, typ}
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("jwt: encode header: %w", err)
	}
	return b64.EncodeToString(b), nil
}

// ParseKeyPEM reads a PEM private key (PKCS#8, SEC 1 "EC PRIVATE KEY" or
// PKCS#1 "RSA PRIVATE KEY") or a PEM public key ("PUBLIC KEY", PKIX) and
// binds it to alg. kid may be empty (thumbprint). HS256 keys are not PEM.
func ParseKeyPEM(kid string, alg Algorithm, data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("jwt: no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jwt: parse public key: %w", err)
		}
		return NewPublicKey(kid, alg, pub)
	case "PRIVATE KEY":
		p, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jwt: parse private key: %w", err)
		}
		return NewKey(kid, alg, p)
	case "EC PRIVATE KEY":
		p, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jwt: parse private key: %w", err)
		}
		return NewKey(kid, alg, p)
	case "RSA PRIVATE KEY":
		p, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jwt: parse private key: %w", err)
		}
		return NewKey(kid, alg, p)
	}
	return nil, fmt.Errorf("jwt: unsupported PEM block %q", block.Type)
}

// MarshalPEM returns the key's public half as PKIX PEM (never private material).
func (k *Key) MarshalPEM() ([]byte, error) {
	pub := k.Public()
	if pub == nil {
		return nil, fmt.Errorf("%w: HS256 has no public key", ErrKeyMismatch)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("jwt: marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParseJWK reads one JWK (RFC 7517), private or public. The algorithm comes
// from its "alg" member; without one it is inferred only where unambiguous
// (EC P-256 → ES256, OKP Ed25519 → EdDSA, oct → HS256); RSA keys must name
// RS256 or PS256. The kid comes from "kid" or is the RFC 7638 thumbprint.
func ParseJWK(data []byte) (*Key, error) {
	jk, err := jwk.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("jwt: parse JWK: %w", err)
	}
	kid, _ := jk.KeyID()
	var alg Algorithm
	if a, ok := jk.Algorithm(); ok {
		alg = Algorithm(a.String())
	}
	var raw any
	if err := jwk.Export(jk, &raw); err != nil {
		return nil, fmt.Errorf("jwt: export JWK: %w", err)
	}
	if alg == "" {
		switch p := raw.(type) {
		case *ecdsa.PrivateKey, *ecdsa.PublicKey:
			alg = ES256
		case ed25519.PrivateKey, ed25519.PublicKey:
			alg = EdDSA
		case []byte:
			alg = HS256
		default:
			return nil, fmt.Errorf("%w: JWK without alg (%T)", ErrUnsupportedAlg, p)
		}
	}
	switch p := raw.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey, []byte:
		return NewKey(kid, alg, p)
	case *ecdsa.PublicKey, ed25519.PublicKey, *rsa.PublicKey:
		return NewPublicKey(kid, alg, p)
	}
	return nil, fmt.Errorf("%w: JWK type %T", ErrUnsupportedAlg, raw)
}

// MarshalPublicJWK returns the public JWK (kid, alg, use=sig). HS256 keys have
// none.
func (k *Key) MarshalPublicJWK() ([]byte, error) {
	if k.jwkPub == nil {
		return nil, fmt.Errorf("%w: HS256 has no public key", ErrKeyMismatch)
	}
	return json.Marshal(k.jwkPub)
}

// marshalPrivateJWK serializes private material for a KeySource only.
func (k *Key) marshalPrivateJWK() ([]byte, error) {
	if k.jwkSig == nil {
		return json.Marshal(k.jwkPub)
	}
	return json.Marshal(k.jwkSig)
}

// sign returns the compact JWS for payload with the protected header
// {"alg","kid","typ"} (no typ member when typ is empty).
func (k *Key) sign(payload []byte, typ string) (string, error) {
	if k.jwkSig == nil {
		return "", ErrNoSigningKey
	}
	var hdr string
	switch typ {
	case AccessTokenType:
		hdr = k.hdrAT
	case "":
		hdr = k.hdrBare
	default:
		var err error
		if hdr, err = encodeHeader(k.alg, k.kid, typ); err != nil {
			return "", err
		}
	}
	return signWith(k, hdr, payload)
}

// sigSize is the length of the key's JWS signature in bytes.
func (k *Key) sigSize() int {
	switch k.alg {
	case ES256, EdDSA:
		return 64 // R‖S, 32 bytes each (RFC 7518 §3.4); Ed25519 (RFC 8032)
	case RS256, PS256:
		if k.rsaPriv != nil {
			return k.rsaPriv.Size()
		}
	case HS256:
		return sha256.Size
	}
	return 0
}

// rawSign appends to dst the JWS signature over input (the ASCII signing
// input "b64(header).b64(payload)") with the key's own algorithm, straight
// from the crypto primitives.
func (k *Key) rawSign(dst, input []byte) ([]byte, error) {
	switch k.alg {
	case ES256:
		if k.ecPriv == nil {
			break
		}
		// The JWS form is r‖s as 32-byte big-endian integers (RFC 7518
		// §3.4); crypto/ecdsa's r, s API gives them without any DER.
		h := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, k.ecPriv, h[:])
		if err != nil {
			return nil, err
		}
		var out [64]byte
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return append(dst, out[:]...), nil
	case EdDSA:
		if k.edPriv == nil {
			break
		}
		return append(dst, ed25519.Sign(k.edPriv, input)...), nil
	case RS256:
		if k.rsaPriv == nil {
			break
		}
		h := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(nil, k.rsaPriv, crypto.SHA256, h[:])
		if err != nil {
			return nil, err
		}
		return append(dst, sig...), nil
	case PS256:
		if k.rsaPriv == nil {
			break
		}
		h := sha256.Sum256(input)
		sig, err := rsa.SignPSS(rand.Reader, k.rsaPriv, crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			return nil, err
		}
		return append(dst, sig...), nil
	case HS256:
		if len(k.secret) < MinHMACSecret {
			break
		}
		m := k.macs.Get().(hash.Hash)
		m.Reset()
		m.Write(input)
		dst = m.Sum(dst)
		k.macs.Put(m)
		return dst, nil
	}
	return nil, ErrNoSigningKey
}

// verify checks sig over input with the key's own algorithm only.
func (k *Key) verify(input, sig []byte) bool {
	switch k.alg {
	case ES256:
		// crypto/ecdsa refuses r or s outside [1, n-1] (the r = s = 0
		// forgery of CVE-2022-21449 included).
		if k.ecPub == nil || len(sig) != 64 {
			return false
		}
		h := sha256.Sum256(input)
		return ecdsa.Verify(k.ecPub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case EdDSA:
		return k.edPub != nil && len(sig) == ed25519.SignatureSize && ed25519.Verify(k.edPub, input, sig)
	case RS256:
		if k.rsaPub == nil {
			return false
		}
		h := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(k.rsaPub, crypto.SHA256, h[:], sig) == nil
	case PS256:
		if k.rsaPub == nil {
			return false
		}
		h := sha256.Sum256(input)
		return rsa.VerifyPSS(k.rsaPub, crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case HS256:
		if len(k.secret) < MinHMACSecret || len(sig) != sha256.Size {
			return false
		}
		m := k.macs.Get().(hash.Hash)
		m.Reset()
		m.Write(input)
		var sum [sha256.Size]byte
		ok := hmac.Equal(m.Sum(sum[:0]), sig)
		k.macs.Put(m)
		return ok
	}
	return false
}

func p256() elliptic.Curve { return elliptic.P256() }
