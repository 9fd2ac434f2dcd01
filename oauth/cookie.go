package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The state cookie is base64url(version || 12-byte GCM nonce || AES-256-GCM
// ciphertext). The associated data binds it to the cookie name and the
// flow's redirect URI, so a cookie minted for one provider's flow does not
// open in another's. It holds only what the callback needs: state, PKCE
// verifier, OIDC nonce, return_to and expiry; never tokens.
const (
	cookieVersion     = 1
	maxCookieValueLen = 3072 // well under the 4 KiB browsers guarantee per cookie
	maxReturnToLen    = 1024
)

type cookiePayload struct {
	S string `json:"s"` // state
	V string `json:"v"` // PKCE verifier
	N string `json:"n"` // nonce
	R string `json:"r"` // return_to
	E int64  `json:"e"` // expiry, Unix seconds
}

type cookieCodec struct {
	aead cipher.AEAD
	aad  []byte
}

func newCookieCodec(key []byte, name, redirectURL string) (*cookieCodec, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: CookieKey must be 32 bytes (AES-256), got %d", ErrInvalidConfig, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	aad := []byte("authkit/oauth/state/v1\x00" + name + "\x00" + redirectURL)
	return &cookieCodec{aead: aead, aad: aad}, nil
}

func (c *cookieCodec) encode(rnd io.Reader, state string, p Pending) (string, error) {
	pt, err := json.Marshal(cookiePayload{S: state, V: p.Verifier, N: p.Nonce, R: p.ReturnTo, E: p.Expiry.Unix()})
	if err != nil {
		return "", err
	}
	buf := make([]byte, 1+c.aead.NonceSize(), 1+c.aead.NonceSize()+len(pt)+c.aead.Overhead())
	buf[0] = cookieVersion
	if _, err := io.ReadFull(rnd, buf[1:]); err != nil {
		return "", fmt.Errorf("oauth: reading randomness: %w", err)
	}
	out := c.aead.Seal(buf, buf[1:], pt, c.aad)
	v := base64.RawURLEncoding.EncodeToString(out)
	if len(v) > maxCookieValueLen {
		return "", fmt.Errorf("oauth: state cookie too large (%d bytes)", len(v))
	}
	return v, nil
}

var errCookie = errors.New("oauth: undecodable state cookie")

// decode authenticates and decrypts a state cookie value. It never panics
// and bounds its work by the value's length.
func (c *cookieCodec) decode(value string, now time.Time) (state string, p Pending, err error) {
	if len(value) == 0 || len(value) > maxCookieValueLen {
		return "", Pending{}, errCookie
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return "", Pending{}, errCookie
	}
	ns := c.aead.NonceSize()
	if len(raw) < 1+ns+c.aead.Overhead() || raw[0] != cookieVersion {
		return "", Pending{}, errCookie
	}
	pt, err := c.aead.Open(nil, raw[1:1+ns], raw[1+ns:], c.aad)
	if err != nil {
		return "", Pending{}, errCookie
	}
	var cp cookiePayload
	if err := json.Unmarshal(pt, &cp); err != nil {
		return "", Pending{}, errCookie
	}
	if cp.S == "" || cp.V == "" || len(cp.R) > maxReturnToLen {
		return "", Pending{}, errCookie
	}
	exp := time.Unix(cp.E, 0)
	if !now.Before(exp) {
		return "", Pending{}, fmt.Errorf("%w: transaction expired", ErrState)
	}
	return cp.S, Pending{Verifier: cp.V, Nonce: cp.N, ReturnTo: cp.R, Expiry: exp}, nil
}

func (f *Flow) setCookie(w http.ResponseWriter, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     f.cookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		Secure:   true,
		HttpOnly: true,
		// Lax, not Strict: the callback is a top-level cross-site GET
		// navigation from the provider, which Strict would strip.
		SameSite: http.SameSiteLaxMode,
	})
}

func (f *Flow) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     f.cookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}
