package oauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// jwsVerifier checks a compact JWS against the provider's published key
// set, accepting only the given algorithms, and returns the verified
// payload. The default implementation is the jwt package's remote (JWKS
// URL) verifier; oauth fetches and caches no keys itself.
type jwsVerifier interface {
	Start(ctx context.Context) error
	Close() error
	Verify(ctx context.Context, compact []byte, algs []string) (payload []byte, err error)
}

// maxIDTokenSize bounds the work done on an id_token before its signature
// is checked.
const maxIDTokenSize = 16 << 10

// idClaims are the id_token claims OIDC Core §2 and §3.1.3.7 require or
// constrain, parsed strictly from the verified payload.
type idClaims struct {
	iss, sub, azp, nonce, atHash, acr string
	aud                               []string
	exp, iat                          time.Time
	nbf, authTime                     time.Time // zero when absent
	raw                               map[string]any
}

// verifyIDToken applies OIDC Core §3.1.3.7: the header's
// alg is on the allow-list, the signature verifies against the JWKS (via
// the jwt package), then iss is exact, aud contains client_id, azp equals
// client_id when present and is required with several audiences, exp and
// iat (and nbf) hold within the leeway, nonce equals the transaction's,
// auth_time is recent enough when max_age was sent, and at_hash matches
// the access token when present.
func (f *Flow) verifyIDToken(ctx context.Context, raw string, pend Pending, accessToken string) (*idClaims, error) {
	nonce := pend.Nonce
	if len(raw) > maxIDTokenSize {
		return nil, idErr("size", nil)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || parts[0] == "" {
		return nil, idErr("format", errors.New("not a compact JWS"))
	}
	hdrJSON, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, idErr("format", err)
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		return nil, idErr("format", err)
	}
	algs := f.p.algs()
	if !slices.Contains(algs, hdr.Alg) {
		return nil, idErr("alg", fmt.Errorf("%q not in %v", hdr.Alg, algs))
	}
	if parts[2] == "" {
		return nil, idErr("format", errors.New("empty signature"))
	}
	if f.verifier == nil {
		return nil, idErr("signature", errNoVerifier)
	}
	payload, err := f.verifier.Verify(ctx, []byte(raw), algs)
	if errors.Is(err, errWrongTyp) {
		return nil, idErr("typ", err)
	}
	if err != nil {
		return nil, idErr("signature", err)
	}
	c, err := parseIDClaims(payload)
	if err != nil {
		return nil, err
	}
	now, leeway := f.now(), f.leeway
	switch {
	case c.iss != f.p.Issuer:
		return nil, idErr("iss", fmt.Errorf("%w: %q, want %q", ErrIssuerMismatch, c.iss, f.p.Issuer))
	case c.sub == "":
		return nil, idErr("sub", errors.New("missing"))
	case !slices.Contains(c.aud, f.p.ClientID):
		return nil, idErr("aud", fmt.Errorf("%q does not contain the client id", c.aud))
	case len(c.aud) > 1 && c.azp == "":
		return nil, idErr("azp", errors.New("missing with several audiences"))
	case c.azp != "" && c.azp != f.p.ClientID:
		return nil, idErr("azp", fmt.Errorf("%q is not the client id", c.azp))
	case c.exp.IsZero():
		return nil, idErr("exp", errors.New("missing"))
	case !now.Before(c.exp.Add(leeway)):
		return nil, idErr("exp", errors.New("expired"))
	case c.iat.IsZero():
		return nil, idErr("iat", errors.New("missing"))
	case c.iat.After(now.Add(leeway)):
		return nil, idErr("iat", errors.New("issued in the future"))
	case !c.nbf.IsZero() && c.nbf.After(now.Add(leeway)):
		return nil, idErr("nbf", errors.New("not yet valid"))
	case subtle.ConstantTimeCompare([]byte(c.nonce), []byte(nonce)) != 1:
		return nil, idErr("nonce", errors.New("does not match the transaction"))
	}
	maxAge, hasMaxAge := f.p.MaxAge, f.p.MaxAge > 0
	if secs, ok := stepUpMaxAge(pend.Nonce); ok {
		maxAge, hasMaxAge = secs, true // a step-up's max_age, 0 included
	}
	if hasMaxAge {
		if c.authTime.IsZero() {
			return nil, idErr("auth_time", errors.New("missing although max_age was requested"))
		}
		if now.Sub(c.authTime) > maxAge+leeway {
			return nil, idErr("auth_time", errors.New("authentication older than max_age"))
		}
	}
	if c.atHash != "" {
		h := hashForAlg(hdr.Alg)
		if h == nil {
			return nil, idErr("at_hash", fmt.Errorf("no hash for alg %q", hdr.Alg))
		}
		h.Write([]byte(accessToken))
		sum := h.Sum(nil)
		want := base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
		if subtle.ConstantTimeCompare([]byte(want), []byte(c.atHash)) != 1 {
			return nil, idErr("at_hash", errors.New("does not match the access token"))
		}
	}
	return c, nil
}

// stepUpMaxAge reads the max_age that [Flow.BeginStepUpURL] appended to
// the nonce it generated ("<random>.<seconds>"; random nonces are base64url
// and hold no dot).
func stepUpMaxAge(nonce string) (time.Duration, bool) {
	i := strings.LastIndexByte(nonce, '.')
	if i < 0 {
		return 0, false
	}
	secs, err := strconv.ParseInt(nonce[i+1:], 10, 64)
	if err != nil || secs < 0 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

// hashForAlg is the hash of OIDC Core §3.1.3.6 (at_hash): the one of the
// JWS alg, SHA-512 for EdDSA (Ed25519).
func hashForAlg(alg string) hash.Hash {
	switch {
	case strings.HasSuffix(alg, "256"):
		return sha256.New()
	case strings.HasSuffix(alg, "384"):
		return sha512.New384()
	case strings.HasSuffix(alg, "512"), alg == "EdDSA":
		return sha512.New()
	}
	return nil
}

func parseIDClaims(payload []byte) (*idClaims, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, idErr("format", err)
	}
	if dec.More() {
		return nil, idErr("format", errors.New("trailing data"))
	}
	c := &idClaims{raw: m}
	var err error
	str := func(name string, dst *string) {
		if err != nil {
			return
		}
		v, ok := m[name]
		if !ok {
			return
		}
		s, isStr := v.(string)
		if !isStr {
			err = idErr(name, errors.New("not a string"))
			return
		}
		*dst = s
	}
	num := func(name string, dst *time.Time) {
		if err != nil {
			return
		}
		v, ok := m[name]
		if !ok {
			return
		}
		n, isNum := v.(json.Number)
		if !isNum {
			err = idErr(name, errors.New("not a number"))
			return
		}
		fl, perr := n.Float64()
		if perr != nil || fl <= 0 || fl > math.MaxInt32*16 || math.IsNaN(fl) {
			err = idErr(name, errors.New("not a valid NumericDate"))
			return
		}
		sec, frac := math.Modf(fl)
		*dst = time.Unix(int64(sec), int64(frac*1e9))
	}
	str("iss", &c.iss)
	str("sub", &c.sub)
	str("azp", &c.azp)
	str("nonce", &c.nonce)
	str("at_hash", &c.atHash)
	str("acr", &c.acr)
	num("exp", &c.exp)
	num("iat", &c.iat)
	num("nbf", &c.nbf)
	num("auth_time", &c.authTime)
	if err != nil {
		return nil, err
	}
	switch a := m["aud"].(type) {
	case string:
		c.aud = []string{a}
	case []any:
		for _, v := range a {
			s, ok := v.(string)
			if !ok {
				return nil, idErr("aud", errors.New("not a string array"))
			}
			c.aud = append(c.aud, s)
		}
	case nil:
	default:
		return nil, idErr("aud", errors.New("not a string or array"))
	}
	return c, nil
}

// emailVerified reads email_verified as a boolean; the string "true" is
// accepted because some providers send it that way.
func emailVerified(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}
