package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ErrTokenEndpoint reports a failed client credentials token request; the
// chain holds the [*oauth2.RetrieveError] when the endpoint answered with
// an error (RFC 6749 §5.2), e.g. invalid_client.
var ErrTokenEndpoint = errors.New("oauth: client credentials token request failed")

// ClientCredentialsConfig configures [NewClientCredentials].
type ClientCredentialsConfig struct {
	ClientID     string
	ClientSecret string
	// TokenURL: https, or http on a loopback host.
	TokenURL string
	Scopes   []string
	// EndpointParams are extra token request parameters, e.g. audience or
	// resource (RFC 8707) so the token is issued for one API only.
	EndpointParams url.Values
	AuthStyle      oauth2.AuthStyle
	// EarlyExpiry refreshes the token this long before it expires, so a
	// token is never sent when about to lapse. Default 30 s.
	EarlyExpiry time.Duration
	// HTTPClient calls the token endpoint. Default: 10 s timeout.
	HTTPClient *http.Client
}

// NewClientCredentials returns a cached, concurrency-safe token source for
// service-to-service calls with the client credentials grant (RFC 6749
// §4.4): concurrent callers share one token, and one request fetches a new
// one EarlyExpiry before the old expires. Errors match [ErrTokenEndpoint].
// Use it with [oauth2.NewClient]. ctx is kept for the token requests (as
// in x/oauth2) and should outlive the source.
func NewClientCredentials(ctx context.Context, cfg ClientCredentialsConfig) (oauth2.TokenSource, error) {
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("%w: ClientID is required", ErrInvalidConfig)
	}
	if err := checkEndpointURL(cfg.TokenURL); err != nil {
		return nil, fmt.Errorf("%w: TokenURL: %v", ErrInvalidConfig, err)
	}
	if cfg.EarlyExpiry < 0 {
		return nil, fmt.Errorf("%w: EarlyExpiry must not be negative", ErrInvalidConfig)
	}
	if cfg.EarlyExpiry == 0 {
		cfg.EarlyExpiry = 30 * time.Second
	}
	client := cfg.HTTPClient
	if client == nil {
		client = defaultHTTPClient()
	}
	cc := &clientcredentials.Config{
		ClientID:       cfg.ClientID,
		ClientSecret:   cfg.ClientSecret,
		TokenURL:       cfg.TokenURL,
		Scopes:         cfg.Scopes,
		EndpointParams: cfg.EndpointParams,
		AuthStyle:      cfg.AuthStyle,
	}
	hctx := context.WithValue(ctx, oauth2.HTTPClient, client)
	// cc.TokenSource already wraps a reuse source without early expiry,
	// which would hand back the old token; fetch directly instead and let
	// one reuse source cache under its mutex and refresh early.
	base := wrapErrors{src: ccFetch{cc: cc, ctx: hctx}, sentinel: ErrTokenEndpoint}
	return oauth2.ReuseTokenSourceWithExpiry(nil, base, cfg.EarlyExpiry), nil
}

type ccFetch struct {
	cc  *clientcredentials.Config
	ctx context.Context
}

func (f ccFetch) Token() (*oauth2.Token, error) { return f.cc.Token(f.ctx) }
