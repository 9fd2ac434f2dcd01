package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/memstore"
)

const (
	bodyUnauthenticated = `{"error":"unauthenticated"}` + "\n"
	bodyUnavailable     = `{"error":"unavailable"}` + "\n"
	bodyInternal        = `{"error":"internal_error"}` + "\n"
	bodyForbidden       = `{"error":"forbidden"}` + "\n"
	bodyNotFound        = `{"error":"not_found"}` + "\n"
)

// keyFixture is one ES256 key set with its issuer and verifier settings.
type keyFixture struct {
	ks  *jwt.KeySet
	iss *jwt.Issuer
}

func newKeyFixture(t testing.TB) keyFixture {
	t.Helper()
	k, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{k}})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: ks, Issuer: "https://a.example", Audience: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	return keyFixture{ks: ks, iss: iss}
}

func (f keyFixture) verifier(t testing.TB, nb jwt.NotBeforeStore) *jwt.Verifier {
	t.Helper()
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: f.ks, Issuer: "https://a.example", Audience: []string{"api"}, NotBefore: nb})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f keyFixture) token(t testing.TB, req jwt.AccessTokenRequest) string {
	t.Helper()
	tok, _, err := f.iss.Issue(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newAuthFixture(t testing.TB) (*jwt.Issuer, *middleware.Authenticator) {
	iss, _, a := newAuthFixtureV(t)
	return iss, a
}

func newAuthFixtureV(t testing.TB) (*jwt.Issuer, *jwt.Verifier, *middleware.Authenticator) {
	t.Helper()
	f := newKeyFixture(t)
	v := f.verifier(t, nil)
	a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	return f.iss, v, a
}

// recordPrincipal is a handler that records whether it ran and the Principal.
type recordPrincipal struct {
	reached bool
	p       middleware.Principal
	ok      bool
}

func (h *recordPrincipal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.reached = true
	h.p, h.ok = middleware.FromContext(r.Context())
	w.WriteHeader(http.StatusNoContent)
}

// failures collects OnDeny reasons.
type failures struct{ reasons []string }

func (f *failures) hook(r *http.Request, err error) {
	ae, ok := errors.AsType[*middleware.AuthError](err)
	if !ok {
		panic("OnDeny without an *AuthError")
	}
	f.reasons = append(f.reasons, ae.Reason)
}

func TestRequireAuth(t *testing.T) {
	f := newKeyFixture(t)
	nb := memtest.New(t, nil).NotBefore()
	if err := nb.SetNotBefore(context.Background(), "u-revoked", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var fails failures
	a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: f.verifier(t, nb), OnDeny: fails.hook})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Truncate(time.Second)
	tok := f.token(t, jwt.AccessTokenRequest{Subject: "u1", Roles: []string{"viewer"}, AMR: []string{"pwd", "otp"}, AuthTime: at})
	pwdOnly := f.token(t, jwt.AccessTokenRequest{Subject: "u1", Roles: []string{"viewer"}, AMR: []string{"pwd"}, AuthTime: at})
	revoked := f.token(t, jwt.AccessTokenRequest{Subject: "u-revoked"})
	old, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: f.ks, Issuer: "https://a.example", Audience: []string{"api"},
		Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	expired, _, err := old.Issue(context.Background(), jwt.AccessTokenRequest{Subject: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	other := newKeyFixture(t).token(t, jwt.AccessTokenRequest{Subject: "u1"}) // signed by a foreign key

	tests := []struct {
		name, auth, cookie string
		status             int
		wwwAuth, method    string
		mfa                bool
		reason             string
	}{
		{"bearer", "Bearer " + tok, "", 204, "", "bearer", true, ""},
		{"bearer_lowercase_scheme", "bearer " + tok, "", 204, "", "bearer", true, ""},
		{"cookie", "", tok, 204, "", "cookie", true, ""},
		{"cookie_pwd_only_no_mfa", "", pwdOnly, 204, "", "cookie", false, ""},
		{"missing", "", "", 401, "Bearer", "", false, "missing"},
		{"bad_bearer", "Bearer " + tok + "x", "", 401, `Bearer error="invalid_token"`, "", false, "invalid_token"},
		{"foreign_key_bearer", "Bearer " + other, "", 401, `Bearer error="invalid_token"`, "", false, "invalid_token"},
		{"expired_bearer", "Bearer " + expired, "", 401, `Bearer error="invalid_token"`, "", false, "expired"},
		{"revoked_bearer", "Bearer " + revoked, "", 401, `Bearer error="invalid_token"`, "", false, "revoked"},
		{"revoked_cookie", "", revoked, 401, "Bearer", "", false, "revoked"},
		{"bad_cookie", "", "garbage", 401, "Bearer", "", false, "invalid_token"},
		{"basic_scheme", "Basic Zm9vOmJhcg==", "", 401, `Bearer error="invalid_token"`, "", false, "malformed_header"},
		{"empty_bearer", "Bearer ", "", 401, `Bearer error="invalid_token"`, "", false, "malformed_header"},
		// The first source that presents a credential decides: a bad bearer
		// token is not rescued by a valid cookie.
		{"bad_bearer_valid_cookie", "Bearer nope", tok, 401, `Bearer error="invalid_token"`, "", false, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fails.reasons = nil
			h := &recordPrincipal{}
			r := httptest.NewRequest("GET", "/", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: middleware.AccessCookie, Value: tt.cookie})
			}
			w := httptest.NewRecorder()
			a.RequireAuth(h).ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("WWW-Authenticate") != tt.wwwAuth {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Header().Get("WWW-Authenticate"), tt.status, tt.wwwAuth)
			}
			if tt.status == 401 {
				if h.reached {
					t.Fatal("handler reached on 401")
				}
				if b := w.Body.String(); b != bodyUnauthenticated {
					t.Fatalf("body %q", b)
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Fatalf("Content-Type %q", ct)
				}
				if len(fails.reasons) != 1 || fails.reasons[0] != tt.reason {
					t.Fatalf("OnDeny reasons %q, want [%s]", fails.reasons, tt.reason)
				}
				return
			}
			p := h.p
			if !h.ok || p.Subject != "u1" || p.Method != tt.method || p.MFA != tt.mfa || !p.AuthTime.Equal(at) ||
				len(p.Roles) != 1 || p.Roles[0] != "viewer" || p.Claims == nil || p.Claims.Subject != "u1" || p.Tenant != "" {
				t.Fatalf("principal %+v", p)
			}
			if len(fails.reasons) != 0 {
				t.Fatalf("OnDeny called on success: %q", fails.reasons)
			}
		})
	}
	// The audit hook never sees the token: every reason is a fixed code.
	for _, r := range fails.reasons {
		if strings.Contains(r, ".") {
			t.Fatalf("reason %q looks like a token", r)
		}
	}
}

func TestIdentify(t *testing.T) {
	iss, a := newAuthFixture(t)
	tok, _, err := iss.Issue(context.Background(), jwt.AccessTokenRequest{Subject: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, auth string
		status     int
		reached    bool
		principal  bool
	}{
		{"anonymous_passes_explicitly", "", 204, true, false},
		{"valid_bearer", "Bearer " + tok, 204, true, true},
		{"invalid_bearer_is_not_anonymous", "Bearer nope", 401, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &recordPrincipal{}
			r := httptest.NewRequest("GET", "/", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			a.Identify(h).ServeHTTP(w, r)
			if w.Code != tt.status || h.reached != tt.reached || h.ok != tt.principal {
				t.Fatalf("status=%d reached=%v principal=%v, want %d %v %v", w.Code, h.reached, h.ok, tt.status, tt.reached, tt.principal)
			}
		})
	}
}

type failingNotBefore struct{}

func (failingNotBefore) SetNotBefore(context.Context, string, time.Time) error {
	return errors.New("store down")
}
func (failingNotBefore) NotBefore(context.Context, string) (time.Time, bool, error) {
	return time.Time{}, false, errors.New("store down")
}

// A not-before store failure must fail closed with 5xx, never 401 or anonymous.
func TestRequireAuthStoreFailureFailsClosed(t *testing.T) {
	f := newKeyFixture(t)
	var gotErr error
	for _, custom := range []bool{false, true} {
		cfg := middleware.AuthenticatorConfig{Verifier: f.verifier(t, failingNotBefore{})}
		wantStatus, wantBody := http.StatusServiceUnavailable, bodyUnavailable
		if custom {
			cfg.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
				gotErr = err
				http.Error(w, "down", http.StatusBadGateway)
			}
			wantStatus, wantBody = http.StatusBadGateway, "down\n"
		}
		a, err := middleware.NewAuthenticator(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tok := f.token(t, jwt.AccessTokenRequest{Subject: "u1"})
		for name, mw := range map[string]func(http.Handler) http.Handler{"RequireAuth": a.RequireAuth, "Identify": a.Identify} {
			h := &recordPrincipal{}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			mw(h).ServeHTTP(w, r)
			if h.reached || w.Code != wantStatus || w.Body.String() != wantBody {
				t.Errorf("%s custom=%v: reached=%v status=%d body=%q, want handler not reached, %d %q", name, custom, h.reached, w.Code, w.Body.String(), wantStatus, wantBody)
			}
			if !custom && w.Header().Get("Retry-After") != "5" {
				t.Errorf("%s: 503 without Retry-After", name)
			}
		}
		if custom && (gotErr == nil || errors.Is(gotErr, jwt.ErrInvalidToken) || errors.Is(gotErr, middleware.ErrUnauthenticated)) {
			t.Errorf("ErrorFunc got %v, want the store failure", gotErr)
		}
	}
}

// flakyStore is a session store whose Find can be made to fail.
type flakyStore struct {
	*memstore.Sessions
	fail atomic.Bool
}

func (s *flakyStore) Find(ctx context.Context, id string) (session.Record, bool, error) {
	if s.fail.Load() {
		return session.Record{}, false, errors.New("session store down")
	}
	return s.Sessions.Find(ctx, id)
}

func newSessionManager(t testing.TB, st session.Store) *session.Manager {
	t.Helper()
	m, err := session.New(session.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sessionCookie runs step inside the session middleware and returns the
// resulting session cookie.
func sessionCookie(t testing.TB, m *session.Manager, step func(ctx context.Context) error) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := step(r.Context()); err != nil {
			t.Error(err)
		}
	})).ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	for _, c := range w.Result().Cookies() {
		if c.Name == session.DefaultCookieName && c.Value != "" {
			return c
		}
	}
	t.Fatal("no session cookie set")
	return nil
}

func TestSessionSource(t *testing.T) {
	st := &flakyStore{Sessions: memtest.New(t, nil).Sessions()}
	m := newSessionManager(t, st)
	f := newKeyFixture(t)
	var fails failures
	var rolesFail atomic.Bool
	roles := func(ctx context.Context, subject string) ([]string, error) {
		if rolesFail.Load() {
			return nil, errors.New("roles store down")
		}
		return []string{"role-of-" + subject}, nil
	}
	a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: f.verifier(t, nil), Sessions: m, Roles: roles, OnDeny: fails.hook})
	if err != nil {
		t.Fatal(err)
	}
	noRoles, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Sessions: m, Order: []middleware.Source{middleware.SourceSession}})
	if err != nil {
		t.Fatal(err)
	}

	before := time.Now().Add(-time.Second)
	loggedIn := sessionCookie(t, m, func(ctx context.Context) error { return m.Login(ctx, "u1") })
	pending := sessionCookie(t, m, func(ctx context.Context) error { return m.BeginMFA(ctx, "u2") })
	withMFA := sessionCookie(t, m, func(ctx context.Context) error {
		if err := m.BeginMFA(ctx, "u3"); err != nil {
			return err
		}
		return m.CompleteMFA(ctx)
	})
	anon := sessionCookie(t, m, func(ctx context.Context) error {
		s, _ := session.FromContext(ctx)
		return s.Put("cart", "1")
	})
	tok := f.token(t, jwt.AccessTokenRequest{Subject: "tok-user"})

	type want struct {
		status  int
		body    string
		reached bool
		subject string
		mfa     bool
		roles   string
		method  string
		reason  string
	}
	tests := []struct {
		name         string
		authn        *middleware.Authenticator
		identify     bool
		noMiddleware bool
		cookie       *http.Cookie
		bearer       string
		storeDown    bool
		rolesDown    bool
		want         want
	}{
		{name: "logged_in", authn: a, cookie: loggedIn, want: want{status: 204, reached: true, subject: "u1", roles: "role-of-u1", method: "session"}},
		{name: "logged_in_nil_roles_func", authn: noRoles, cookie: loggedIn, want: want{status: 204, reached: true, subject: "u1", method: "session"}},
		{name: "mfa_completed", authn: a, cookie: withMFA, want: want{status: 204, reached: true, subject: "u3", mfa: true, roles: "role-of-u3", method: "session"}},
		{name: "mfa_pending_refused", authn: a, cookie: pending, want: want{status: 401, body: bodyUnauthenticated, reason: "mfa_pending"}},
		{name: "mfa_pending_identify_is_anonymous", authn: a, identify: true, cookie: pending, want: want{status: 204, reached: true}},
		{name: "anonymous_session_refused", authn: a, cookie: anon, want: want{status: 401, body: bodyUnauthenticated, reason: "missing"}},
		{name: "no_cookie_refused", authn: a, want: want{status: 401, body: bodyUnauthenticated, reason: "missing"}},
		{name: "anonymous_identify_passes", authn: a, identify: true, cookie: anon, want: want{status: 204, reached: true}},
		{name: "bearer_before_session", authn: a, cookie: loggedIn, bearer: tok, want: want{status: 204, reached: true, subject: "tok-user", method: "bearer"}},
		{name: "session_store_error_never_anonymous", authn: a, cookie: loggedIn, storeDown: true, want: want{status: 500}},
		{name: "session_store_error_identify_never_anonymous", authn: a, identify: true, cookie: loggedIn, storeDown: true, want: want{status: 500}},
		{name: "roles_error_fails_closed", authn: a, cookie: loggedIn, rolesDown: true, want: want{status: 503, body: bodyUnavailable}},
		{name: "roles_error_identify_fails_closed", authn: a, identify: true, cookie: loggedIn, rolesDown: true, want: want{status: 503, body: bodyUnavailable}},
		{name: "session_middleware_missing", authn: a, noMiddleware: true, cookie: loggedIn, want: want{status: 500, body: bodyInternal}},
		{name: "session_middleware_missing_identify", authn: a, identify: true, noMiddleware: true, want: want{status: 500, body: bodyInternal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fails.reasons = nil
			st.fail.Store(tt.storeDown)
			rolesFail.Store(tt.rolesDown)
			t.Cleanup(func() { st.fail.Store(false); rolesFail.Store(false) })
			h := &recordPrincipal{}
			var chain http.Handler = tt.authn.RequireAuth(h)
			if tt.identify {
				chain = tt.authn.Identify(h)
			}
			if !tt.noMiddleware {
				chain = m.LoadAndSave(chain)
			}
			r := httptest.NewRequest("GET", "/", nil)
			if tt.cookie != nil {
				r.AddCookie(&http.Cookie{Name: tt.cookie.Name, Value: tt.cookie.Value})
			}
			if tt.bearer != "" {
				r.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			w := httptest.NewRecorder()
			chain.ServeHTTP(w, r)
			if w.Code != tt.want.status || h.reached != tt.want.reached {
				t.Fatalf("status=%d reached=%v, want %d %v (body %q)", w.Code, h.reached, tt.want.status, tt.want.reached, w.Body.String())
			}
			if tt.want.body != "" && w.Body.String() != tt.want.body {
				t.Fatalf("body %q, want %q", w.Body.String(), tt.want.body)
			}
			if tt.want.status == 401 && w.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Fatalf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
			if tt.want.reason != "" && (len(fails.reasons) != 1 || fails.reasons[0] != tt.want.reason) {
				t.Fatalf("OnDeny %q, want [%s]", fails.reasons, tt.want.reason)
			}
			if tt.want.reason == "" && len(fails.reasons) != 0 {
				t.Fatalf("OnDeny %q, want none", fails.reasons)
			}
			if !h.reached {
				return
			}
			if h.ok != (tt.want.subject != "") {
				t.Fatalf("principal present=%v, want subject %q", h.ok, tt.want.subject)
			}
			if !h.ok {
				return
			}
			p := h.p
			if p.Subject != tt.want.subject || p.MFA != tt.want.mfa || p.Method != tt.want.method || strings.Join(p.Roles, ",") != tt.want.roles {
				t.Fatalf("principal %+v, want %+v", p, tt.want)
			}
			if p.Method == "session" && (p.Claims != nil || p.AuthTime.Before(before) || p.AuthTime.After(time.Now())) {
				t.Fatalf("session principal AuthTime %v Claims %v", p.AuthTime, p.Claims)
			}
		})
	}
}

// A custom Extractor and a non-default Order.
func TestOrderAndExtractors(t *testing.T) {
	f := newKeyFixture(t)
	v := f.verifier(t, nil)
	alice := f.token(t, jwt.AccessTokenRequest{Subject: "alice"})
	bob := f.token(t, jwt.AccessTokenRequest{Subject: "bob"})
	query := middleware.Extractor{Source: "query", Extract: func(r *http.Request) (string, bool) {
		q := r.URL.Query()
		return q.Get("access_token"), q.Has("access_token")
	}}
	cookieFirst, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: v, CookieNames: []string{"at"},
		Order: []middleware.Source{middleware.SourceCookie, middleware.SourceBearer}})
	if err != nil {
		t.Fatal(err)
	}
	withQuery, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: v, Extractors: []middleware.Extractor{query}})
	if err != nil {
		t.Fatal(err)
	}
	queryOnly, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: v, Extractors: []middleware.Extractor{query},
		Order: []middleware.Source{"query"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name           string
		a              *middleware.Authenticator
		target         string
		bearer, cookie string
		status         int
		subject        string
		method         string
	}{
		{"cookie_first_wins", cookieFirst, "/", bob, alice, 204, "alice", "cookie"},
		{"cookie_first_falls_to_bearer", cookieFirst, "/", bob, "", 204, "bob", "bearer"},
		{"default_cookie_name_ignored", cookieFirst, "/", "", "", 401, "", ""},
		{"bearer_before_query", withQuery, "/?access_token=" + alice, bob, "", 204, "bob", "bearer"},
		{"query_extractor", withQuery, "/?access_token=" + alice, "", "", 204, "alice", "query"},
		{"query_empty_is_invalid", withQuery, "/?access_token=", "", "", 401, "", ""},
		{"query_only_ignores_bearer", queryOnly, "/", bob, "", 401, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &recordPrincipal{}
			r := httptest.NewRequest("GET", tt.target, nil)
			if tt.bearer != "" {
				r.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "at", Value: tt.cookie})
				r.AddCookie(&http.Cookie{Name: "access_token", Value: "junk"})
			}
			w := httptest.NewRecorder()
			tt.a.RequireAuth(h).ServeHTTP(w, r)
			if w.Code != tt.status || h.p.Subject != tt.subject || h.p.Method != tt.method {
				t.Fatalf("status=%d subject=%q method=%q, want %d %q %q", w.Code, h.p.Subject, h.p.Method, tt.status, tt.subject, tt.method)
			}
		})
	}
}

func TestNewAuthenticatorValidation(t *testing.T) {
	v := newKeyFixture(t).verifier(t, nil)
	m := newSessionManager(t, memtest.New(t, nil).Sessions())
	ext := func(name middleware.Source) middleware.Extractor {
		return middleware.Extractor{Source: name, Extract: func(*http.Request) (string, bool) { return "", false }}
	}
	S := func(s ...middleware.Source) []middleware.Source { return s }
	for _, tt := range []struct {
		name string
		cfg  middleware.AuthenticatorConfig
		ok   bool
	}{
		{"defaults", middleware.AuthenticatorConfig{Verifier: v}, true},
		{"no_verifier", middleware.AuthenticatorConfig{}, false},
		{"session_only_needs_no_verifier", middleware.AuthenticatorConfig{Sessions: m, Order: S(middleware.SourceSession)}, true},
		{"session_default_order_still_needs_verifier", middleware.AuthenticatorConfig{Sessions: m}, false},
		{"session_without_manager", middleware.AuthenticatorConfig{Verifier: v, Order: S(middleware.SourceSession)}, false},
		{"duplicate_source", middleware.AuthenticatorConfig{Verifier: v, Order: S(middleware.SourceBearer, middleware.SourceBearer)}, false},
		{"unknown_source", middleware.AuthenticatorConfig{Verifier: v, Order: S("header")}, false},
		{"extractor_default_order", middleware.AuthenticatorConfig{Verifier: v, Extractors: []middleware.Extractor{ext("q")}}, true},
		{"extractor_not_in_order", middleware.AuthenticatorConfig{Verifier: v, Extractors: []middleware.Extractor{ext("q")}, Order: S(middleware.SourceBearer)}, false},
		{"extractor_builtin_name", middleware.AuthenticatorConfig{Verifier: v, Extractors: []middleware.Extractor{ext(middleware.SourceCookie)}}, false},
		{"extractor_empty_name", middleware.AuthenticatorConfig{Verifier: v, Extractors: []middleware.Extractor{ext("")}}, false},
		{"extractor_nil_func", middleware.AuthenticatorConfig{Verifier: v, Extractors: []middleware.Extractor{{Source: "q"}}}, false},
		{"extractor_duplicate", middleware.AuthenticatorConfig{Verifier: v, Extractors: []middleware.Extractor{ext("q"), ext("q")}}, false},
		{"extractor_needs_verifier", middleware.AuthenticatorConfig{Sessions: m, Extractors: []middleware.Extractor{ext("q")}, Order: S("q")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := middleware.NewAuthenticator(tt.cfg)
			if (err == nil) != tt.ok || (a == nil) == tt.ok {
				t.Fatalf("NewAuthenticator: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// Deny replaces the 401 response; OnDeny still runs.
func TestDenyHook(t *testing.T) {
	v := newKeyFixture(t).verifier(t, nil)
	var fails failures
	a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: v, OnDeny: fails.hook,
		Deny: func(w http.ResponseWriter, r *http.Request, err error) {
			ae, _ := errors.AsType[*middleware.AuthError](err)
			http.Redirect(w, r, "/login?why="+ae.Reason, http.StatusSeeOther)
		}})
	if err != nil {
		t.Fatal(err)
	}
	h := &recordPrincipal{}
	w := httptest.NewRecorder()
	a.RequireAuth(h).ServeHTTP(w, httptest.NewRequest("GET", "/account", nil))
	if h.reached || w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?why=missing" ||
		len(fails.reasons) != 1 || fails.reasons[0] != middleware.ReasonMissing {
		t.Fatalf("reached=%v status=%d location=%q reasons=%q", h.reached, w.Code, w.Header().Get("Location"), fails.reasons)
	}
}

// Authenticate is the pure check: errors classify as documented.
func TestAuthenticate(t *testing.T) {
	f := newKeyFixture(t)
	a, err := middleware.NewAuthenticator(middleware.AuthenticatorConfig{Verifier: f.verifier(t, nil),
		Tenant: func(r *http.Request) string { return r.Header.Get("X-Tenant") }})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	_, err = a.Authenticate(r)
	var ae *middleware.AuthError
	if !errors.Is(err, middleware.ErrNoCredentials) || !errors.Is(err, middleware.ErrUnauthenticated) || !errors.As(err, &ae) || ae.Reason != middleware.ReasonMissing {
		t.Fatalf("anonymous: %v", err)
	}
	r.Header.Set("Authorization", "Bearer x.y.z")
	_, err = a.Authenticate(r)
	if errors.Is(err, middleware.ErrNoCredentials) || !errors.Is(err, middleware.ErrUnauthenticated) || !errors.Is(err, jwt.ErrInvalidToken) ||
		!errors.As(err, &ae) || ae.Reason != middleware.ReasonInvalidToken || ae.Source != middleware.SourceBearer {
		t.Fatalf("invalid bearer: %v", err)
	}
	if strings.Contains(err.Error(), "x.y.z") {
		t.Fatalf("error text contains the token: %v", err)
	}
	r.Header.Set("Authorization", "Bearer "+f.token(t, jwt.AccessTokenRequest{Subject: "u1", Roles: []string{"r"}}))
	r.Header.Set("X-Tenant", "acme")
	p, err := a.Authenticate(r)
	if err != nil || p.Subject != "u1" || p.Tenant != "acme" || p.TenantRoles != nil || p.Claims == nil || p.Claims.Subject != "u1" {
		t.Fatalf("valid: %+v %v", p, err)
	}
}

// The Principal, its claims and the rbac subject are stored in one
// allocation, and the context it lives in behaves like any other.
func TestPrincipalContext(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), struct{ k string }{"k"}, "v"))
	p := middleware.Principal{Subject: "u1", Roles: []string{"a"}, Tenant: "t", TenantRoles: []string{"b"}, Method: "session"}
	ctx := middleware.NewContext(parent, p)
	got, ok := middleware.FromContext(ctx)
	if !ok || got.Subject != "u1" || got.Tenant != "t" || got.Method != "session" || got.TenantRoles[0] != "b" {
		t.Fatalf("FromContext = %+v, %v", got, ok)
	}
	if ctx.Value(struct{ k string }{"k"}) != "v" {
		t.Fatal("parent values not visible")
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	if _, ok := middleware.FromContext(child); !ok {
		t.Fatal("principal not visible from a derived context")
	}
	cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancellation did not propagate through the principal context")
	}
	if _, ok := middleware.FromContext(context.Background()); ok {
		t.Fatal("principal in an empty context")
	}
	if n := testing.AllocsPerRun(100, func() { _ = middleware.NewContext(parent, middleware.Principal{Subject: "u1"}) }); n != 1 {
		t.Fatalf("NewContext allocs = %v, want 1", n)
	}
}
