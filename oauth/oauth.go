package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Identity is the signed-in user as the provider describes them, keyed by
// (Issuer, Subject): the only stable identifier (OIDC Core §5.7, ASVS
// 10.3.3, 10.5.2). Email and Name can change and be reused; never key
// accounts on them. EmailVerified is the provider's claim; see [Linker].
type Identity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Picture       string
	// ACR is the id_token's "acr" (the authentication context class the
	// provider says the sign-in satisfied) and AuthTime its "auth_time";
	// both empty when absent or for providers without OpenID Connect.
	ACR      string
	AuthTime time.Time
	// Raw holds the verified id_token claims, merged with the userinfo
	// claims they do not already contain (or the user API response for
	// non-OpenID providers).
	Raw map[string]any
}

// Result is a successful [Flow.Callback].
type Result struct {
	Identity Identity
	// ReturnTo is the validated post-login destination given to
	// [Flow.Begin], or "/".
	ReturnTo string
	// Token is the provider's token response. Keep it only if the
	// application calls the provider's APIs later.
	Token *oauth2.Token
}

// Config configures a [Flow] for one provider.
type Config struct {
	// Provider is required; see [Discover], [Google], [GitHub].
	Provider *Provider

	// CookieKey is a dedicated 32-byte AES-256-GCM key sealing the
	// transaction cookie. Required unless Tickets is set. Rotate it
	// freely: only transactions in flight (at most TTL old) are lost.
	CookieKey []byte

	// CookieName defaults to "__Host-authkit-oauth-" + Provider.Name. The
	// cookie is always Secure, HttpOnly, Path=/, SameSite=Lax (the
	// callback is a cross-site top-level GET that Strict would strip).
	CookieName string

	// Tickets, when set, keeps transactions server-side (purpose
	// [StatePurpose]) and the cookie holds only the state; the transaction
	// is taken atomically, so each state is spent exactly once even against
	// a replayed cookie.
	Tickets TicketStore

	// TTL bounds a transaction's life. Default 10 minutes, at most 1 hour.
	TTL time.Duration

	// AllowedReturnOrigins lists exact origins ("https://app.example.com")
	// that return_to may point to; relative paths are always allowed. See
	// [SafeReturnTo].
	AllowedReturnOrigins []string

	// Leeway tolerates clock skew in id_token time checks. Default 30 s,
	// at most 60 s.
	Leeway time.Duration

	// HTTPClient calls the provider's token, userinfo and JWKS endpoints.
	// Default: a client with a 10 s timeout.
	HTTPClient *http.Client

	// Now defaults to time.Now.
	Now func() time.Time
	// Rand defaults to crypto/rand.Reader. It draws the PKCE verifier,
	// state, nonce and the cookie's AES-GCM nonces, so anything but a
	// CSPRNG is for tests only.
	Rand io.Reader
}

// Flow runs the authorization code flow with PKCE S256 and, for OpenID
// providers, a nonce and a verified id_token (RFC 9700 §2.1; OIDC Core
// §3.1). It is safe for concurrent use and immutable after [New].
type Flow struct {
	p          *Provider
	oc         oauth2.Config
	codec      *cookieCodec
	store      TicketStore
	cookieName string
	ttl        time.Duration
	leeway     time.Duration
	origins    []string
	client     *http.Client
	now        func() time.Time
	rand       io.Reader
	verifier   jwsVerifier
}

// New validates cfg and returns a Flow. It performs no I/O and starts no
// goroutines: for an OpenID provider call [Flow.Start] before serving
// callbacks and [Flow.Close] when done.
func New(cfg Config) (*Flow, error) {
	if cfg.Provider == nil {
		return nil, fmt.Errorf("%w: Provider is required", ErrInvalidConfig)
	}
	p := cfg.Provider
	if err := p.validate(); err != nil {
		return nil, err
	}
	f := &Flow{
		p:          p,
		store:      cfg.Tickets,
		cookieName: cfg.CookieName,
		ttl:        cfg.TTL,
		leeway:     cfg.Leeway,
		client:     cfg.HTTPClient,
		now:        cfg.Now,
		rand:       cfg.Rand,
	}
	if f.cookieName == "" {
		f.cookieName = "__Host-authkit-oauth-" + p.Name
	}
	if !validCookieName(f.cookieName) {
		return nil, fmt.Errorf("%w: CookieName %q is not a valid cookie name", ErrInvalidConfig, f.cookieName)
	}
	switch {
	case f.ttl == 0:
		f.ttl = 10 * time.Minute
	case f.ttl < time.Minute || f.ttl > time.Hour:
		return nil, fmt.Errorf("%w: TTL must be between 1 minute and 1 hour", ErrInvalidConfig)
	}
	switch {
	case f.leeway == 0:
		f.leeway = 30 * time.Second
	case f.leeway < 0 || f.leeway > time.Minute:
		return nil, fmt.Errorf("%w: Leeway must be between 0 and 60 s", ErrInvalidConfig)
	}
	if f.client == nil {
		f.client = defaultHTTPClient()
	}
	if f.now == nil {
		f.now = time.Now
	}
	for _, o := range cfg.AllowedReturnOrigins {
		if err := checkOrigin(o); err != nil {
			return nil, fmt.Errorf("%w: AllowedReturnOrigins: %v", ErrInvalidConfig, err)
		}
		f.origins = append(f.origins, o)
	}
	if f.store == nil {
		codec, err := newCookieCodec(cfg.CookieKey, f.cookieName, p.RedirectURL)
		if err != nil {
			return nil, err
		}
		f.codec = codec
	} else if cfg.CookieKey != nil {
		return nil, fmt.Errorf("%w: set CookieKey or Tickets, not both", ErrInvalidConfig)
	}
	f.oc = oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret,
		Endpoint:     p.Endpoint,
		RedirectURL:  p.RedirectURL,
		Scopes:       p.Scopes,
	}
	if p.oidc() {
		v, err := newKeySetVerifier(p, f.client, f.now)
		if err != nil {
			return nil, err
		}
		f.verifier = v
	}
	return f, nil
}

// Provider returns the flow's provider.
func (f *Flow) Provider() *Provider { return f.p }

// Start starts the refresh of the provider's signing keys (the jwt
// package's remote JWKS verifier) until ctx ends or [Flow.Close] is called.
// It is a no-op for providers without OpenID Connect.
func (f *Flow) Start(ctx context.Context) error {
	if f.verifier == nil {
		return nil
	}
	return f.verifier.Start(ctx)
}

// Close stops what [Flow.Start] started.
func (f *Flow) Close() error {
	if f.verifier == nil {
		return nil
	}
	return f.verifier.Close()
}

func validCookieName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func (f *Flow) randToken(n int) (string, error) {
	b := make([]byte, n)
	r := f.rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("oauth: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// reservedAuthParams are set by the flow and cannot be overridden through
// [Provider.AuthParams]. response_mode is reserved so that nothing can
// move the response into a fragment or form_post.
var reservedAuthParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state",
	"code_challenge", "code_challenge_method", "nonce", "max_age", "response_mode", "request", "request_uri"}

// BeginURL starts a transaction: it draws a fresh PKCE verifier (32 random
// bytes, RFC 7636 §4.1), a state and a nonce (192 bits each), binds them to
// this browser with the transaction cookie (and the [TicketStore] when
// configured), and returns the provider's authorization URL, which carries
// code_challenge_method=S256 (RFC 9700 §2.1.1). returnTo is checked with
// [SafeReturnTo] and replaced by "/" when unsafe.
func (f *Flow) BeginURL(ctx context.Context, w http.ResponseWriter, returnTo string) (string, error) {
	return f.begin(ctx, w, returnTo, nil)
}

func (f *Flow) begin(ctx context.Context, w http.ResponseWriter, returnTo string, up *StepUpChallenge) (string, error) {
	var verifier string
	if f.rand == nil {
		verifier = oauth2.GenerateVerifier()
	} else {
		v, err := f.randToken(32)
		if err != nil {
			return "", err
		}
		verifier = v
	}
	state, err := f.randToken(24)
	if err != nil {
		return "", err
	}
	nonce, err := f.randToken(24)
	if err != nil {
		return "", err
	}
	p := Pending{
		Verifier:    verifier,
		RedirectURI: f.p.RedirectURL,
		ReturnTo:    SafeReturnTo(returnTo, f.origins),
		Expiry:      f.now().Add(f.ttl),
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	stepUpACR := up != nil && len(up.ACRValues) > 0
	if f.p.oidc() {
		switch {
		case up != nil && up.HasMaxAge:
			// A step-up's max_age rides in the nonce ("<random>.<seconds>"):
			// every transaction keeps the nonce, and the callback reads
			// max_age back from the stored copy.
			secs := strconv.FormatInt(int64(up.MaxAge/time.Second), 10)
			nonce += "." + secs
			opts = append(opts, oauth2.SetAuthURLParam("max_age", secs))
		case f.p.MaxAge > 0:
			opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.Itoa(int(f.p.MaxAge/time.Second))))
		}
		if stepUpACR {
			opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(up.ACRValues, " ")))
		}
		p.Nonce = nonce
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
	}
	for k, vs := range f.p.AuthParams {
		if isReserved(k) || len(vs) == 0 || (stepUpACR && strings.EqualFold(k, "acr_values")) {
			continue
		}
		opts = append(opts, oauth2.SetAuthURLParam(k, vs[0]))
	}
	var cookieValue string
	if f.store != nil {
		data, err := encodePending(p)
		if err != nil {
			return "", err
		}
		if err := f.store.Put(ctx, StatePurpose, stateKey(state), data, p.Expiry); err != nil {
			return "", fmt.Errorf("oauth: saving transaction: %w", err)
		}
		cookieValue = state
	} else {
		v, err := f.codec.encode(f.randReader(), state, p)
		if err != nil {
			return "", err
		}
		cookieValue = v
	}
	f.setCookie(w, cookieValue, f.ttl)
	return f.oc.AuthCodeURL(state, opts...), nil
}

func isReserved(k string) bool {
	for _, r := range reservedAuthParams {
		if strings.EqualFold(k, r) {
			return true
		}
	}
	return false
}

func (f *Flow) randReader() io.Reader {
	if f.rand == nil {
		return rand.Reader
	}
	return f.rand
}

// Begin is [Flow.BeginURL] followed by a 302 redirect to the provider.
// On error nothing has been written to w.
func (f *Flow) Begin(w http.ResponseWriter, r *http.Request, returnTo string) error {
	u, err := f.BeginURL(r.Context(), w, returnTo)
	if err != nil {
		return err
	}
	redirect(w, u)
	return nil
}

func redirect(w http.ResponseWriter, u string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u)
	w.WriteHeader(http.StatusFound)
}

// callbackParams is the parsed authorization response (RFC 6749 §4.1.2,
// §4.1.2.1; RFC 9207 §2).
type callbackParams struct {
	code, state, iss         string
	hasIss                   bool
	errCode, errDesc, errURI string
}

// Length caps for callback parameters: generous for real providers, small
// enough to bound the work an attacker can cause.
var callbackLimits = map[string]int{
	"code": 4096, "state": 512, "iss": 2048, "error": 256,
	"error_description": 1024, "error_uri": 2048,
}

// parseCallbackQuery parses the callback's raw query. Each response
// parameter may appear at most once (RFC 6749 §3.1); unknown parameters
// (session_state, scope, authuser…) are ignored.
func parseCallbackQuery(rawQuery string) (callbackParams, error) {
	var cp callbackParams
	if len(rawQuery) > 16<<10 {
		return cp, fmt.Errorf("%w: query too long", ErrCallback)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return cp, fmt.Errorf("%w: %v", ErrCallback, err)
	}
	get := func(name string) (string, bool, error) {
		vs, ok := q[name]
		if !ok {
			return "", false, nil
		}
		if len(vs) != 1 {
			return "", true, fmt.Errorf("%w: parameter %s repeated", ErrCallback, name)
		}
		if len(vs[0]) > callbackLimits[name] {
			return "", true, fmt.Errorf("%w: parameter %s too long", ErrCallback, name)
		}
		return vs[0], true, nil
	}
	for _, f := range []struct {
		name string
		dst  *string
		has  *bool
	}{
		{"code", &cp.code, nil}, {"state", &cp.state, nil}, {"iss", &cp.iss, &cp.hasIss},
		{"error", &cp.errCode, nil}, {"error_description", &cp.errDesc, nil}, {"error_uri", &cp.errURI, nil},
	} {
		v, ok, err := get(f.name)
		if err != nil {
			return callbackParams{}, err
		}
		*f.dst = v
		if f.has != nil {
			*f.has = ok
		}
	}
	if cp.state == "" {
		return callbackParams{}, fmt.Errorf("%w: state parameter missing", ErrState)
	}
	if (cp.code == "") == (cp.errCode == "") {
		return callbackParams{}, fmt.Errorf("%w: exactly one of code and error is required", ErrCallback)
	}
	return cp, nil
}

// Callback completes the transaction at the redirect URI. In order it:
// clears the transaction cookie; parses the response (RFC 6749 §3.1: no
// repeated parameters); finds the transaction bound to this browser and
// compares its state with the response's in constant time, spending it
// (RFC 9700 §4.7; with a TicketStore atomically); checks the RFC 9207 iss
// parameter; maps an error response to [*ProviderError]; exchanges the
// code with the PKCE verifier at the exact redirect URI; verifies the
// id_token (OIDC Core §3.1.3.7) or calls [Provider.Identify]; fetches
// userinfo when configured; and returns the normalized [Identity].
//
// Errors match [ErrState], [ErrCallback], [ErrIssuerMismatch],
// [ErrProvider], [ErrExchange], [ErrIDToken] or [ErrUserInfo]; anything
// else is a system failure (e.g. the TicketStore's). Answer browsers with a
// generic failure page and log the error.
func (f *Flow) Callback(w http.ResponseWriter, r *http.Request) (*Result, error) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	ck, ckErr := r.Cookie(f.cookieName)
	// The transaction cookie is single use: it is cleared by every
	// callback, successful or not, so the browser cannot replay it.
	f.clearCookie(w)
	if r.Method != http.MethodGet {
		return nil, fmt.Errorf("%w: method %s", ErrCallback, r.Method)
	}
	cp, err := parseCallbackQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if ckErr != nil {
		return nil, fmt.Errorf("%w: no transaction cookie", ErrState)
	}
	pend, err := f.takeTransaction(ctx, ck.Value, cp.state)
	if err != nil {
		return nil, err
	}
	// RFC 9207 §2.4: a mismatched iss is always a mix-up; a missing one
	// too when the provider promised to send it.
	if cp.hasIss && cp.iss != f.p.Issuer {
		return nil, fmt.Errorf("%w: iss parameter %q", ErrIssuerMismatch, cp.iss)
	}
	if !cp.hasIss && f.p.IssParameterSupported {
		return nil, fmt.Errorf("%w: iss parameter missing", ErrIssuerMismatch)
	}
	if cp.errCode != "" {
		return nil, &ProviderError{Code: cp.errCode, Description: cp.errDesc, URI: cp.errURI}
	}
	hctx := context.WithValue(ctx, oauth2.HTTPClient, f.client)
	tok, err := f.oc.Exchange(hctx, cp.code, oauth2.VerifierOption(pend.Verifier))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExchange, err)
	}
	if tt := tok.TokenType; tt != "" && !strings.EqualFold(tt, "bearer") {
		return nil, fmt.Errorf("%w: unsupported token_type %q", ErrExchange, tt)
	}
	var id Identity
	if f.p.oidc() {
		id, err = f.oidcIdentity(ctx, tok, pend)
	} else {
		id, err = f.plainIdentity(ctx, tok)
	}
	if err != nil {
		return nil, err
	}
	ret := pend.ReturnTo
	if ret == "" {
		ret = "/"
	}
	return &Result{Identity: id, ReturnTo: ret, Token: tok}, nil
}

// takeTransaction finds and spends the transaction bound to this browser.
func (f *Flow) takeTransaction(ctx context.Context, cookieValue, state string) (Pending, error) {
	if f.store == nil {
		cstate, p, err := f.codec.decode(cookieValue, f.now())
		if err != nil {
			if errors.Is(err, ErrState) {
				return Pending{}, err
			}
			return Pending{}, fmt.Errorf("%w: %w", ErrState, err)
		}
		if subtle.ConstantTimeCompare([]byte(cstate), []byte(state)) != 1 {
			return Pending{}, fmt.Errorf("%w: state does not match this browser's transaction", ErrState)
		}
		// The AEAD's associated data bound the cookie to this redirect URI.
		p.RedirectURI = f.p.RedirectURL
		return p, nil
	}
	if subtle.ConstantTimeCompare([]byte(cookieValue), []byte(state)) != 1 {
		return Pending{}, fmt.Errorf("%w: state does not match this browser's transaction", ErrState)
	}
	data, found, err := f.store.Take(ctx, StatePurpose, stateKey(state))
	if err != nil {
		return Pending{}, fmt.Errorf("oauth: taking transaction: %w", err)
	}
	if !found {
		return Pending{}, fmt.Errorf("%w: unknown, expired or spent", ErrState)
	}
	p, err := decodePending(data)
	if err != nil {
		return Pending{}, err
	}
	if !f.now().Before(p.Expiry) {
		return Pending{}, fmt.Errorf("%w: transaction expired", ErrState)
	}
	if p.RedirectURI != f.p.RedirectURL {
		return Pending{}, fmt.Errorf("%w: transaction started for another redirect URI", ErrState)
	}
	return p, nil
}

func (f *Flow) oidcIdentity(ctx context.Context, tok *oauth2.Token, pend Pending) (Identity, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, idErr("missing", errors.New("no id_token in the token response"))
	}
	c, err := f.verifyIDToken(ctx, raw, pend, tok.AccessToken)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{Issuer: c.iss, Subject: c.sub, ACR: c.acr, AuthTime: c.authTime, Raw: c.raw}
	fill := func(m map[string]any) {
		if id.Email == "" {
			if e, ok := m["email"].(string); ok && e != "" {
				id.Email, id.EmailVerified = e, emailVerified(m["email_verified"])
			}
		}
		if id.Name == "" {
			id.Name, _ = m["name"].(string)
		}
		if id.Picture == "" {
			id.Picture, _ = m["picture"].(string)
		}
	}
	fill(c.raw)
	if f.p.FetchUserInfo {
		var ui map[string]any
		if err := getJSON(ctx, f.client, f.p.UserInfoURL, tok.AccessToken, &ui); err != nil {
			return Identity{}, fmt.Errorf("%w: %w", ErrUserInfo, err)
		}
		if sub, _ := ui["sub"].(string); sub != c.sub {
			return Identity{}, fmt.Errorf("%w: userinfo sub %q differs from id_token sub", ErrUserInfo, sub)
		}
		fill(ui)
		for k, v := range ui {
			if _, ok := id.Raw[k]; !ok {
				id.Raw[k] = v
			}
		}
	}
	return id, nil
}

func (f *Flow) plainIdentity(ctx context.Context, tok *oauth2.Token) (Identity, error) {
	id, err := f.p.Identify(ctx, f.client, tok)
	if err != nil {
		if errors.Is(err, ErrUserInfo) {
			return Identity{}, err
		}
		return Identity{}, fmt.Errorf("%w: %w", ErrUserInfo, err)
	}
	if id.Issuer == "" {
		id.Issuer = f.p.Issuer
	}
	if id.Issuer != f.p.Issuer || id.Subject == "" {
		return Identity{}, fmt.Errorf("%w: identity must have the provider's issuer and a subject", ErrUserInfo)
	}
	return id, nil
}

// TokenSource returns a token source that refreshes tok at the provider
// when it expires (RFC 6749 §6), for applications that call the
// provider's APIs. Token endpoint failures match [ErrExchange] and carry
// the [*oauth2.RetrieveError]. A provider that rotates refresh tokens
// (RFC 9700 §4.14.2) hands out a new one with each refresh, which the
// source keeps.
func (f *Flow) TokenSource(ctx context.Context, tok *oauth2.Token) oauth2.TokenSource {
	hctx := context.WithValue(ctx, oauth2.HTTPClient, f.client)
	return wrapErrors{src: f.oc.TokenSource(hctx, tok), sentinel: ErrExchange}
}

type wrapErrors struct {
	src      oauth2.TokenSource
	sentinel error
}

func (w wrapErrors) Token() (*oauth2.Token, error) {
	t, err := w.src.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", w.sentinel, err)
	}
	return t, nil
}
