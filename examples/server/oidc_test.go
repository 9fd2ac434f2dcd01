package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/oauth/oauthtest"
)

// newOIDCServer starts the example server with a fake OpenID provider.
func newOIDCServer(t *testing.T, user oauthtest.User, alg string) (*testServer, *oauthtest.Provider) {
	t.Helper()
	return newOIDCServerWith(t, user, func(*Options) {}, alg)
}

// newOIDCServerWith is newOIDCServer with more options.
func newOIDCServerWith(t *testing.T, user oauthtest.User, mutate func(*Options), alg ...string) (*testServer, *oauthtest.Provider) {
	t.Helper()
	var p *oauthtest.Provider
	ts := newTestServer(t, func(o *Options) {
		mutate(o)
		alg := append(alg, "")[0]
		var err error
		p, err = oauthtest.NewProvider(oauthtest.ProviderConfig{
			RedirectURIs: []string{o.BaseURL + "/auth/oauth/oidc/callback"},
			User:         user,
			Alg:          alg,
			Now:          o.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		o.OIDCIssuer, o.OIDCClientID, o.OIDCClientSecret = p.Issuer(), p.ClientID(), p.ClientSecret()
	})
	return ts, p
}

// oidcSignIn runs start → provider → callback with a cookie jar and returns
// the callback's response.
func oidcSignIn(t *testing.T, ts *testServer, p *oauthtest.Provider, c *http.Client) (*http.Response, string) {
	t.Helper()
	resp, body := get(t, c, ts.url+"/auth/oauth/oidc/start?return_to=/account")
	wantStatus(t, resp, body, http.StatusFound)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, p.Issuer()+"/authorize?") || !strings.Contains(loc, "code_challenge_method=S256") {
		t.Fatalf("start redirects to %q", loc)
	}
	tx := rawSetCookie(resp, "__Host-authkit-oauth-oidc")
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(tx, attr) {
			t.Fatalf("transaction cookie %q lacks %s", tx, attr)
		}
	}
	cb, err := p.Authorize(loc)
	if err != nil {
		t.Fatal(err)
	}
	return get(t, c, cb.String())
}

func TestOIDC(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run("first_sign_in_creates_viewer_"+alg, func(t *testing.T) {
			ts, p := newOIDCServer(t, oauthtest.User{Subject: "sub-1", Email: "Oscar@Example.com", EmailVerified: true, Name: "Oscar"}, alg)
			c := newClient(t)
			resp, body := oidcSignIn(t, ts, p, c)
			wantStatus(t, resp, body, http.StatusFound)
			if loc := resp.Header.Get("Location"); loc != "/account" {
				t.Fatalf("callback redirects to %q", loc)
			}
			wantCookie(t, resp, accessName, accessCookie)
			wantCookie(t, resp, refreshName, refreshCookie)
			resp, body = get(t, c, ts.url+"/api/me")
			wantStatus(t, resp, body, 200)
			var u userResp
			_ = json.Unmarshal([]byte(body), &u)
			if u.Email != "oscar@example.com" || len(u.Roles) != 1 || u.Roles[0] != "viewer" {
				t.Fatalf("/api/me %s", body)
			}
			// The UI is signed in as well.
			resp, body = get(t, c, ts.url+"/account")
			wantStatus(t, resp, body, 200)
			// A second sign-in finds the same account.
			resp, body = oidcSignIn(t, ts, p, newClient(t))
			wantStatus(t, resp, body, http.StatusFound)
			if n, _ := ts.app.accounts.CountUsers(t.Context()); n != 1 {
				t.Fatalf("accounts after two sign-ins: %d", n)
			}
		})
	}

	t.Run("409_account_exists_when_local_email_unverified", func(t *testing.T) {
		ts, p := newOIDCServer(t, oauthtest.User{Subject: "sub-2", Email: "pam@example.com", EmailVerified: true}, "")
		newAPI(t, ts).signup("pam@example.com", pw1) // local email not verified
		resp, body := oidcSignIn(t, ts, p, newClient(t))
		errCode(t, resp, body, http.StatusConflict, "account_exists")
		wantNoCookiesNamed(t, resp, accessName, refreshName)
	})

	t.Run("409_account_exists_when_provider_email_unverified", func(t *testing.T) {
		ts, p := newOIDCServer(t, oauthtest.User{Subject: "sub-3", Email: "quinn@example.com", EmailVerified: false}, "")
		newAPI(t, ts).signup("quinn@example.com", pw1)
		if err := ts.app.accounts.SetEmailVerified(t.Context(), mustUser(t, ts, "quinn@example.com")); err != nil {
			t.Fatal(err)
		}
		resp, body := oidcSignIn(t, ts, p, newClient(t))
		errCode(t, resp, body, http.StatusConflict, "account_exists")
	})

	// Account pre-hijacking: an attacker signs in at a provider that does
	// not verify emails, claiming the victim's address first. The account
	// created for that identity must not take the victim's login name: the
	// victim can still sign up, and the two accounts never merge.
	t.Run("unverified_provider_email_claims_no_login_name", func(t *testing.T) {
		{
			ts, p := newOIDCServer(t, oauthtest.User{Subject: "sub-6", Email: "Victor@example.com", EmailVerified: false}, "")
			attacker := newClient(t)
			resp, body := oidcSignIn(t, ts, p, attacker)
			wantStatus(t, resp, body, http.StatusFound)
			attackerID, found, err := ts.app.accounts.UserByIdentity(t.Context(), p.Issuer(), "sub-6")
			if err != nil || !found {
				t.Fatalf("identity not linked: %v %v", found, err)
			}
			if _, taken, _ := ts.app.accounts.UserByLogin(t.Context(), "victor@example.com"); taken {
				t.Fatal("the unverified provider email became a login name")
			}
			victim := newAPI(t, ts).signup("victor@example.com", pw1) // 201, not 409
			if victim.ID == attackerID {
				t.Fatal("victim's sign-up landed on the attacker's account")
			}
			// The attacker's next sign-in stays on its own account.
			resp, body = oidcSignIn(t, ts, p, newClient(t))
			wantStatus(t, resp, body, http.StatusFound)
			if id, _, _ := ts.app.accounts.UserByIdentity(t.Context(), p.Issuer(), "sub-6"); id != attackerID {
				t.Fatalf("identity moved to %s", id)
			}
			if n, _ := ts.app.accounts.CountUsers(t.Context()); n != 2 {
				t.Fatalf("accounts: %d, want 2", n)
			}
		}
	})

	t.Run("identity_without_email_gets_placeholder_login", func(t *testing.T) {
		ts, p := newOIDCServer(t, oauthtest.User{Subject: "sub-7"}, "")
		resp, body := oidcSignIn(t, ts, p, newClient(t))
		wantStatus(t, resp, body, http.StatusFound)
		uid, _, _ := ts.app.accounts.UserByIdentity(t.Context(), p.Issuer(), "sub-7")
		u, found, err := ts.app.accounts.UserByID(t.Context(), uid)
		if err != nil || !found || !strings.HasSuffix(u.Email, "@"+placeholderDomain) || u.EmailVerified {
			t.Fatalf("account %+v found=%v err=%v", u, found, err)
		}
	})

	t.Run("links_when_both_emails_verified", func(t *testing.T) {
		ts, p := newOIDCServer(t, oauthtest.User{Subject: "sub-4", Email: "rita@example.com", EmailVerified: true}, "")
		newAPI(t, ts).signup("rita@example.com", pw1)
		id := mustUser(t, ts, "rita@example.com")
		if err := ts.app.accounts.SetEmailVerified(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		c := newClient(t)
		resp, body := oidcSignIn(t, ts, p, c)
		wantStatus(t, resp, body, http.StatusFound)
		_, body = get(t, c, ts.url+"/api/me")
		if !strings.Contains(body, `"id":"`+id+`"`) {
			t.Fatalf("linked to another account: %s", body)
		}
	})

	t.Run("state_mismatch_refused", func(t *testing.T) {
		ts, p := newOIDCServer(t, oauthtest.User{Subject: "sub-5", Email: "sam@example.com", EmailVerified: true}, "")
		c := newClient(t)
		resp, _ := get(t, c, ts.url+"/auth/oauth/oidc/start")
		cb, err := p.Authorize(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		// Another browser (no transaction cookie) cannot complete it.
		resp, body := get(t, newClient(t), cb.String())
		errCode(t, resp, body, http.StatusBadRequest, "oauth_failed")
		wantNoCookiesNamed(t, resp, accessName, refreshName)
	})
}

func mustUser(t *testing.T, ts *testServer, login string) string {
	t.Helper()
	u, found, err := ts.app.accounts.UserByLogin(t.Context(), login)
	if err != nil || !found {
		t.Fatalf("user %s: found=%v err=%v", login, found, err)
	}
	return u.ID
}

func wantNoCookiesNamed(t *testing.T, resp *http.Response, names ...string) {
	t.Helper()
	for _, n := range names {
		if c := setCookie(t, resp, n); c != nil && c.MaxAge >= 0 {
			t.Fatalf("unexpected cookie %s", rawSetCookie(resp, n))
		}
	}
}
