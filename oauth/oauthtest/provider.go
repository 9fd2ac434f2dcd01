package oauthtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authkit-go/authkit/oauth"
	"golang.org/x/oauth2"
)

// User is the account that signs in at the fake provider.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Picture       string
}

// Misbehavior makes the fake provider break one rule of OAuth 2.0 / OpenID
// Connect, so that tests can prove the client refuses the result.
// The zero value behaves correctly.
type Misbehavior struct {
	WrongIssuer       bool // id_token iss is another issuer
	WrongIssParam     bool // RFC 9207 iss response parameter is another issuer
	OmitIssParam      bool // no iss response parameter although advertised
	WrongNonce        bool // id_token nonce differs from the request's
	OmitNonce         bool // id_token without nonce
	BadSignature      bool // signed by a key that is not in the JWKS (same kid)
	HS256ClientSecret bool // alg HS256 keyed with the client secret
	AlgNone           bool // alg "none", empty signature
	Expired           bool // exp an hour ago
	IssuedInFuture    bool // iat an hour ahead
	WrongAudience     bool // aud is another client
	ExtraAudience     bool // aud [client, other] and no azp
	WrongAzp          bool // azp is another client
	WrongAtHash       bool // at_hash of another access token
	// IDTokenTyp, when set, is the id_token's typ header, e.g. "at+jwt"
	// for an access token substituted for an id_token.
	IDTokenTyp    string
	OmitIDToken   bool // token response without id_token
	StaleAuthTime bool // auth_time a day ago
	OmitAuthTime  bool // id_token without auth_time
	// IgnoreACRValues leaves acr out of the id_token although acr_values
	// was requested (acr_values is voluntary, OIDC Core §3.1.2.1).
	IgnoreACRValues   bool
	SkipPKCECheck     bool // accept a missing or wrong code_verifier
	SkipRedirectCheck bool // accept any redirect_uri at the token endpoint
	// UserInfoSubject, when set, is the sub the userinfo endpoint returns.
	UserInfoSubject string
	// WrongDiscoveryIssuer makes the discovery document name another issuer.
	WrongDiscoveryIssuer bool
	// AuthorizeError makes the authorization endpoint answer with this
	// error code (e.g. "access_denied") instead of a code.
	AuthorizeError string
}

// ProviderConfig configures [NewProvider].
type ProviderConfig struct {
	// ClientID and ClientSecret of the one registered client. Defaults
	// "test-client" and "test-secret".
	ClientID, ClientSecret string
	// RedirectURIs registered for the client, compared exactly
	// (RFC 9700 §4.1). At least one is required.
	RedirectURIs []string
	// Alg signs id_tokens: "ES256" (default) or "RS256".
	Alg string
	// User signs in; default subject "user-1", email user@example.com
	// (verified).
	User User
	// NoIssParameter stops advertising and sending the RFC 9207 iss
	// parameter.
	NoIssParameter bool
	// AccessTokenTTL is the lifetime of access tokens (expires_in).
	// Default 1 hour.
	AccessTokenTTL time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Provider is an in-process fake OpenID provider (authorization code with
// PKCE, refresh tokens with rotation and reuse detection, client
// credentials, discovery, JWKS, userinfo) on a loopback httptest.Server.
// Configure it to misbehave with [Provider.SetMisbehavior].
type Provider struct {
	srv *httptest.Server
	cfg ProviderConfig

	mu        sync.Mutex
	kid       string
	key       crypto.Signer
	mis       Misbehavior
	user      User
	codes     map[string]*grant
	access    map[string]User
	refresh   map[string]*refreshToken
	tokenReqs []url.Values
}

type grant struct {
	redirectURI, challenge, method, nonce, scope string
	acr                                          string
	authTime                                     time.Time
	user                                         User
}

type refreshToken struct {
	family  string
	used    bool
	revoked bool
	user    User
}

// NewProvider starts a fake provider; call Close when done.
func NewProvider(cfg ProviderConfig) (*Provider, error) {
	if cfg.ClientID == "" {
		cfg.ClientID = "test-client"
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = "test-secret"
	}
	if len(cfg.RedirectURIs) == 0 {
		return nil, errors.New("oauthtest: RedirectURIs is required")
	}
	if cfg.Alg == "" {
		cfg.Alg = "ES256"
	}
	if cfg.User.Subject == "" {
		cfg.User = User{Subject: "user-1", Email: "user@example.com", EmailVerified: true, Name: "Test User", Picture: "https://example.com/u.png"}
	}
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key, err := newKey(cfg.Alg)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		cfg: cfg, key: key, kid: "fake-" + randString(6), user: cfg.User,
		codes: map[string]*grant{}, access: map[string]User{}, refresh: map[string]*refreshToken{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	p.srv = httptest.NewServer(mux)
	return p, nil
}

func newKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("oauthtest: unsupported Alg %q", alg)
}

// RotateKey replaces the signing key and its kid; the JWKS publishes only
// the new key from then on, as after a provider's key rotation.
func (p *Provider) RotateKey() error {
	key, err := newKey(p.cfg.Alg)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.key, p.kid = key, "fake-"+randString(6)
	return nil
}

// Close shuts the server down.
func (p *Provider) Close() { p.srv.Close() }

// Issuer returns the issuer URL (http://127.0.0.1:port).
func (p *Provider) Issuer() string { return p.srv.URL }

// ClientID returns the registered client id.
func (p *Provider) ClientID() string { return p.cfg.ClientID }

// ClientSecret returns the registered client secret.
func (p *Provider) ClientSecret() string { return p.cfg.ClientSecret }

// TokenURL returns the token endpoint.
func (p *Provider) TokenURL() string { return p.srv.URL + "/token" }

// SetMisbehavior replaces the misbehaviour; safe for concurrent use.
func (p *Provider) SetMisbehavior(m Misbehavior) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mis = m
}

// SetUser changes who signs in next.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// TokenRequests returns copies of the forms posted to the token endpoint.
func (p *Provider) TokenRequests() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]url.Values, len(p.tokenReqs))
	for i, v := range p.tokenReqs {
		out[i] = url.Values(maps(v))
	}
	return out
}

func maps(v url.Values) map[string][]string {
	m := make(map[string][]string, len(v))
	for k, vs := range v {
		m[k] = slices.Clone(vs)
	}
	return m
}

// OAuthProvider returns an [oauth.Provider] for this fake with its
// endpoints filled in, as [oauth.Discover] would produce.
func (p *Provider) OAuthProvider(redirectURL string) *oauth.Provider {
	return &oauth.Provider{
		Name: "fake", Issuer: p.Issuer(), ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		RedirectURL: redirectURL, Scopes: []string{"openid", "email", "profile"},
		Endpoint:              oauth2.Endpoint{AuthURL: p.srv.URL + "/authorize", TokenURL: p.srv.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader},
		JWKSURL:               p.srv.URL + "/jwks",
		IDTokenAlgs:           []string{p.cfg.Alg},
		UserInfoURL:           p.srv.URL + "/userinfo",
		FetchUserInfo:         true,
		IssParameterSupported: !p.cfg.NoIssParameter,
	}
}

// Authorize plays the user's browser at the authorization endpoint: it
// GETs authURL (as returned by [oauth.Flow.BeginURL]), lets the user
// consent, and returns the redirect back to the client (the callback URL
// with code, state and iss), without following it.
func (p *Provider) Authorize(authURL string) (*url.URL, error) {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("oauthtest: authorize answered %d", resp.StatusCode)
	}
	return resp.Location()
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	mis := p.mis
	p.mu.Unlock()
	iss := p.Issuer()
	if mis.WrongDiscoveryIssuer {
		iss = "https://evil.example"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         p.srv.URL + "/authorize",
		"token_endpoint":                                 p.srv.URL + "/token",
		"userinfo_endpoint":                              p.srv.URL + "/userinfo",
		"jwks_uri":                                       p.srv.URL + "/jwks",
		"response_types_supported":                       []string{"code"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{p.cfg.Alg},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post"},
		"authorization_response_iss_parameter_supported": !p.cfg.NoIssParameter,
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	kid, key := p.kid, p.key
	p.mu.Unlock()
	jwk := map[string]any{"kid": kid, "use": "sig", "alg": p.cfg.Alg}
	switch k := key.Public().(type) {
	case *ecdsa.PublicKey:
		b, _ := k.Bytes() // uncompressed point 0x04 || X || Y
		jwk["kty"], jwk["crv"] = "EC", "P-256"
		jwk["x"], jwk["y"] = b64(b[1:33]), b64(b[33:65])
	case *rsa.PublicKey:
		jwk["kty"] = "RSA"
		jwk["n"], jwk["e"] = b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes())
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{jwk}})
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	mis, user := p.mis, p.user
	p.mu.Unlock()
	redirectURI := q.Get("redirect_uri")
	if q.Get("client_id") != p.cfg.ClientID || !slices.Contains(p.cfg.RedirectURIs, redirectURI) {
		// RFC 6749 §4.1.2.1: never redirect to an unregistered URI.
		http.Error(w, "unknown client or unregistered redirect_uri", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(redirectURI)
	ret := back.Query()
	ret.Set("state", q.Get("state"))
	if !p.cfg.NoIssParameter && !mis.OmitIssParam {
		iss := p.Issuer()
		if mis.WrongIssParam {
			iss = "https://evil.example"
		}
		ret.Set("iss", iss)
	}
	fail := func(code string) {
		ret.Set("error", code)
		back.RawQuery = ret.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	}
	switch {
	case mis.AuthorizeError != "":
		fail(mis.AuthorizeError)
		return
	case q.Get("response_type") != "code":
		fail("unsupported_response_type")
		return
	case !mis.SkipPKCECheck && (q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43):
		fail("invalid_request")
		return
	}
	code := randString(24)
	// The fake signs the user in afresh on every request and satisfies the
	// most preferred acr value asked for.
	var acr string
	if vs := strings.Fields(q.Get("acr_values")); len(vs) > 0 && !mis.IgnoreACRValues {
		acr = vs[0]
	}
	authTime := p.cfg.Now()
	if mis.StaleAuthTime {
		authTime = authTime.Add(-24 * time.Hour)
	}
	p.mu.Lock()
	p.codes[code] = &grant{redirectURI: redirectURI, challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"),
		nonce: q.Get("nonce"), scope: q.Get("scope"), acr: acr, authTime: authTime, user: user}
	p.mu.Unlock()
	ret.Set("code", code)
	back.RawQuery = ret.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	p.mu.Lock()
	p.tokenReqs = append(p.tokenReqs, url.Values(maps(r.PostForm)))
	mis := p.mis
	p.mu.Unlock()
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.cfg.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.cfg.ClientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		p.mu.Lock()
		g := p.codes[r.PostForm.Get("code")]
		delete(p.codes, r.PostForm.Get("code")) // single use
		p.mu.Unlock()
		if g == nil {
			tokenError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		if !mis.SkipRedirectCheck && r.PostForm.Get("redirect_uri") != g.redirectURI {
			tokenError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		if !mis.SkipPKCECheck {
			v := r.PostForm.Get("code_verifier")
			sum := sha256.Sum256([]byte(v))
			if len(v) < 43 || len(v) > 128 || g.method != "S256" || b64(sum[:]) != g.challenge {
				tokenError(w, http.StatusBadRequest, "invalid_grant")
				return
			}
		}
		p.issue(w, g, mis)
	case "refresh_token":
		p.mu.Lock()
		rt := p.refresh[r.PostForm.Get("refresh_token")]
		var user User
		var family string
		status := ""
		switch {
		case rt == nil || rt.revoked:
			status = "invalid_grant"
		case rt.used:
			// RFC 9700 §4.14.2: reuse revokes the whole family.
			for _, o := range p.refresh {
				if o.family == rt.family {
					o.revoked = true
				}
			}
			status = "invalid_grant"
		default:
			rt.used = true
			user, family = rt.user, rt.family
		}
		p.mu.Unlock()
		if status != "" {
			tokenError(w, http.StatusBadRequest, status)
			return
		}
		at := p.newAccess(user)
		writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "token_type": "Bearer",
			"expires_in": int(p.cfg.AccessTokenTTL / time.Second), "refresh_token": p.newRefresh(user, family)})
	case "client_credentials":
		at := p.newAccess(User{Subject: p.cfg.ClientID})
		writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "token_type": "Bearer",
			"expires_in": int(p.cfg.AccessTokenTTL / time.Second), "scope": r.PostForm.Get("scope")})
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

func (p *Provider) newAccess(u User) string {
	at := randString(24)
	p.mu.Lock()
	p.access[at] = u
	p.mu.Unlock()
	return at
}

func (p *Provider) newRefresh(u User, family string) string {
	rt := randString(24)
	if family == "" {
		family = rt
	}
	p.mu.Lock()
	p.refresh[rt] = &refreshToken{family: family, user: u}
	p.mu.Unlock()
	return rt
}

func (p *Provider) issue(w http.ResponseWriter, g *grant, mis Misbehavior) {
	at := p.newAccess(g.user)
	resp := map[string]any{"access_token": at, "token_type": "Bearer",
		"expires_in": int(p.cfg.AccessTokenTTL / time.Second), "refresh_token": p.newRefresh(g.user, ""), "scope": g.scope}
	if slices.Contains(strings.Fields(g.scope), "openid") && !mis.OmitIDToken {
		idt, err := p.idToken(g, at, mis)
		if err != nil {
			tokenError(w, http.StatusInternalServerError, "server_error")
			return
		}
		resp["id_token"] = idt
	}
	writeJSON(w, http.StatusOK, resp)
}

func (p *Provider) idToken(g *grant, accessToken string, mis Misbehavior) (string, error) {
	now := p.cfg.Now()
	c := map[string]any{
		"iss": p.Issuer(), "sub": g.user.Subject, "aud": p.cfg.ClientID,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "auth_time": g.authTime.Unix(),
		"nonce": g.nonce, "at_hash": atHash(accessToken),
		"email": g.user.Email, "email_verified": g.user.EmailVerified, "name": g.user.Name, "picture": g.user.Picture,
	}
	if g.acr != "" {
		c["acr"] = g.acr
	}
	if mis.OmitAuthTime {
		delete(c, "auth_time")
	}
	if mis.WrongIssuer {
		c["iss"] = "https://evil.example"
	}
	if mis.WrongNonce {
		c["nonce"] = "not-" + g.nonce
	}
	if mis.OmitNonce {
		delete(c, "nonce")
	}
	if mis.Expired {
		c["exp"], c["iat"] = now.Add(-time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
	}
	if mis.IssuedInFuture {
		c["iat"] = now.Add(time.Hour).Unix()
	}
	if mis.WrongAudience {
		c["aud"] = "another-client"
	}
	if mis.ExtraAudience {
		c["aud"] = []string{p.cfg.ClientID, "another-client"}
	}
	if mis.WrongAzp {
		c["azp"] = "another-client"
	}
	if mis.WrongAtHash {
		c["at_hash"] = atHash("another-access-token")
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	alg, kid, key := p.cfg.Alg, p.kid, p.key
	p.mu.Unlock()
	switch {
	case mis.HS256ClientSecret:
		hdr := b64(mustJSON(map[string]string{"alg": "HS256", "typ": "JWT"}))
		in := hdr + "." + b64(payload)
		m := hmac.New(sha256.New, []byte(p.cfg.ClientSecret))
		m.Write([]byte(in))
		return in + "." + b64(m.Sum(nil)), nil
	case mis.AlgNone:
		return b64(mustJSON(map[string]string{"alg": "none", "typ": "JWT"})) + "." + b64(payload) + ".", nil
	case mis.BadSignature:
		if key, err = newKey(alg); err != nil {
			return "", err
		}
	}
	typ := "JWT"
	if mis.IDTokenTyp != "" {
		typ = mis.IDTokenTyp
	}
	return signJWS(alg, kid, typ, key, payload)
}

func signJWS(alg, kid, typ string, key crypto.Signer, payload []byte) (string, error) {
	in := b64(mustJSON(map[string]string{"alg": alg, "kid": kid, "typ": typ})) + "." + b64(payload)
	sum := sha256.Sum256([]byte(in))
	var sig []byte
	var err error
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		if r, s, err = ecdsa.Sign(rand.Reader, k, sum[:]); err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	default:
		err = errors.New("oauthtest: unsupported key")
	}
	if err != nil {
		return "", err
	}
	return in + "." + b64(sig), nil
}

func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return b64(sum[:16])
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	u, found := p.access[at]
	mis := p.mis
	p.mu.Unlock()
	if !ok || !found {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	sub := u.Subject
	if mis.UserInfoSubject != "" {
		sub = mis.UserInfoSubject
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": sub, "email": u.Email, "email_verified": u.EmailVerified,
		"name": u.Name, "picture": u.Picture})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v) // only called with maps of strings, which always marshal
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}
