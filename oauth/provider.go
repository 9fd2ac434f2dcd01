package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authkit-go/authkit/internal/safehttp"
	"golang.org/x/oauth2"
)

// IdentifyFunc builds the [Identity] for a provider without OpenID Connect
// (no id_token), from the provider's own user API. client is the flow's
// HTTP client; tok is the token response of the code exchange. See [GitHub].
type IdentifyFunc func(ctx context.Context, client *http.Client, tok *oauth2.Token) (Identity, error)

// Provider describes one authorization server and this application's
// registration at it. Build one with [Discover] (any OpenID provider),
// [Google] or [GitHub], or fill the struct yourself to add another
// provider: set JWKSURL for an OpenID provider (the id_token is then
// required and verified), or Identify for a plain OAuth 2.0 provider.
//
// A Provider is read-only once passed to [New].
type Provider struct {
	// Name identifies the provider in cookie names and logs, e.g.
	// "google". Letters, digits, '-' and '_' only.
	Name string

	// Issuer is the provider's issuer identifier. For an OpenID provider it
	// must equal the id_token iss claim exactly (OIDC Core §3.1.3.7). It is
	// also the expected RFC 9207 iss response parameter and the namespace
	// of [Identity.Subject]. Required.
	Issuer string

	// ClientID and ClientSecret are this application's registration.
	ClientID     string
	ClientSecret string

	// RedirectURL is the callback URL registered at the provider, sent
	// byte-for-byte in both the authorization and the token request
	// (RFC 9700 §4.1: exact matching). https, or http on a loopback host.
	RedirectURL string

	// Scopes requested. OpenID providers need "openid".
	Scopes []string

	// Endpoint holds the authorization and token endpoints.
	Endpoint oauth2.Endpoint

	// JWKSURL is the provider's JSON Web Key Set. Setting it makes this an
	// OpenID provider: every callback must carry an id_token that verifies
	// against this key set.
	JWKSURL string

	// IDTokenAlgs is the id_token signature algorithm allow-list (RFC 8725
	// §3.1). Asymmetric algorithms only: HS256 tokens keyed with the client
	// secret and "none" are refused. Empty means RS256 (the OIDC default).
	IDTokenAlgs []string

	// UserInfoURL and FetchUserInfo: when FetchUserInfo is set, the
	// userinfo endpoint is called after the exchange and its claims are
	// merged into the [Identity]; its sub must equal the id_token's
	// (OIDC Core §5.3.4).
	UserInfoURL   string
	FetchUserInfo bool

	// IssParameterSupported records the provider's
	// authorization_response_iss_parameter_supported: when true a callback
	// without the iss parameter is rejected (RFC 9207 §2.4). A mismatched
	// iss parameter is rejected regardless.
	IssParameterSupported bool

	// MaxAge, when positive, is sent as max_age and the id_token must then
	// carry an auth_time no older than it (OIDC Core §3.1.2.1).
	MaxAge time.Duration

	// AuthParams are extra authorization request parameters (e.g. prompt,
	// hd, login_hint). They cannot override the parameters the flow sets.
	AuthParams url.Values

	// Identify builds the identity for a provider without OpenID Connect.
	// Exactly one of JWKSURL and Identify must be set.
	Identify IdentifyFunc
}

// supportedAlgs are the asymmetric JWS algorithms accepted for id_tokens:
// those the jwt package verifies.
var supportedAlgs = []string{"RS256", "PS256", "ES256", "EdDSA"}

func (p *Provider) oidc() bool { return p.JWKSURL != "" }

func (p *Provider) algs() []string {
	if len(p.IDTokenAlgs) == 0 {
		return []string{"RS256"}
	}
	return p.IDTokenAlgs
}

func (p *Provider) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: provider %q: %s", ErrInvalidConfig, p.Name, fmt.Sprintf(format, a...))
	}
	if p.Name == "" || strings.IndexFunc(p.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		return bad("Name must be non-empty letters, digits, '-' or '_'")
	}
	if p.Issuer == "" {
		return bad("Issuer is required")
	}
	if p.ClientID == "" {
		return bad("ClientID is required")
	}
	if err := checkEndpointURL(p.RedirectURL); err != nil {
		return bad("RedirectURL: %v", err)
	}
	if u, _ := url.Parse(p.RedirectURL); u.Fragment != "" || u.RawFragment != "" {
		return bad("RedirectURL must not have a fragment")
	}
	if err := checkEndpointURL(p.Endpoint.AuthURL); err != nil {
		return bad("Endpoint.AuthURL: %v", err)
	}
	if err := checkEndpointURL(p.Endpoint.TokenURL); err != nil {
		return bad("Endpoint.TokenURL: %v", err)
	}
	if p.oidc() == (p.Identify != nil) {
		return bad("exactly one of JWKSURL (OpenID Connect) and Identify (plain OAuth 2.0) must be set")
	}
	if p.oidc() {
		if err := checkEndpointURL(p.JWKSURL); err != nil {
			return bad("JWKSURL: %v", err)
		}
		if err := checkEndpointURL(p.Issuer); err != nil {
			return bad("Issuer: %v", err)
		}
		if !slices.Contains(p.Scopes, "openid") {
			return bad(`an OpenID provider needs the "openid" scope`)
		}
		for _, a := range p.IDTokenAlgs {
			if !slices.Contains(supportedAlgs, a) {
				return bad("IDTokenAlgs: %q is not an accepted asymmetric algorithm", a)
			}
		}
	}
	if p.FetchUserInfo {
		if err := checkEndpointURL(p.UserInfoURL); err != nil {
			return bad("UserInfoURL: %v", err)
		}
	}
	if p.MaxAge < 0 {
		return bad("MaxAge must not be negative")
	}
	return nil
}

// checkEndpointURL accepts absolute https URLs, and http ones only on a
// loopback host (RFC 8252 §7.3; DESIGN: plain http only for loopback).
func checkEndpointURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Host == "" || u.User != nil {
		return fmt.Errorf("%q must be an absolute URL without user info", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%q must use https (http only on a loopback host)", raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// OIDCConfig configures [Discover].
type OIDCConfig struct {
	// Name: see [Provider.Name]. Default "oidc".
	Name string
	// Issuer is the issuer URL; the discovery document's issuer must equal
	// it exactly (OIDC Discovery §4.3). https, or http on a loopback host.
	Issuer                 string
	ClientID, ClientSecret string
	RedirectURL            string
	// Scopes default to openid, email, profile.
	Scopes []string
	// IDTokenAlgs, when set, must all be advertised by the provider.
	// Empty means every advertised asymmetric algorithm.
	IDTokenAlgs []string
	// SkipUserInfo leaves the userinfo endpoint alone even when the
	// provider has one.
	SkipUserInfo bool
	// MaxAge: see [Provider.MaxAge].
	MaxAge time.Duration
	// HTTPClient fetches the document. Default: a client with a 10 s
	// timeout. A redirect to another host or from https to http is refused
	// either way.
	HTTPClient *http.Client
}

// metadata is the subset of the OpenID provider configuration (OIDC
// Discovery §3, RFC 8414 §2, RFC 9207 §3) that authkit uses.
type metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserInfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	AuthorizationResponseIssParameter bool     `json:"authorization_response_iss_parameter_supported"`
}

const maxDocumentSize = 1 << 20

// Discover fetches the issuer's OpenID provider configuration
// (/.well-known/openid-configuration) once and returns a [Provider] built
// from it. Keep the result for the life of the process (it is the cache);
// signing keys rotate through the JWKS, which the flow refreshes itself.
//
// The document's issuer must equal cfg.Issuer exactly, every endpoint must
// be https (http only for a loopback issuer), the code response type and
// PKCE S256 must not be excluded, and at least one asymmetric id_token
// algorithm must be on offer.
func Discover(ctx context.Context, cfg OIDCConfig) (*Provider, error) {
	if err := checkEndpointURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("%w: Issuer: %v", ErrInvalidConfig, err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = defaultHTTPClient()
	}
	wellKnown := strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	var md metadata
	if err := getJSON(ctx, client, wellKnown, "", &md); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	if md.Issuer != cfg.Issuer {
		return nil, fmt.Errorf("%w: document issuer %q differs from configured %q", ErrDiscovery, md.Issuer, cfg.Issuer)
	}
	loopbackIssuer := false
	if u, _ := url.Parse(cfg.Issuer); u != nil && u.Scheme == "http" {
		loopbackIssuer = true
	}
	for _, e := range []struct{ name, v string }{
		{"authorization_endpoint", md.AuthorizationEndpoint},
		{"token_endpoint", md.TokenEndpoint},
		{"jwks_uri", md.JWKSURI},
	} {
		if err := checkDiscoveredURL(e.v, loopbackIssuer); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrDiscovery, e.name, err)
		}
	}
	if md.UserInfoEndpoint != "" {
		if err := checkDiscoveredURL(md.UserInfoEndpoint, loopbackIssuer); err != nil {
			return nil, fmt.Errorf("%w: userinfo_endpoint: %v", ErrDiscovery, err)
		}
	}
	if len(md.ResponseTypesSupported) > 0 && !slices.Contains(md.ResponseTypesSupported, "code") {
		return nil, fmt.Errorf("%w: response type code not supported", ErrDiscovery)
	}
	if len(md.CodeChallengeMethodsSupported) > 0 && !slices.Contains(md.CodeChallengeMethodsSupported, "S256") {
		return nil, fmt.Errorf("%w: PKCE S256 not supported", ErrDiscovery)
	}
	advertised := md.IDTokenSigningAlgValuesSupported
	if len(advertised) == 0 {
		advertised = []string{"RS256"} // OIDC Discovery §3: RS256 MUST be included
	}
	var algs []string
	if len(cfg.IDTokenAlgs) > 0 {
		for _, a := range cfg.IDTokenAlgs {
			if !slices.Contains(advertised, a) {
				return nil, fmt.Errorf("%w: id_token algorithm %q not advertised by the provider", ErrDiscovery, a)
			}
			algs = append(algs, a)
		}
	} else {
		for _, a := range advertised {
			if slices.Contains(supportedAlgs, a) {
				algs = append(algs, a)
			}
		}
		if len(algs) == 0 {
			return nil, fmt.Errorf("%w: no asymmetric id_token algorithm advertised (%v)", ErrDiscovery, advertised)
		}
	}
	name := cfg.Name
	if name == "" {
		name = "oidc"
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{"openid", "email", "profile"}
	}
	authStyle := oauth2.AuthStyleInHeader
	if len(md.TokenEndpointAuthMethodsSupported) > 0 &&
		!slices.Contains(md.TokenEndpointAuthMethodsSupported, "client_secret_basic") &&
		slices.Contains(md.TokenEndpointAuthMethodsSupported, "client_secret_post") {
		authStyle = oauth2.AuthStyleInParams
	}
	p := &Provider{
		Name:                  name,
		Issuer:                md.Issuer,
		ClientID:              cfg.ClientID,
		ClientSecret:          cfg.ClientSecret,
		RedirectURL:           cfg.RedirectURL,
		Scopes:                scopes,
		Endpoint:              oauth2.Endpoint{AuthURL: md.AuthorizationEndpoint, TokenURL: md.TokenEndpoint, AuthStyle: authStyle},
		JWKSURL:               md.JWKSURI,
		IDTokenAlgs:           algs,
		UserInfoURL:           md.UserInfoEndpoint,
		FetchUserInfo:         md.UserInfoEndpoint != "" && !cfg.SkipUserInfo,
		IssParameterSupported: md.AuthorizationResponseIssParameter,
		MaxAge:                cfg.MaxAge,
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func checkDiscoveredURL(raw string, loopbackIssuer bool) error {
	if err := checkEndpointURL(raw); err != nil {
		return err
	}
	if u, _ := url.Parse(raw); u.Scheme == "http" && !loopbackIssuer {
		return fmt.Errorf("%q: http endpoint for an https issuer", raw)
	}
	return nil
}

func defaultHTTPClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

// getJSON GETs u and decodes a JSON object of at most 1 MiB into v. A
// redirect to another host or from https to http is refused: metadata, keys
// and user info come from the host that was asked.
func getJSON(ctx context.Context, client *http.Client, u, bearer string, v any) error {
	client = safehttp.SameHostRedirects(client, 10*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize+1))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	if len(body) > maxDocumentSize {
		return fmt.Errorf("GET %s: response larger than %d bytes", u, maxDocumentSize)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// ClientConfig is this application's registration at a well-known provider.
type ClientConfig struct {
	ClientID     string
	ClientSecret string
	// RedirectURL: see [Provider.RedirectURL].
	RedirectURL string
	// Scopes replace the provider's defaults when set.
	Scopes []string
}

// Google returns the Google OpenID provider (issuer https://accounts.google.com)
// with its published endpoints, so no discovery request is needed. Default
// scopes: openid, email, profile. id_tokens are RS256; userinfo is fetched.
//
// Google documents that some id_tokens carry iss "accounts.google.com"
// without the scheme; authkit compares iss exactly (OIDC Core §3.1.3.7)
// and refuses those, which does not happen in the web authorization code
// flow built here.
func Google(cfg ClientConfig) *Provider {
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{"openid", "email", "profile"}
	}
	return &Provider{
		Name:         "google",
		Issuer:       "https://accounts.google.com",
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://accounts.google.com/o/oauth2/v2/auth",
			TokenURL:  "https://oauth2.googleapis.com/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		JWKSURL:       "https://www.googleapis.com/oauth2/v3/certs",
		IDTokenAlgs:   []string{"RS256"},
		UserInfoURL:   "https://openidconnect.googleapis.com/v1/userinfo",
		FetchUserInfo: true,
		// Google's discovery document does not advertise RFC 9207.
		IssParameterSupported: false,
	}
}
