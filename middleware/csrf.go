package middleware

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// CSRFTokenMode selects when [CSRF] requires a synchronizer token in addition
// to the cross-origin checks of [net/http.CrossOriginProtection].
type CSRFTokenMode int

const (
	// CSRFTokenOff (the zero value) relies on Fetch Metadata and Origin only,
	// exactly as [net/http.CrossOriginProtection] does.
	CSRFTokenOff CSRFTokenMode = iota
	// CSRFTokenWithoutFetchMetadata requires a valid token on unsafe requests
	// that carry no Sec-Fetch-Site header (browsers before 2023 and non-browser
	// clients). Requests whose Sec-Fetch-Site is same-origin or none are
	// already proven same-origin by the browser and need no token.
	CSRFTokenWithoutFetchMetadata
	// CSRFTokenAlways requires a valid token on every unsafe request that does
	// not match a bypass pattern.
	CSRFTokenAlways
)

// Defaults for [CSRFConfig].
const (
	DefaultCSRFHeader = "X-CSRF-Token"
	DefaultCSRFField  = "csrf_token"
)

const (
	csrfNonceLen = 16
	csrfMACLen   = sha256.Size
	csrfTokenLen = csrfNonceLen + csrfMACLen
	// minCSRFSecretLen is the shortest session secret accepted (128 bits).
	minCSRFSecretLen = 16
	// csrfLabel separates the CSRF MAC from any other use of the session
	// secret (domain separation).
	csrfLabel = "authkit/csrf/v1\x00"
)

// CSRFConfig configures [NewCSRF]. The zero value is valid: Fetch Metadata
// and Origin checks only, no trusted origins, no bypass patterns, and the
// default 403 {"error":"forbidden"} response.
type CSRFConfig struct {
	// TrustedOrigins are Origin values ("scheme://host[:port]") allowed to make
	// cross-origin unsafe requests; matched exactly (see
	// [net/http.CrossOriginProtection.AddTrustedOrigin]).
	TrustedOrigins []string

	// InsecureBypassPatterns are [net/http.ServeMux] patterns whose requests
	// skip every check, the token included (see
	// [net/http.CrossOriginProtection.AddInsecureBypassPattern]). Use them only
	// for endpoints that authenticate otherwise (webhooks with signatures).
	InsecureBypassPatterns []string

	// Deny writes the response for a rejected request. err is one of
	// [ErrCrossOrigin], [ErrCSRFTokenMissing], [ErrCSRFTokenInvalid],
	// [ErrCSRFNoSession], for logging and auditing; never echo it to the
	// client. Nil means [WriteError](w, 403, "forbidden").
	Deny DenyFunc
	// OnDeny is the audit hook called for every rejected request, before
	// Deny, with the same err.
	OnDeny AuditFunc

	// TokenMode selects when a synchronizer token is required. Any mode but
	// [CSRFTokenOff] needs SessionSecret.
	TokenMode CSRFTokenMode

	// SessionSecret returns the current session's secret to which tokens are
	// bound, for example the session package's per-session secret. ok=false
	// (or a secret shorter than 16 bytes) means the request has no session; a request that needs a token is then
	// rejected with [ErrCSRFNoSession] (give anonymous visitors of a form an
	// anonymous session first). The secret must be at least 16 bytes of
	// CSPRNG output and must change when the session is renewed (login,
	// privilege change): tokens of the old secret then stop working
	// (OWASP Session Management Cheat Sheet, ASVS 3.5.1, 7.2.4).
	SessionSecret func(r *http.Request) (secret []byte, ok bool)

	// Header is the request header carrying the token. Default
	// [DefaultCSRFHeader].
	Header string
	// Field is the form field carrying the token in
	// application/x-www-form-urlencoded and multipart/form-data bodies; it is
	// consulted only when the header is absent. Default [DefaultCSRFField].
	Field string

	// Rand is the randomness for token nonces. Default crypto/rand.Reader.
	Rand io.Reader
}

// CSRF protects against cross-site request forgery (OWASP CSRF Prevention
// Cheat Sheet; ASVS 3.5.1-3.5.3). It is built on
// [net/http.CrossOriginProtection] and adds an optional synchronizer token
// (HMAC of a random nonce under the session secret) for clients that send no
// Fetch Metadata. GET, HEAD and OPTIONS are always allowed, so they must not
// change state: logout is a POST.
//
// A CSRF is immutable after [NewCSRF] and safe for concurrent use.
type CSRF struct {
	cop    *http.CrossOriginProtection
	bypass *http.ServeMux // nil without bypass patterns
	deny   DenyFunc
	onDeny AuditFunc
	mode   CSRFTokenMode
	secret func(*http.Request) ([]byte, bool)
	header string
	field  string
	rand   io.Reader
}

// bypassMarker is registered for every bypass pattern in CSRF.bypass.
type bypassMarker struct{}

func (bypassMarker) ServeHTTP(http.ResponseWriter, *http.Request) {}

// NewCSRF validates cfg and returns a CSRF. It returns an error (and never
// panics) for an invalid trusted origin, an invalid or conflicting bypass
// pattern, an unknown TokenMode, or a token mode without SessionSecret;
// the error satisfies errors.Is(err, [ErrInvalidConfig]).
func NewCSRF(cfg CSRFConfig) (*CSRF, error) {
	v, err := newCSRF(cfg)
	if err != nil {
		return nil, invalidConfig(err)
	}
	return v, nil
}

func newCSRF(cfg CSRFConfig) (c *CSRF, err error) {
	c = &CSRF{
		cop:    http.NewCrossOriginProtection(),
		deny:   cfg.Deny,
		onDeny: cfg.OnDeny,
		mode:   cfg.TokenMode,
		secret: cfg.SessionSecret,
		header: cfg.Header,
		field:  cfg.Field,
		rand:   cfg.Rand,
	}
	switch cfg.TokenMode {
	case CSRFTokenOff:
	case CSRFTokenWithoutFetchMetadata, CSRFTokenAlways:
		if cfg.SessionSecret == nil {
			return nil, errors.New("middleware: csrf token mode needs SessionSecret")
		}
	default:
		return nil, fmt.Errorf("middleware: unknown csrf token mode %d", cfg.TokenMode)
	}
	if c.deny == nil {
		c.deny = defaultCSRFDeny
	}
	if c.header == "" {
		c.header = DefaultCSRFHeader
	}
	if c.field == "" {
		c.field = DefaultCSRFField
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	for _, o := range cfg.TrustedOrigins {
		if err := c.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("middleware: csrf trusted origin: %w", err)
		}
	}
	if len(cfg.InsecureBypassPatterns) > 0 {
		// ServeMux.Handle and AddInsecureBypassPattern panic on invalid or
		// conflicting patterns; turn that into a configuration error.
		defer func() {
			if p := recover(); p != nil {
				c, err = nil, fmt.Errorf("middleware: csrf bypass pattern: %v", p)
			}
		}()
		c.bypass = http.NewServeMux()
		for _, p := range cfg.InsecureBypassPatterns {
			c.bypass.Handle(p, bypassMarker{})
			c.cop.AddInsecureBypassPattern(p)
		}
	}
	return c, nil
}

func defaultCSRFDeny(w http.ResponseWriter, _ *http.Request, _ error) {
	WriteError(w, http.StatusForbidden, CodeForbidden)
}

// Check reports whether r may proceed: nil, or one of [ErrCrossOrigin],
// [ErrCSRFTokenMissing], [ErrCSRFTokenInvalid], [ErrCSRFNoSession]. It writes
// nothing. In a token mode with a form-encoded body and no token header,
// Check parses the body (r.ParseMultipartForm); limit the body size with
// [net/http.MaxBytesReader] before it.
func (c *CSRF) Check(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := c.cop.Check(r); err != nil {
		return ErrCrossOrigin
	}
	switch c.mode {
	case CSRFTokenOff:
		return nil
	case CSRFTokenWithoutFetchMetadata:
		if r.Header.Get("Sec-Fetch-Site") != "" {
			// CrossOriginProtection accepted it: same-origin, none, or a
			// trusted origin / bypass pattern.
			return nil
		}
	}
	if c.isBypassed(r) {
		return nil
	}
	secret, ok := c.secret(r)
	if !ok || len(secret) < minCSRFSecretLen {
		// An empty or short secret would make tokens forgeable: fail closed.
		return ErrCSRFNoSession
	}
	tok := r.Header.Get(c.header)
	if tok == "" && isFormBody(r) {
		tok = r.PostFormValue(c.field)
	}
	if tok == "" {
		return ErrCSRFTokenMissing
	}
	if !verifyCSRFToken(secret, tok) {
		return ErrCSRFTokenInvalid
	}
	return nil
}

func (c *CSRF) isBypassed(r *http.Request) bool {
	if c.bypass == nil {
		return false
	}
	h, _ := c.bypass.Handler(r)
	_, ok := h.(bypassMarker)
	return ok
}

func isFormBody(r *http.Request) bool {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return false
	}
	return ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data"
}

// Handler returns next wrapped with [CSRF.Check]; rejected requests are
// reported to the OnDeny hook, go to the Deny hook (default 403
// {"error":"forbidden"}) and never reach next.
func (c *CSRF) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.Check(r); err != nil {
			if c.onDeny != nil {
				c.onDeny(r, err)
			}
			c.deny(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Token returns a fresh token for r's session, to embed in a form field
// ([CSRFConfig.Field]) or hand to a script for the header
// ([CSRFConfig.Header]). Each call returns a different string (a new random
// nonce, which also defeats BREACH-style compression oracles); all of them stay
// valid until the session secret changes. It returns [ErrCSRFNoSession] when
// r has no session, and an error when SessionSecret is not configured.
func (c *CSRF) Token(r *http.Request) (string, error) {
	if c.secret == nil {
		return "", errors.New("middleware: csrf SessionSecret not configured")
	}
	secret, ok := c.secret(r)
	if !ok || len(secret) < minCSRFSecretLen {
		return "", ErrCSRFNoSession
	}
	return newCSRFToken(c.rand, secret)
}

// newCSRFToken returns base64url(nonce || HMAC-SHA256(secret, label || nonce)).
func newCSRFToken(rnd io.Reader, secret []byte) (string, error) {
	var raw [csrfTokenLen]byte
	if _, err := io.ReadFull(rnd, raw[:csrfNonceLen]); err != nil {
		return "", fmt.Errorf("middleware: csrf token: %w", err)
	}
	mac := csrfMAC(secret, raw[:csrfNonceLen])
	copy(raw[csrfNonceLen:], mac[:])
	return base64.RawURLEncoding.EncodeToString(raw[:]), nil
}

func csrfMAC(secret, nonce []byte) [csrfMACLen]byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(csrfLabel))
	m.Write(nonce)
	var out [csrfMACLen]byte
	m.Sum(out[:0])
	return out
}

// verifyCSRFToken checks tok against secret in constant time (ASVS 11.2.4).
func verifyCSRFToken(secret []byte, tok string) bool {
	if len(tok) != base64.RawURLEncoding.EncodedLen(csrfTokenLen) {
		return false
	}
	var raw [csrfTokenLen]byte
	n, err := base64.RawURLEncoding.Decode(raw[:], []byte(tok))
	if err != nil || n != csrfTokenLen {
		return false
	}
	want := csrfMAC(secret, raw[:csrfNonceLen])
	return hmac.Equal(want[:], raw[csrfNonceLen:])
}
