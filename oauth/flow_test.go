package oauth_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/oauth/oauthtest"
)

func TestLoginHappyPath(t *testing.T) {
	for _, mode := range []string{"cookie", "store"} {
		for _, alg := range []string{"ES256", "RS256"} {
			t.Run(mode+"/"+alg, func(t *testing.T) {
				o := envOpts{fakeCfg: func(c *oauthtest.ProviderConfig) { c.Alg = alg }}
				if mode == "store" {
					o.store = newMemStates(t)
				}
				e := newEnv(t, o)
				res, err := e.login(t, "/dashboard?tab=1")
				if err != nil {
					t.Fatal(err)
				}
				id := res.Identity
				want := oauth.Identity{Issuer: e.fake.Issuer(), Subject: "user-1", Email: "user@example.com",
					EmailVerified: true, Name: "Test User", Picture: "https://example.com/u.png"}
				id.Raw = nil
				if id.AuthTime.IsZero() {
					t.Fatal("AuthTime not set from the id_token's auth_time")
				}
				id.AuthTime = time.Time{}
				if !reflect.DeepEqual(id, want) {
					t.Fatalf("identity = %+v, want %+v", id, want)
				}
				if res.ReturnTo != "/dashboard?tab=1" {
					t.Fatalf("ReturnTo = %q", res.ReturnTo)
				}
				if res.Token == nil || res.Token.AccessToken == "" {
					t.Fatal("no token")
				}
				if res.Identity.Raw["nonce"] == nil || res.Identity.Raw["iss"] != e.fake.Issuer() {
					t.Fatalf("Raw = %v", res.Identity.Raw)
				}
			})
		}
	}
}
