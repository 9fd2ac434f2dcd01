package jwt

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// KeyProvider resolves verification keys by kid. It is implemented by
// [*KeySet] (local keys) and [*RemoteKeySet] (a cached JWKS URL). The lookup
// is a map lookup only: header parameters such as jku, x5u, jwk and x5c are
// never used to find or fetch keys (RFC 8725 §3.10).
type KeyProvider interface {
	lookupKey(ctx context.Context, kid []byte, hasKID bool) (*Key, error)
	defaultAlgs() []Algorithm
}

// DefaultMaxTokenSize caps an access token before any parsing.
const DefaultMaxTokenSize = 8 << 10

// MaxJWSSize caps tokens given to [VerifySignature] (ID tokens can be larger
// than access tokens).
const MaxJWSSize = 16 << 10

// MaxLeeway is the largest accepted clock-skew allowance.
const MaxLeeway = 60 * time.Second

// AccessTokenType is the JOSE "typ" of access tokens (RFC 9068 §2.1).
const AccessTokenType = "at+jwt"

var b64 = base64.RawURLEncoding.Strict()

// forbiddenHeader lists header parameters whose presence rejects a token:
// crit (RFC 7515 §4.1.11), key-carrying or key-fetching parameters
// (jku, jwk, x5u, x5c), unencoded payloads (b64, RFC 7797), nested or
// encrypted content (cty, enc, zip).
func forbiddenHeader(k []byte) bool {
	switch string(k) {
	case "crit", "jku", "jwk", "x5u", "x5c", "b64", "cty", "enc", "zip":
		return true
	}
	return false
}

type jwsParts struct {
	payload []byte
	typ     []byte
	hasTyp  bool
	kid     string
	alg     Algorithm
}

// verifyCompact runs the signature part of verification on a compact JWS.
// Order: size cap, exactly two dots and base64url alphabet, strict base64,
// header (UTF-8, no duplicates, forbidden members), alg allow-list, kid map
// lookup, alg bound to the key, signature. Claims are not looked at.
func verifyCompact(ctx context.Context, token []byte, maxSize int, mask uint8, keys KeyProvider) (jwsParts, error) {
	var p jwsParts
	if len(token) > maxSize {
		return p, errTooLarge
	}
	d1, d2 := -1, -1
	for i, c := range token {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			if d1 < 0 {
				d1 = i
			} else if d2 < 0 {
				d2 = i
			} else {
				return p, errMalformed // More than 3 segments; JWE
			}
		default:
			return p, errMalformed // JSON serialization, padding, whitespace
		}
	}
	if d2 < 0 || d1 == 0 || d2 == d1+1 || d2 == len(token)-1 {
		return p, errMalformed // H.p. / h.p / empty segments
	}
	hs, ps, ss := token[:d1], token[d1+1:d2], token[d2+1:]
	nh, np, ns := b64.DecodedLen(len(hs)), b64.DecodedLen(len(ps)), b64.DecodedLen(len(ss))
	buf := make([]byte, nh+np+ns)
	n, err := b64.Decode(buf[:nh], hs)
	if err != nil {
		return p, errMalformed
	}
	hdr := buf[:n]
	n, err = b64.Decode(buf[nh:nh+np], ps)
	if err != nil {
		return p, errMalformed
	}
	payload := buf[nh : nh+n]
	n, err = b64.Decode(buf[nh+np:], ss)
	if err != nil {
		return p, errMalformed // Non-canonical trailing bits
	}
	sig := buf[nh+np : nh+np+n]

	var algB, kidB []byte
	var hasAlg, hasKID bool
	err = scanObject(hdr, func(k, v []byte) error {
		if forbiddenHeader(k) {
			return errForbiddenHeader
		}
		var err error
		switch string(k) {
		case "alg":
			algB, err = jsonStringBytes(v)
			hasAlg = true
		case "kid":
			kidB, err = jsonStringBytes(v)
			hasKID = true
		case "typ":
			p.typ, err = jsonStringBytes(v)
			p.hasTyp = true
		}
		if err != nil {
			return errMalformed
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	if !hasAlg {
		return p, errAlgorithm
	}
	alg, bit := algBit(algB)
	if bit == 0 || mask&bit == 0 {
		return p, errAlgorithm // None/nOnE, algorithms outside the allow-list
	}
	key, err := keys.lookupKey(ctx, kidB, hasKID)
	if err != nil {
		return p, err
	}
	if key.alg != alg {
		return p, errAlgorithm // Alg confusion; one algorithm per key
	}
	if !key.verify(token[:d2], sig) {
		return p, errSignature
	}
	p.payload, p.kid, p.alg = payload, key.kid, alg
	return p, nil
}

// Verified is the result of [VerifySignature].
type Verified struct {
	Payload   []byte    // the verified JWS payload (claims are NOT checked)
	Type      string    // the header "typ", empty if absent
	HasType   bool      // whether "typ" was present
	KeyID     string    // kid of the key that verified the signature
	Algorithm Algorithm // the algorithm used
}

// VerifySignature verifies only the signature of a compact JWS against keys,
// with an explicit algorithm allow-list, and returns the payload, which has
// been checked to be one UTF-8 JSON object without duplicate members; no claim
// (exp, iss, aud, …) has been checked.
// Every structural and header rule of access-token verification applies
// (compact only, MaxJWSSize, strict base64url, no crit/jku/jwk/x5u/x5c/b64/
// cty/enc/zip, no duplicate header members, alg bound to the key found by kid).
// Use it to verify tokens with other claim rules, e.g. OIDC ID tokens (typ
// "JWT" or absent), then validate iss, aud, azp, exp, nonce yourself (OIDC
// Core §3.1.3.7). Failures satisfy errors.Is(err, ErrInvalidToken).
func VerifySignature(ctx context.Context, keys KeyProvider, token string, algs []Algorithm) (Verified, error) {
	if keys == nil {
		return Verified{}, fmt.Errorf("jwt: nil KeyProvider")
	}
	if len(algs) == 0 {
		return Verified{}, fmt.Errorf("jwt: empty algorithm allow-list")
	}
	mask, err := algMask(algs)
	if err != nil {
		return Verified{}, err
	}
	if len(token) > MaxJWSSize {
		return Verified{}, errTooLarge
	}
	p, err := verifyCompact(ctx, []byte(token), MaxJWSSize, mask, keys)
	if err != nil {
		return Verified{}, err
	}
	if err := scanObject(p.payload, func(k, v []byte) error { return nil }); err != nil {
		return Verified{}, err
	}
	return Verified{Payload: p.payload, Type: string(p.typ), HasType: p.hasTyp, KeyID: p.kid, Algorithm: p.alg}, nil
}

// Claims are the verified claims of an access token (RFC 9068 §2.2).
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub: the user id
	Audience  []string  // aud
	ExpiresAt time.Time // exp
	IssuedAt  time.Time // iat
	NotBefore time.Time // nbf; zero if absent
	ID        string    // jti: unique per token; key revocation lists on it
	Roles     []string  // roles (RFC 9068 §7.2.1.1)
	// AMR lists the authentication methods of the login that led to this
	// token ("amr", RFC 8176), e.g. ["pwd","otp"]; "mfa" or "otp" means the
	// MFA step was completed.
	AMR []string
	// AuthTime is when the user last actively authenticated ("auth_time",
	// OIDC Core §2); zero if absent. Use it for "recent login" checks.
	AuthTime time.Time
	// ACR is the authentication context class of that sign-in ("acr",
	// RFC 9068 §2.2.1); empty if absent.
	ACR string
	// Extra holds the remaining claims as raw JSON, nil if there are none.
	Extra map[string]json.RawMessage
}

// HasAMR reports whether method is among c.AMR.
func (c *Claims) HasAMR(method string) bool {
	for _, m := range c.AMR {
		if m == method {
			return true
		}
	}
	return false
}

// VerifierConfig configures a [Verifier].
type VerifierConfig struct {
	// Keys resolves keys by kid: a *KeySet or a *RemoteKeySet. Required.
	Keys KeyProvider
	// Issuer is the exact expected "iss" (RFC 8725 §3.8). Required.
	Issuer string
	// Audience is the allow-list: a token must name at least one of these in
	// "aud" (RFC 8725 §3.9, RFC 9068 §4). Required.
	Audience []string
	// Algorithms is the allow-list; the zero value means ES256, EdDSA, RS256
	// and PS256, plus HS256 if the KeySet was built with InsecureAllowHS256.
	// Independently, each key verifies only its own algorithm.
	Algorithms []Algorithm
	// Leeway is the clock-skew allowance for exp, nbf and iat: zero means
	// none; at most MaxLeeway.
	Leeway time.Duration
	// MaxTokenSize is checked before any parsing; zero means
	// DefaultMaxTokenSize (8 KiB).
	MaxTokenSize int
	// Type is the required header "typ"; zero means "at+jwt" (RFC 9068 §2.1).
	// It is compared case-insensitively, with an optional "application/"
	// prefix (RFC 7515 §4.1.9). A missing typ is rejected.
	Type string
	// NotBefore, if set, refuses tokens whose iat is before the user's
	// not-before (logout everywhere, password change). Tokens issued in
	// the same second as the not-before are accepted (iat has one-second
	// granularity).
	NotBefore NotBeforeStore
	// NotBeforeCacheTTL caches NotBefore lookups per user (on the wall
	// clock, at most 10000 users) so the store is not hit on every request;
	// zero means 5 s, negative disables caching. A
	// logout-everywhere therefore takes effect on other verifier instances
	// within this TTL (the instance that wrote it can call
	// [Verifier.ForgetNotBefore]).
	NotBeforeCacheTTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verifier verifies access tokens. It is safe for concurrent use.
type Verifier struct {
	keys     KeyProvider
	iss      string
	aud      []string
	mask     uint8
	leeway   int64
	max      int
	typ      string
	nb       NotBeforeStore
	nbTTL    time.Duration
	now      func() time.Time
	nbMu     sync.Mutex
	nbCache  map[string]nbEntry
	nbGen    uint64 // bumped by every ForgetNotBefore, under nbMu
	maxCache int
}

type nbEntry struct {
	t       time.Time
	found   bool
	fetched time.Time
}

// NewVerifier validates cfg and returns a Verifier.
func NewVerifier(cfg VerifierConfig) (_ *Verifier, err error) {
	defer wrapInvalidConfig(&err)
	if cfg.Keys == nil {
		return nil, errors.New("jwt: VerifierConfig.Keys is required")
	}
	if cfg.Issuer == "" {
		return nil, errors.New("jwt: VerifierConfig.Issuer is required")
	}
	if len(cfg.Audience) == 0 {
		return nil, errors.New("jwt: VerifierConfig.Audience is required")
	}
	for _, a := range cfg.Audience {
		if a == "" {
			return nil, errors.New("jwt: empty audience")
		}
	}
	if cfg.Leeway < 0 || cfg.Leeway > MaxLeeway {
		return nil, fmt.Errorf("jwt: Leeway must be within 0..%v", MaxLeeway)
	}
	if cfg.MaxTokenSize < 0 {
		return nil, errors.New("jwt: negative MaxTokenSize")
	}
	if cfg.MaxTokenSize == 0 {
		cfg.MaxTokenSize = DefaultMaxTokenSize
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = cfg.Keys.defaultAlgs()
	}
	mask, err := algMask(algs)
	if err != nil {
		return nil, err
	}
	if cfg.Type == "" {
		cfg.Type = AccessTokenType
	}
	if cfg.NotBeforeCacheTTL == 0 {
		cfg.NotBeforeCacheTTL = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{
		keys: cfg.Keys, iss: cfg.Issuer, aud: append([]string(nil), cfg.Audience...),
		mask: mask, leeway: int64(cfg.Leeway / time.Second), max: cfg.MaxTokenSize,
		typ: strings.ToLower(cfg.Type), nb: cfg.NotBefore, nbTTL: cfg.NotBeforeCacheTTL,
		now: cfg.Now, nbCache: map[string]nbEntry{}, maxCache: 10000,
	}, nil
}

func typMatches(got []byte, want string) bool {
	g := string(got)
	if len(g) > 12 && strings.EqualFold(g[:12], "application/") {
		g = g[12:]
	}
	return strings.EqualFold(g, want)
}

// Verify verifies an access token and returns its claims. Every failure
// satisfies errors.Is(err, ErrInvalidToken) and also wraps the precise cause
// (ErrSignature, ErrExpired, …) for logs. Signature and header failures are
// reported ahead of claim failures such as expiry. A NotBefore store
// failure is returned as a non-ErrInvalidToken error: fail closed.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	if len(token) > v.max {
		return Claims{}, errTooLarge // before copying anything
	}
	return v.VerifyBytes(ctx, []byte(token))
}

// VerifyBytes is Verify for a token held in a byte slice.
func (v *Verifier) VerifyBytes(ctx context.Context, token []byte) (Claims, error) {
	var c Claims
	p, err := verifyCompact(ctx, token, v.max, v.mask, v.keys)
	if err != nil {
		return c, err
	}
	if !p.hasTyp || !typMatches(p.typ, v.typ) {
		return c, errType
	}
	var exp, iat, nbf, authTime int64
	var hasExp, hasIat, hasNbf, hasIss, issOK bool
	err = scanObject(p.payload, func(k, val []byte) error {
		var err error
		switch string(k) {
		case "iss":
			var s []byte
			if s, err = jsonStringBytes(val); err == nil {
				issOK = string(s) == v.iss
			}
			hasIss = true
		case "sub":
			c.Subject, err = jsonString(val)
		case "aud":
			c.Audience, err = jsonStrings(val, true)
		case "exp":
			exp, err = numericDate(val)
			hasExp = true
		case "iat":
			iat, err = numericDate(val)
			hasIat = true
		case "nbf":
			nbf, err = numericDate(val)
			hasNbf = true
		case "jti":
			c.ID, err = jsonString(val)
		case "roles":
			c.Roles, err = jsonStrings(val, false)
		case "amr":
			c.AMR, err = jsonStrings(val, false)
		case "auth_time":
			authTime, err = numericDate(val)
		case "acr":
			c.ACR, err = jsonString(val)
		default:
			if c.Extra == nil {
				c.Extra = make(map[string]json.RawMessage, 4)
			}
			c.Extra[string(k)] = json.RawMessage(val)
		}
		return err
	})
	if err != nil {
		return Claims{}, err
	}
	if !hasExp || !hasIat || !hasIss || c.Subject == "" || c.ID == "" || len(c.Audience) == 0 {
		return Claims{}, errMissingClaim
	}
	if !issOK {
		return Claims{}, errIssuer
	}
	now := v.now().Unix()
	if now >= exp+v.leeway {
		return Claims{}, errExpired
	}
	if hasNbf && now+v.leeway < nbf {
		return Claims{}, errNotYetValid
	}
	if iat > now+v.leeway {
		return Claims{}, errIssuedInFuture
	}
	if !v.audOK(c.Audience) {
		return Claims{}, errAudience
	}
	c.Issuer = v.iss
	c.ExpiresAt = time.Unix(exp, 0)
	c.IssuedAt = time.Unix(iat, 0)
	if hasNbf {
		c.NotBefore = time.Unix(nbf, 0)
	}
	if authTime > 0 {
		c.AuthTime = time.Unix(authTime, 0)
	}
	if v.nb != nil {
		nb, found, err := v.notBefore(ctx, c.Subject)
		if err != nil {
			return Claims{}, fmt.Errorf("jwt: not-before lookup: %w", err)
		}
		if found && iat < nb.Unix() {
			return Claims{}, errRevoked
		}
	}
	return c, nil
}

func (v *Verifier) audOK(aud []string) bool {
	for _, a := range aud {
		for _, w := range v.aud {
			if a == w {
				return true
			}
		}
	}
	return false
}

func (v *Verifier) notBefore(ctx context.Context, user string) (time.Time, bool, error) {
	if v.nbTTL < 0 {
		return v.nb.NotBefore(ctx, user)
	}
	wall := time.Now()
	v.nbMu.Lock()
	e, ok := v.nbCache[user]
	gen := v.nbGen
	v.nbMu.Unlock()
	if ok && wall.Sub(e.fetched) < v.nbTTL {
		return e.t, e.found, nil
	}
	t, found, err := v.nb.NotBefore(ctx, user)
	if err != nil {
		return t, found, err
	}
	v.nbMu.Lock()
	// A ForgetNotBefore since the read above may have been for a value
	// this read predates: use the result for this call, cache it never, so
	// the cache cannot hold a value older than the last forget.
	if v.nbGen == gen {
		if len(v.nbCache) >= v.maxCache {
			clear(v.nbCache)
		}
		v.nbCache[user] = nbEntry{t: t, found: found, fetched: wall}
	}
	v.nbMu.Unlock()
	return t, found, nil
}

// ForgetNotBefore drops the cached not-before of userID, so this instance
// sees a new value at once (call it after NotBeforeStore.SetNotBefore).
// A lookup that read the store before this call and finishes after it is
// not cached.
func (v *Verifier) ForgetNotBefore(userID string) {
	v.nbMu.Lock()
	delete(v.nbCache, userID)
	v.nbGen++
	v.nbMu.Unlock()
}
