package oauth_test

import (
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/oauth/oauthtest"
	"golang.org/x/oauth2"
)

func ccRequests(fake *oauthtest.Provider) int {
	n := 0
	for _, r := range fake.TokenRequests() {
		if r.Get("grant_type") == "client_credentials" {
			n++
		}
	}
	return n
}

func TestClientCredentials(t *testing.T) {
	t.Run("cached_and_concurrency_safe", func(t *testing.T) {
		e := newEnv(t, envOpts{noStart: true})
		ts, err := oauth.NewClientCredentials(t.Context(), oauth.ClientCredentialsConfig{
			ClientID: e.fake.ClientID(), ClientSecret: e.fake.ClientSecret(), TokenURL: e.fake.TokenURL(),
			Scopes: []string{"api:read"}, EndpointParams: url.Values{"resource": {"https://api.example.com"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		toks := make([]string, 32)
		for i := range toks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := ts.Token()
				if err != nil {
					t.Error(err)
					return
				}
				toks[i] = tok.AccessToken
			}()
		}
		wg.Wait()
		for _, tk := range toks {
			if tk == "" || tk != toks[0] {
				t.Fatalf("callers got different tokens: %q vs %q", tk, toks[0])
			}
		}
		if n := ccRequests(e.fake); n != 1 {
			t.Fatalf("%d token requests, want 1", n)
		}
		r := e.fake.TokenRequests()[0]
		if r.Get("scope") != "api:read" || r.Get("resource") != "https://api.example.com" {
			t.Fatalf("token request %v", r)
		}
	})
	t.Run("refreshed_ahead_of_expiry", func(t *testing.T) {
		e := newEnv(t, envOpts{noStart: true, fakeCfg: func(c *oauthtest.ProviderConfig) { c.AccessTokenTTL = 20 * time.Second }})
		ts, err := oauth.NewClientCredentials(t.Context(), oauth.ClientCredentialsConfig{
			ClientID: e.fake.ClientID(), ClientSecret: e.fake.ClientSecret(), TokenURL: e.fake.TokenURL(),
			EarlyExpiry: 30 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		a, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		b, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		// The 20 s token is inside the 30 s early-expiry window: refetched.
		if a.AccessToken == b.AccessToken || ccRequests(e.fake) != 2 {
			t.Fatalf("token not refreshed ahead of expiry (%d requests)", ccRequests(e.fake))
		}
	})
	t.Run("typed_errors", func(t *testing.T) {
		e := newEnv(t, envOpts{noStart: true})
		ts, err := oauth.NewClientCredentials(t.Context(), oauth.ClientCredentialsConfig{
			ClientID: e.fake.ClientID(), ClientSecret: "wrong", TokenURL: e.fake.TokenURL(),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ts.Token()
		var re *oauth2.RetrieveError
		if !errors.Is(err, oauth.ErrTokenEndpoint) || !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
			t.Fatalf("err = %v, want ErrTokenEndpoint with invalid_client", err)
		}
	})
	t.Run("config", func(t *testing.T) {
		for _, cfg := range []oauth.ClientCredentialsConfig{
			{TokenURL: "https://idp.example/token"},
			{ClientID: "c", TokenURL: "http://idp.example/token"},
			{ClientID: "c", TokenURL: "https://idp.example/token", EarlyExpiry: -1},
		} {
			if _, err := oauth.NewClientCredentials(t.Context(), cfg); !errors.Is(err, oauth.ErrInvalidConfig) {
				t.Errorf("%+v: err = %v", cfg, err)
			}
		}
	})
}
