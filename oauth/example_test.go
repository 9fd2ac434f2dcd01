package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"

	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/oauth/oauthtest"
	"golang.org/x/oauth2"
)

// Sign in with Google: the endpoints are built in, so no discovery request
// is needed. Mount Begin and Callback on your routes.
func ExampleGoogle() {
	p := oauth.Google(oauth.ClientConfig{
		ClientID:     "1234.apps.googleusercontent.com",
		ClientSecret: "from-your-secret-store",
		RedirectURL:  "https://app.example.com/auth/oauth/google/callback",
	})
	flow, err := oauth.New(oauth.Config{
		Provider:  p,
		CookieKey: make([]byte, 32), // a dedicated random 32-byte key in production
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/oauth/google/start", func(w http.ResponseWriter, r *http.Request) {
		if err := flow.Begin(w, r, r.URL.Query().Get("return_to")); err != nil {
			http.Error(w, "sign-in unavailable", http.StatusInternalServerError)
		}
	})
	fmt.Println(p.Issuer, p.IDTokenAlgs, p.Scopes)
	// Output: https://accounts.google.com [RS256] [openid email profile]
}

// Sign in with GitHub (plain OAuth 2.0): the identity comes from GitHub's
// user API and only a verified primary email counts as verified.
func ExampleGitHub() {
	p := oauth.GitHub(oauth.GitHubConfig{ClientConfig: oauth.ClientConfig{
		ClientID:     "Iv1.0123456789abcdef",
		ClientSecret: "from-your-secret-store",
		RedirectURL:  "https://app.example.com/auth/oauth/github/callback",
	}})
	if _, err := oauth.New(oauth.Config{Provider: p, CookieKey: make([]byte, 32)}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Issuer, p.Endpoint.AuthURL, p.Scopes)
	// Output: https://github.com https://github.com/login/oauth/authorize [read:user user:email]
}

// Any OpenID provider by discovery, here the in-process fake provider:
// Begin, the user signs in at the provider, Callback returns the identity.
func ExampleDiscover() {
	const redirect = "https://app.example.com/auth/oauth/oidc/callback"
	idp, err := oauthtest.NewProvider(oauthtest.ProviderConfig{RedirectURIs: []string{redirect}})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	ctx := context.Background()
	p, err := oauth.Discover(ctx, oauth.OIDCConfig{
		Issuer:       idp.Issuer(), // http is accepted for loopback issuers only
		ClientID:     idp.ClientID(),
		ClientSecret: idp.ClientSecret(),
		RedirectURL:  redirect,
	})
	if err != nil {
		log.Fatal(err)
	}
	flow, err := oauth.New(oauth.Config{Provider: p, CookieKey: make([]byte, 32)})
	if err != nil {
		log.Fatal(err)
	}
	if err := flow.Start(ctx); err != nil { // starts the JWKS refresh
		log.Fatal(err)
	}
	defer flow.Close()

	begin := httptest.NewRecorder()
	authURL, err := flow.BeginURL(ctx, begin, "/welcome")
	if err != nil {
		log.Fatal(err)
	}
	callbackURL, err := idp.Authorize(authURL) // the user signs in and consents
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, callbackURL.String(), nil)
	req.AddCookie(begin.Result().Cookies()[0])
	res, err := flow.Callback(httptest.NewRecorder(), req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Identity.Subject, res.Identity.Email, res.Identity.EmailVerified, res.ReturnTo)
	// Output: user-1 user@example.com true /welcome
}

// A token source for calling another service with the client credentials
// grant; tokens are cached and refreshed ahead of expiry.
func ExampleNewClientCredentials() {
	idp, err := oauthtest.NewProvider(oauthtest.ProviderConfig{RedirectURIs: []string{"https://unused.example/cb"}})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	ts, err := oauth.NewClientCredentials(context.Background(), oauth.ClientCredentialsConfig{
		ClientID:       idp.ClientID(),
		ClientSecret:   idp.ClientSecret(),
		TokenURL:       idp.TokenURL(),
		Scopes:         []string{"reports:read"},
		EndpointParams: url.Values{"resource": {"https://reports.example.com"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	client := oauth2.NewClient(context.Background(), ts) // adds the bearer token
	_ = client
	a, _ := ts.Token()
	b, _ := ts.Token()
	fmt.Println(a.AccessToken == b.AccessToken, a.Type())
	// Output: true Bearer
}

func ExampleSafeReturnTo() {
	allowed := []string{"https://app.example.com"}
	for _, in := range []string{"/settings", "//evil.com", "https://app.example.com/x", "https://app.example.com@evil.com"} {
		fmt.Println(oauth.SafeReturnTo(in, allowed))
	}
	// Output:
	// /settings
	// /
	// https://app.example.com/x
	// /
}

// Link identities to local accounts; see the package documentation for why
// emails are matched only when verified on both sides.
func ExampleLinker() {
	var users oauth.IdentityStore // your user table
	l := oauth.Linker{Store: users}
	_ = l
	// In the callback handler:
	//   uid, _, err := l.Resolve(ctx, res.Identity)
	//   if errors.Is(err, oauth.ErrAccountExists) { /* 409 account_exists */ }
	fmt.Fprintln(os.Stdout, oauth.ErrAccountExists)
	// Output: oauth: an account with this email already exists
}

// Handlers for the start and callback routes, with account linking and
// vague client-facing errors.
func ExampleFlow_Callback() {
	var flow *oauth.Flow          // from oauth.New, Start called at startup
	var users oauth.IdentityStore // your user table
	linker := oauth.Linker{Store: users}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/oauth/oidc/start", func(w http.ResponseWriter, r *http.Request) {
		if err := flow.Begin(w, r, r.URL.Query().Get("return_to")); err != nil {
			http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /auth/oauth/oidc/callback", func(w http.ResponseWriter, r *http.Request) {
		res, err := flow.Callback(w, r)
		if err != nil {
			log.Printf("oidc callback: %v", err) // log the detail, answer vaguely
			http.Error(w, `{"error":"oauth_failed"}`, http.StatusBadRequest)
			return
		}
		userID, _, err := linker.Resolve(r.Context(), res.Identity)
		switch {
		case errors.Is(err, oauth.ErrAccountExists):
			http.Error(w, `{"error":"account_exists"}`, http.StatusConflict)
			return
		case err != nil:
			http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
			return
		}
		_ = userID // start the session or issue tokens for userID here
		http.Redirect(w, r, res.ReturnTo, http.StatusFound)
	})
}

// Step up when another API answers 401 with an RFC 9470 challenge: parse
// it, send the user back to the provider with its acr_values and max_age,
// and check at the callback what the provider returned.
func ExampleParseStepUpChallenge() {
	fake, _ := oauthtest.NewProvider(oauthtest.ProviderConfig{RedirectURIs: []string{"https://app.example.com/callback"}})
	defer fake.Close()
	flow, _ := oauth.New(oauth.Config{Provider: fake.OAuthProvider("https://app.example.com/callback"), CookieKey: make([]byte, 32)})

	// The resource server's answer to the current access token.
	api := http.Header{}
	api.Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", `+
		`error_description="A more recent sign-in is required", acr_values="urn:example:mfa", max_age=300`)
	c, err := oauth.ParseStepUpChallenge(api)
	if err != nil {
		fmt.Println("no step-up:", err)
		return
	}
	w := httptest.NewRecorder()
	authURL, err := flow.BeginStepUpURL(context.Background(), w, "/payments", c)
	if err != nil {
		fmt.Println(err)
		return
	}
	q, _ := url.Parse(authURL)
	fmt.Println("acr_values:", q.Query().Get("acr_values"))
	fmt.Println("max_age:", q.Query().Get("max_age"))
	fmt.Println("PKCE:", q.Query().Get("code_challenge_method"))
	// At the callback, flow.Callback refuses an id_token whose auth_time is
	// missing or older than max_age; res.Identity.ACR is the acr the
	// provider reports, to compare with c.ACRValues.
	// Output:
	// acr_values: urn:example:mfa
	// max_age: 300
	// PKCE: S256
}
