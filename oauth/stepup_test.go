package oauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/oauth/oauthtest"
)

func wwwAuth(vs ...string) http.Header {
	h := http.Header{}
	for _, v := range vs {
		h.Add("WWW-Authenticate", v)
	}
	return h
}

func TestParseStepUpChallenge(t *testing.T) {
	good := []struct {
		name   string
		fields []string
		want   oauth.StepUpChallenge
	}{
		{"RFC 9470 acr example", []string{`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"`},
			oauth.StepUpChallenge{Description: "A different authentication level is required", ACRValues: []string{"myACR"}}},
		{"RFC 9470 max_age example", []string{`Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"`},
			oauth.StepUpChallenge{Description: "More recent authentication is required", MaxAge: 5 * time.Second, HasMaxAge: true}},
		{"token values, odd spacing and case", []string{`bearer   ERROR = insufficient_user_authentication ,MAX_AGE=0,acr_values="urn:a  b"`},
			oauth.StepUpChallenge{ACRValues: []string{"urn:a", "b"}, HasMaxAge: true}},
		{"after other challenges in one field", []string{`Basic realm="x", Negotiate YWJj==, DPoP algs="ES256", Bearer realm="api", error="insufficient_user_authentication", max_age=300`},
			oauth.StepUpChallenge{MaxAge: 300 * time.Second, HasMaxAge: true}},
		{"in a second field", []string{`Bearer error="invalid_token"`, `Bearer error="insufficient_user_authentication", acr_values="gold silver"`},
			oauth.StepUpChallenge{ACRValues: []string{"gold", "silver"}}},
		{"escaped quote in another param", []string{`Bearer realm="a \"b\" c", error="insufficient_user_authentication"`},
			oauth.StepUpChallenge{}},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			got, err := oauth.ParseStepUpChallenge(wwwAuth(c.fields...))
			if err != nil {
				t.Fatal(err)
			}
			if got.Description != c.want.Description || !slices.Equal(got.ACRValues, c.want.ACRValues) ||
				got.MaxAge != c.want.MaxAge || got.HasMaxAge != c.want.HasMaxAge {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
	none := [][]string{
		nil,
		{`Bearer error="invalid_token"`},
		{`Bearer`},
		{`DPoP error="insufficient_user_authentication"`},
		{`Basic realm="insufficient_user_authentication"`},
	}
	for _, f := range none {
		if _, err := oauth.ParseStepUpChallenge(wwwAuth(f...)); !errors.Is(err, oauth.ErrNoStepUpChallenge) {
			t.Errorf("%q: err %v, want ErrNoStepUpChallenge", f, err)
		}
	}
	bad := []string{
		`Bearer error="insufficient_user_authentication", max_age="-1"`,
		`Bearer error="insufficient_user_authentication", max_age="1.5"`,
		`Bearer error="insufficient_user_authentication", max_age=""`,
		`Bearer error="insufficient_user_authentication", max_age="9999999999"`,
		`Bearer error="insufficient_user_authentication", max_age=5, max_age=6`,
		`Bearer error="insufficient_user_authentication", acr_values="a` + "\x01" + `"`,
		`Bearer error="insufficient_user_authentication", acr_values="` + strings.Repeat("a ", 17) + `"`,
		`Bearer error="insufficient_user_authentication", error_description="caf` + "\xc3\xa9" + `"`,
		`Bearer error="insufficient_user_authentication", acr_values="unterminated`,
		`Bearer error="insufficient_user_authentication" acr_values="x"`,
		`Bearer error="insufficient_user_authentication", ="x"`,
		`Bearer error="insufficient_user_authentication", max_age=`,
		`Bearer error="insufficient_user_authentication", ` + strings.Repeat("x", 9000),
	}
	for _, f := range bad {
		if _, err := oauth.ParseStepUpChallenge(wwwAuth(f)); !errors.Is(err, oauth.ErrChallenge) {
			t.Errorf("%.80q: err %v, want ErrChallenge", f, err)
		}
	}
}

// stepUp answers c: BeginStepUp → provider → Callback; it returns the
// authorization URL the flow built and the callback's result.
func (e *env) stepUp(t *testing.T, c oauth.StepUpChallenge) (authURL string, res *oauth.Result, err error) {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := e.flow.BeginStepUp(rec, httptest.NewRequest(http.MethodGet, "https://app.example.com/step-up", nil), "/pay", c); err != nil {
		t.Fatal(err)
	}
	authURL = rec.Header().Get("Location")
	cks := rec.Result().Cookies()
	if rec.Code != http.StatusFound || len(cks) != 1 {
		t.Fatalf("BeginStepUp: status %d, %d cookies", rec.Code, len(cks))
	}
	cb, err := e.fake.Authorize(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err = e.callback(t, cb.String(), cks[0])
	return authURL, res, err
}

func TestStepUpRequestCarriesChallenge(t *testing.T) {
	for _, mode := range []string{"cookie", "store"} {
		t.Run(mode, func(t *testing.T) {
			o := envOpts{provider: func(p *oauth.Provider) {
				p.MaxAge = time.Hour
				p.AuthParams = map[string][]string{"acr_values": {"bronze"}}
			}}
			if mode == "store" {
				o.store = newMemStates(t)
			}
			e := newEnv(t, o)
			resp := &http.Response{Header: wwwAuth(`Bearer error="insufficient_user_authentication", acr_values="gold silver", max_age=0`)}
			c, err := oauth.ParseStepUpChallenge(resp.Header)
			if err != nil {
				t.Fatal(err)
			}
			authURL, res, err := e.stepUp(t, c)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(authURL)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("acr_values") != "gold silver" || q.Get("max_age") != "0" || q.Get("code_challenge_method") != "S256" ||
				len(q.Get("code_challenge")) != 43 || q.Get("state") == "" || q.Get("nonce") == "" || len(q["acr_values"]) != 1 {
				t.Fatalf("authorization request %v", q)
			}
			if res.Identity.ACR != "gold" || res.Identity.AuthTime.IsZero() || res.ReturnTo != "/pay" {
				t.Fatalf("result identity %+v return %q", res.Identity, res.ReturnTo)
			}
			// An ordinary sign-in afterwards uses the provider's defaults.
			authURL2, _ := e.begin(t, "/")
			if q := authURL2.Query(); q.Get("max_age") != "3600" || q.Get("acr_values") != "bronze" {
				t.Fatalf("ordinary request %v", q)
			}
		})
	}
}

func TestStepUpRequiresFreshAuthTime(t *testing.T) {
	for _, mode := range []string{"cookie", "store"} {
		t.Run(mode, func(t *testing.T) {
			o := envOpts{}
			if mode == "store" {
				o.store = newMemStates(t)
			}
			e := newEnv(t, o)
			c := oauth.StepUpChallenge{MaxAge: 5 * time.Minute, HasMaxAge: true}
			e.fake.SetMisbehavior(oauthtest.Misbehavior{StaleAuthTime: true})
			_, _, err := e.stepUp(t, c)
			wantIDTokenCheck(t, err, "auth_time")
			e.fake.SetMisbehavior(oauthtest.Misbehavior{OmitAuthTime: true})
			_, _, err = e.stepUp(t, c)
			wantIDTokenCheck(t, err, "auth_time")
			// max_age=0 still requires auth_time.
			_, _, err = e.stepUp(t, oauth.StepUpChallenge{HasMaxAge: true})
			wantIDTokenCheck(t, err, "auth_time")
			// Without max_age, neither staleness nor absence matters.
			if _, err := e.login(t, "/"); err != nil {
				t.Fatal(err)
			}
			e.fake.SetMisbehavior(oauthtest.Misbehavior{StaleAuthTime: true})
			if _, _, err := e.stepUp(t, oauth.StepUpChallenge{ACRValues: []string{"gold"}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStepUpExposesUnmetACR(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.fake.SetMisbehavior(oauthtest.Misbehavior{IgnoreACRValues: true})
	_, res, err := e.stepUp(t, oauth.StepUpChallenge{ACRValues: []string{"gold"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Identity.ACR != "" {
		t.Fatalf("ACR = %q, want empty (the provider ignored acr_values)", res.Identity.ACR)
	}
}

func TestStepUpNeedsOpenIDProvider(t *testing.T) {
	gh := oauth.GitHub(oauth.GitHubConfig{ClientConfig: oauth.ClientConfig{ClientID: "c", ClientSecret: "s", RedirectURL: redirectURL}})
	f, err := oauth.New(oauth.Config{Provider: gh, CookieKey: testCookieKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.BeginStepUpURL(t.Context(), httptest.NewRecorder(), "/", oauth.StepUpChallenge{HasMaxAge: true}); !errors.Is(err, oauth.ErrInvalidConfig) {
		t.Fatalf("err %v, want ErrInvalidConfig", err)
	}
}
