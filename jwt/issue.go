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
	"time"
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
// acr, auth_time, plus host extras. It is safe for concurrent use.
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
	Subject  string    // required: the user id
	Audience []string  // empty: IssuerConfig.Audience
	Roles    []string  // "roles"
	AMR      []string  // "amr" (RFC 8176), e.g. ["pwd","otp"] after MFA
	AuthTime time.Time // "auth_time": when the user last authenticated; zero: omitted
	// ACR is the authentication context class of the sign-in that AuthTime
	// dates ("acr", RFC 9068 §2.2.1, OIDC Core §2), e.g. a level the host
	// maps from AMR; empty: omitted.
	ACR      string
	Lifetime time.Duration  // zero: IssuerConfig.Lifetime
	Extra    map[string]any // more claims; registered and authkit names are refused
}

// NewIssuer validates cfg and returns an Issuer.
func NewIssuer(cfg IssuerConfig) (_ *Issuer, err error) {
	defer wrapInvalidConfig(&err)
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

// accessPayload is the claims object of an access token, in this member
// order; host extras are appended after it in sorted order.
type accessPayload struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      []string `json:"aud"`
	Exp      int64    `json:"exp"`
	Nbf      int64    `json:"nbf"`
	Iat      int64    `json:"iat"`
	Jti      string   `json:"jti"`
	Roles    []string `json:"roles,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
}

// Issue mints an access token signed by the active key and returns it with
// the claims it carries. It cannot mint an unsigned ("none") token.
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
	body, err := json.Marshal(accessPayload{Iss: i.iss, Sub: r.Subject, Aud: aud, Exp: exp, Nbf: now.Unix(),
		Iat: now.Unix(), Jti: jti, Roles: r.Roles, AMR: r.AMR, ACR: r.ACR, AuthTime: authTime})
	if err != nil {
		return "", Claims{}, fmt.Errorf("jwt: encode claims: %w", err)
	}
	body = body[:len(body)-1] // reopen the object for the extras
	var extra map[string]json.RawMessage
	if len(r.Extra) > 0 {
		names := make([]string, 0, len(r.Extra))
		for k := range r.Extra {
			names = append(names, k)
		}
		sort.Strings(names)
		extra = make(map[string]json.RawMessage, len(names))
		for _, k := range names {
			kb, err := json.Marshal(k)
			if err != nil {
				return "", Claims{}, fmt.Errorf("jwt: encode claim name %q: %w", k, err)
			}
			vb, err := json.Marshal(r.Extra[k])
			if err != nil {
				return "", Claims{}, fmt.Errorf("jwt: encode claim %q: %w", k, err)
			}
			extra[k] = vb
			body = append(body, ',')
			body = append(body, kb...)
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
		Roles: r.Roles, AMR: r.AMR, ACR: r.ACR, Extra: extra}
	if authTime != 0 {
		c.AuthTime = time.Unix(authTime, 0)
	}
	return tok, c, nil
}
