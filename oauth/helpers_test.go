package oauth_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/oauth/oauthtest"
)

const redirectURL = "https://app.example.com/auth/oauth/fake/callback"

var testCookieKey = bytes.Repeat([]byte{7}, 32)

type env struct {
	fake *oauthtest.Provider
	flow *oauth.Flow
	p    *oauth.Provider
}

type envOpts struct {
	store    oauth.TicketStore
	provider func(*oauth.Provider)
	fakeCfg  func(*oauthtest.ProviderConfig)
	cfg      func(*oauth.Config)
	noStart  bool
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	fc := oauthtest.ProviderConfig{RedirectURIs: []string{redirectURL}}
	if o.fakeCfg != nil {
		o.fakeCfg(&fc)
	}
	fake, err := oauthtest.NewProvider(fc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	p := fake.OAuthProvider(redirectURL)
	if o.provider != nil {
		o.provider(p)
	}
	cfg := oauth.Config{Provider: p}
	if o.store != nil {
		cfg.Tickets = o.store
	} else {
		cfg.CookieKey = testCookieKey
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	flow, err := oauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !o.noStart {
		if err := flow.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = flow.Close() })
	}
	return &env{fake: fake, flow: flow, p: p}
}

// begin runs Flow.Begin and returns the authorization URL and the
// transaction cookie.
func (e *env) begin(t *testing.T, returnTo string) (*url.URL, *http.Cookie) {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := e.flow.Begin(rec, httptest.NewRequest(http.MethodGet, "https://app.example.com/login", nil), returnTo); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusFound {
		t.Fatalf("Begin status %d", rec.Code)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	cks := rec.Result().Cookies()
	if len(cks) != 1 {
		t.Fatalf("Begin set %d cookies, want 1", len(cks))
	}
	return loc, cks[0]
}

// callback delivers callbackURL with the cookie (if any) to Flow.Callback.
func (e *env) callback(t *testing.T, callbackURL string, ck *http.Cookie) (*oauth.Result, *httptest.ResponseRecorder, error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, callbackURL, nil)
	if ck != nil {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	rec := httptest.NewRecorder()
	res, err := e.flow.Callback(rec, req)
	return res, rec, err
}

// login runs Begin → provider → Callback.
func (e *env) login(t *testing.T, returnTo string) (*oauth.Result, error) {
	t.Helper()
	authURL, ck := e.begin(t, returnTo)
	cb, err := e.fake.Authorize(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := e.callback(t, cb.String(), ck)
	return res, err
}

func wantIDTokenCheck(t *testing.T, err error, check string) {
	t.Helper()
	var ie *oauth.IDTokenError
	if !errors.As(err, &ie) || !errors.Is(err, oauth.ErrIDToken) {
		t.Fatalf("err = %v, want IDTokenError{%s}", err, check)
	}
	if ie.Check != check {
		t.Fatalf("IDTokenError.Check = %q (%v), want %q", ie.Check, ie.Err, check)
	}
}

func newMemStates(t testing.TB) oauth.TicketStore { return memtest.New(t, nil).Tickets() }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func (e *env) loginWith(t *testing.T, returnTo string) (*oauth.Result, error) {
	return e.login(t, returnTo)
}
