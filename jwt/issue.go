package jwt

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// DefaultAccessTokenLifetime is the default access-token lifetime.
const DefaultAccessTokenLifetime = 15 * time.Minute

// MaxAccessTokenLifetime bounds IssuerConfig.Lifetime and per-token lifetimes.
const MaxAccessTokenLifetime = 24 * time.Hour

// reservedClaims cannot be set through AccessTokenRequest.Extra.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	"roles": true, "amr": true, "auth_time": true, "typ": true, "azp": true, "nonce": true,
	"client_id": true, "scope": true, "cnf": true, "act": true, "sid": true, "acr": true,
}

// IssuerConfig configures an [Issuer].
type IssuerConfig struct {
	Keys     *KeySet  // required; its active key signs
	Issuer   string   // "iss", required (an https URL by convention)
	Audience []string // default "aud", required unless every request sets one
	// Lifetime of access tokens; zero means 15 minutes, at most 24 h.
	Lifetime time.Duration
	Now      func() time.Time // nil: time.Now
	Rand     io.Reader        // for jti; nil: crypto/rand.Reader
}

// Issuer mints access tokens (RFC 9068): header typ "at+jwt" and kid; claims
// iss, sub, aud, exp, iat, nbf (= iat), jti (128 random bits), roles, amr,
// auth_time, plus host extras. It is safe for concurrent use.
type Issuer struct {
	keys     *KeySet
	iss      string
	aud      []string
	lifetime time.Duration
	now      func() time.Time
	rand     io.Reader
}

// AccessTokenRequest describes one access token.
type AccessTokenRequest struct {
	Subject  string         // required: the user id
	Audience []string       // empty: IssuerConfig.Audience
	Roles    []string       // "roles"
	AMR      []string       // "amr" (RFC 8176), e.g. ["pwd","otp"] after MFA
	AuthTime time.Time      // "auth_time": when the user last authenticated; zero: omitted
	Lifetime time.Duration  // zero: IssuerConfig.Lifetime
	Extra    map[string]any // more claims; registered and authkit names are refused
}

// NewIssuer validates cfg and returns an Issuer.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	if cfg.Keys == nil {
		return nil, errors.New("jwt: IssuerConfig.Keys is required")
	}
	if cfg.Issuer == "" {
		return nil, errors.New("jwt: IssuerConfig.Issuer is required")
	}
	if cfg.Lifetime < 0 || cfg.Lifetime > MaxAccessTokenLifetime {
		return nil, fmt.Errorf("jwt: Lifetime must be within 0..%v", MaxAccessTokenLifetime)
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultAccessTokenLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Issuer{keys: cfg.Keys, iss: cfg.Issuer, aud: append([]string(nil), cfg.Audience...),
		lifetime: cfg.Lifetime, now: cfg.Now, rand: cfg.Rand}, nil
}

// appendAccessClaims appends the access-token claims object without the
// closing brace: iss, sub, aud (always an array), exp, nbf, iat, jti, then
// roles and amr when not empty and auth_time when not zero. Strings are
// escaped exactly as encoding/json.Marshal escapes them (tested).
func appendAccessClaims(b []byte, iss, sub string, aud []string, exp, nbf, iat int64, jti string, roles, amr []string, authTime int64) []byte {
	b = append(b, `{"iss":`...)
	b = appendJSONString(b, iss)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, sub)
	b = append(b, `,"aud":`...)
	b = appendJSONStrings(b, aud)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, exp, 10)
	b = append(b, `,"nbf":`...)
	b = strconv.AppendInt(b, nbf, 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, iat, 10)
	b = append(b, `,"jti":`...)
	b = appendJSONString(b, jti)
	if len(roles) > 0 {
		b = append(b, `,"roles":`...)
		b = appendJSONStrings(b, roles)
	}
	if len(amr) > 0 {
		b = append(b, `,"amr":`...)
		b = appendJSONStrings(b, amr)
	}
	if authTime != 0 {
		b = append(b, `,"auth_time":`...)
		b = strconv.AppendInt(b, authTime, 10)
	}
	return b
}

func appendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string (RFC 8259 §7) with the same
// escaping as encoding/json.Marshal: quote, backslash and control
// characters escaped, <, > and & as \u003c, \u003e, \u0026, U+2028 and U+2029
// escaped, and invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Issue mints an access token signed by the active key and returns it with
// the claims it carries. It cannot mint an unsigned ("none") token (B2).
func (i *Issuer) Issue(ctx context.Context, r AccessTokenRequest) (string, Claims, error) {
	if err := ctx.Err(); err != nil {
		return "", Claims{}, err
	}
	if r.Subject == "" {
		return "", Claims{}, errors.New("jwt: Subject is required")
	}
	aud := r.Audience
	if len(aud) == 0 {
		aud = i.aud
	}
	if len(aud) == 0 {
		return "", Claims{}, errors.New("jwt: Audience is required")
	}
	life := r.Lifetime
	if life == 0 {
		life = i.lifetime
	}
	if life < 0 || life > MaxAccessTokenLifetime {
		return "", Claims{}, fmt.Errorf("jwt: Lifetime must be within 0..%v", MaxAccessTokenLifetime)
	}
	for k := range r.Extra {
		if reservedClaims[k] {
			return "", Claims{}, fmt.Errorf("%w: %q", ErrReservedClaim, k)
		}
	}
	var jb [16]byte
	if _, err := io.ReadFull(i.rand, jb[:]); err != nil {
		return "", Claims{}, fmt.Errorf("jwt: jti: %w", err)
	}
	now := i.now().Truncate(time.Second)
	exp := now.Add(life).Unix()
	jti := base64.RawURLEncoding.EncodeToString(jb[:])
	var authTime int64
	if !r.AuthTime.IsZero() {
		authTime = r.AuthTime.Unix()
	}
	var scratch [512]byte
	body := appendAccessClaims(scratch[:0], i.iss, r.Subject, aud, exp, now.Unix(), now.Unix(), jti, r.Roles, r.AMR, authTime)
	var extra map[string]json.RawMessage
	if len(r.Extra) > 0 {
		names := make([]string, 0, len(r.Extra))
		for k := range r.Extra {
			names = append(names, k)
		}
		sort.Strings(names)
		extra = make(map[string]json.RawMessage, len(names))
		for _, k := range names {
			vb, err := json.Marshal(r.Extra[k])
			if err != nil {
				return "", Claims{}, fmt.Errorf("jwt: encode claim %q: %w", k, err)
			}
			extra[k] = vb
			body = append(body, ',')
			body = appendJSONString(body, k)
			body = append(body, ':')
			body = append(body, vb...)
		}
	}
	body = append(body, '}')
	tok, err := i.keys.Sign(body, AccessTokenType)
	if err != nil {
		return "", Claims{}, err
	}
	c := Claims{Issuer: i.iss, Subject: r.Subject, Audience: append([]string(nil), aud...),
		ExpiresAt: time.Unix(exp, 0), IssuedAt: now, NotBefore: now, ID: jti,
		Roles: r.Roles, AMR: r.AMR, Extra: extra}
	if authTime != 0 {
		c.AuthTime = time.Unix(authTime, 0)
	}
	return tok, c, nil
}
