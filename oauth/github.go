package oauth

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// GitHubConfig configures [GitHub]. The URL fields exist for tests and
// GitHub Enterprise Server; zero values mean github.com.
type GitHubConfig struct {
	ClientConfig
	// AuthURL default https://github.com/login/oauth/authorize.
	AuthURL string
	// TokenURL default https://github.com/login/oauth/access_token.
	TokenURL string
	// APIURL default https://api.github.com (no trailing slash).
	APIURL string
	// Issuer namespaces the identities; default https://github.com.
	Issuer string
}

// GitHub returns a plain OAuth 2.0 provider for GitHub, which has no
// OpenID Connect for user sign-in. The identity comes from the user API
// (GET /user: the numeric id is the subject, never the renameable login),
// and the email from GET /user/emails: only the primary address marked
// verified sets [Identity.EmailVerified]. Default scopes: read:user,
// user:email. PKCE S256 is sent as with every provider.
func GitHub(cfg GitHubConfig) *Provider {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{"read:user", "user:email"}
	}
	api := strings.TrimSuffix(def(cfg.APIURL, "https://api.github.com"), "/")
	iss := def(cfg.Issuer, "https://github.com")
	return &Provider{
		Name:         "github",
		Issuer:       iss,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   def(cfg.AuthURL, "https://github.com/login/oauth/authorize"),
			TokenURL:  def(cfg.TokenURL, "https://github.com/login/oauth/access_token"),
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Identify: func(ctx context.Context, client *http.Client, tok *oauth2.Token) (Identity, error) {
			return githubIdentity(ctx, client, api, iss, tok.AccessToken)
		},
	}
}

func githubIdentity(ctx context.Context, client *http.Client, api, iss, accessToken string) (Identity, error) {
	var user map[string]any
	if err := getJSON(ctx, client, api+"/user", accessToken, &user); err != nil {
		return Identity{}, fmt.Errorf("%w: github user: %w", ErrUserInfo, err)
	}
	idf, ok := user["id"].(float64)
	if !ok || idf < 1 || idf != float64(int64(idf)) {
		return Identity{}, fmt.Errorf("%w: github user without a numeric id", ErrUserInfo)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := getJSON(ctx, client, api+"/user/emails", accessToken, &emails); err != nil {
		return Identity{}, fmt.Errorf("%w: github emails: %w", ErrUserInfo, err)
	}
	id := Identity{
		Issuer:  iss,
		Subject: strconv.FormatInt(int64(idf), 10),
		Raw:     user,
	}
	id.Name, _ = user["name"].(string)
	if id.Name == "" {
		id.Name, _ = user["login"].(string)
	}
	id.Picture, _ = user["avatar_url"].(string)
	for _, e := range emails {
		if e.Primary && e.Verified && e.Email != "" {
			id.Email, id.EmailVerified = e.Email, true
			break
		}
	}
	if id.Email == "" {
		id.Email, _ = user["email"].(string) // public profile email: not proven verified
	}
	return id, nil
}
