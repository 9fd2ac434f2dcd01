package authkit_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
)

// raw sends one request with exactly the given Content-Type, body and Cookie
// header (no helper logic in between).
func (e *env) raw(method, path, contentType, body, cookie string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+e.path(path), strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, raw: string(b), header: res.Header, cookies: map[string]*http.Cookie{}}
	_ = json.Unmarshal(b, &out.body)
	for _, ck := range res.Cookies() {
		out.cookies[ck.Name] = ck
	}
	return out
}

// wantResp is env.expect for subtests.
func wantResp(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.status != status || code != "" && r.body["error"] != code {
		t.Fatalf("status %d %s, want %d %q", r.status, r.raw, status, code)
	}
}

// The cookie-tossing attack: a sibling subdomain plants a refresh cookie of
// the same name with a narrower path, which the browser sends first. The
// request is refused and the cookies cleared; neither token is used.
func TestPlantedRefreshCookieIsRefused(t *testing.T) {
	e := newEnv(t)
	e.signup("victim@example.com")
	e.signup("attacker@example.com")
	victim := e.login("victim@example.com")
	attacker := e.login("attacker@example.com")
	real := victim.cookies[authkit.RefreshCookie].Value
	planted := attacker.cookies[authkit.RefreshCookie].Value

	r := e.raw("POST", "/auth/refresh", "", "", authkit.RefreshCookie+"="+planted+"; "+authkit.RefreshCookie+"="+real)
	e.expect(r, http.StatusUnauthorized, "invalid_token")
	for _, name := range []string{authkit.AccessCookie, authkit.RefreshCookie} {
		if ck := r.cookies[name]; ck == nil || ck.MaxAge >= 0 {
			t.Fatalf("%s not cleared: %v", name, r.header.Values("Set-Cookie"))
		}
	}
	// Neither token was spent: both still refresh once.
	for _, tok := range []string{planted, real} {
		e.expect(e.raw("POST", "/auth/refresh", "", "", refreshCookies(tok)), http.StatusOK, "")
	}
}

// Two access cookies of one name are refused as well on the endpoints that
// read them.
func TestDuplicateAccessCookieIsRefused(t *testing.T) {
	e := newEnv(t)
	e.signup("dup@example.com")
	c := e.login("dup@example.com")
	at := c.cookies[authkit.AccessCookie].Value
	r := e.raw("POST", "/auth/logout-all", "", "", authkit.AccessCookie+"="+at+"; "+authkit.AccessCookie+"="+at)
	e.expect(r, http.StatusUnauthorized, "invalid_token")
	if ck := r.cookies[authkit.AccessCookie]; ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("access cookie not cleared: %v", r.header.Values("Set-Cookie"))
	}
}

// jsonEndpoints are the endpoints that read a JSON body, with a valid body
// for each; authed ones get a signed-in client.
var jsonEndpoints = []struct {
	path   string
	authed bool
	body   string
}{
	{"/auth/signup", false, `{"email":"new@example.com","password":"correct horse battery staple"}`},
	{"/auth/login", false, `{"email":"in@example.com","password":"correct horse battery staple"}`},
	{"/auth/mfa/verify", false, `{"mfa_token":"x","code":"123456"}`},
	{"/auth/password", true, `{"current_password":"a","new_password":"another fine password"}`},
	{"/auth/mfa/confirm", true, `{"code":"123456"}`},
	{"/auth/mfa/disable", true, `{"code":"123456"}`},
	{"/auth/mfa/backup-codes", true, `{"code":"123456"}`},
	{"/auth/password/forgot", false, `{"email":"in@example.com"}`},
	{"/auth/password/reset", false, `{"token":"x","new_password":"a brand new password"}`},
	{"/auth/email/verify", false, `{"token":"x"}`},
}

// The JSON endpoints take only application/json (parameters allowed): a
// form or text/plain body, which a cross-site form can send without a
// preflight, is 415.
func TestJSONEndpointsRequireJSONContentType(t *testing.T) {
	eachMount(t, testJSONEndpointsRequireJSONContentType)
}

func testJSONEndpointsRequireJSONContentType(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	e.signup("in@example.com")
	c := e.login("in@example.com")
	cookie := authkit.AccessCookie + "=" + c.accessToken()
	for _, ep := range jsonEndpoints {
		ck := ""
		if ep.authed {
			ck = cookie
		}
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "text/json"} {
			t.Run(ep.path+" "+ct, func(t *testing.T) {
				wantResp(t, e.raw("POST", ep.path, ct, ep.body, ck), http.StatusUnsupportedMediaType, "unsupported_media_type")
			})
		}
		for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
			if r := e.raw("POST", ep.path, ct, ep.body, ck); r.status == http.StatusUnsupportedMediaType || r.status == http.StatusBadRequest && r.body["error"] == "invalid_request" {
				t.Errorf("%s with %q: %d %s", ep.path, ct, r.status, r.raw)
			}
		}
	}
}

// null, non-objects and trailing data are 400 invalid_request on every
// JSON endpoint.
func TestJSONEndpointsRefuseNonObjects(t *testing.T) { eachMount(t, testJSONEndpointsRefuseNonObjects) }

func testJSONEndpointsRefuseNonObjects(t *testing.T, m mount) {
	e := newEnvAt(t, m)
	e.signup("in@example.com")
	c := e.login("in@example.com")
	cookie := authkit.AccessCookie + "=" + c.accessToken()
	for _, ep := range jsonEndpoints {
		ck := ""
		if ep.authed {
			ck = cookie
		}
		for _, body := range []string{"", "null", "[]", `[{"email":"a"}]`, `"x"`, "1", "true", ep.body + ep.body, ep.body + " x", "{"} {
			t.Run(ep.path+" "+body, func(t *testing.T) {
				wantResp(t, e.raw("POST", ep.path, "application/json", body, ck), http.StatusBadRequest, "invalid_request")
			})
		}
	}
	// Whitespace after the object is fine.
	e.expect(e.raw("POST", "/auth/password/forgot", "application/json", `{"email":"in@example.com"}`+" \n", ""), http.StatusAccepted, "")
}

// outage make every store call fail once armed, as a store outage
// does.
type outage struct {
	on bool
}

var errOutage = errors.New("store: connection refused")

func (f *outage) err() error {
	if f.on {
		return errOutage
	}
	return nil
}

type outageUsers struct {
	authkit.UserStore
	f *outage
}

func (u outageUsers) UserByLogin(ctx context.Context, login string) (authkit.User, bool, error) {
	if err := u.f.err(); err != nil {
		return authkit.User{}, false, err
	}
	return u.UserStore.UserByLogin(ctx, login)
}

func (u outageUsers) UserByID(ctx context.Context, id string) (authkit.User, bool, error) {
	if err := u.f.err(); err != nil {
		return authkit.User{}, false, err
	}
	return u.UserStore.UserByID(ctx, id)
}

func (u outageUsers) CreateUser(ctx context.Context, x authkit.User) error {
	if err := u.f.err(); err != nil {
		return err
	}
	return u.UserStore.CreateUser(ctx, x)
}

func (u outageUsers) SetPasswordHash(ctx context.Context, id, h string) error {
	if err := u.f.err(); err != nil {
		return err
	}
	return u.UserStore.SetPasswordHash(ctx, id, h)
}

func (u outageUsers) UpdateUser(ctx context.Context, id string, fn func(*authkit.User)) error {
	if err := u.f.err(); err != nil {
		return err
	}
	return u.UserStore.(authkit.UserUpdater).UpdateUser(ctx, id, fn)
}

type outageAttempts struct {
	authkit.AttemptStore
	f *outage
}

func (a outageAttempts) Incr(ctx context.Context, k string, w time.Duration) (int, time.Time, error) {
	if err := a.f.err(); err != nil {
		return 0, time.Time{}, err
	}
	return a.AttemptStore.Incr(ctx, k, w)
}

func (a outageAttempts) Count(ctx context.Context, k string) (int, time.Time, error) {
	if err := a.f.err(); err != nil {
		return 0, time.Time{}, err
	}
	return a.AttemptStore.Count(ctx, k)
}

func (a outageAttempts) Reset(ctx context.Context, k string) error {
	if err := a.f.err(); err != nil {
		return err
	}
	return a.AttemptStore.Reset(ctx, k)
}

type outageRefresh struct {
	jwt.RefreshStore
	f *outage
}

func (s outageRefresh) Rotate(ctx context.Context, r jwt.Rotation) (jwt.RotateResult, error) {
	if err := s.f.err(); err != nil {
		return jwt.RotateResult{}, err
	}
	return s.RefreshStore.Rotate(ctx, r)
}

func (s outageRefresh) Create(ctx context.Context, t jwt.RefreshToken) (bool, error) {
	if err := s.f.err(); err != nil {
		return false, err
	}
	return s.RefreshStore.Create(ctx, t)
}

func (s outageRefresh) RevokeToken(ctx context.Context, id string) (string, bool, error) {
	if err := s.f.err(); err != nil {
		return "", false, err
	}
	return s.RefreshStore.RevokeToken(ctx, id)
}

func (s outageRefresh) RevokeUser(ctx context.Context, id string) error {
	if err := s.f.err(); err != nil {
		return err
	}
	return s.RefreshStore.RevokeUser(ctx, id)
}

func (s outageRefresh) SetNotBefore(ctx context.Context, u string, t time.Time) error {
	if err := s.f.err(); err != nil {
		return err
	}
	return s.RefreshStore.SetNotBefore(ctx, u, t)
}

func (s outageRefresh) NotBefore(ctx context.Context, u string) (time.Time, bool, error) {
	if err := s.f.err(); err != nil {
		return time.Time{}, false, err
	}
	return s.RefreshStore.NotBefore(ctx, u)
}

type outageTickets struct {
	authkit.TicketStore
	f *outage
}

func (s outageTickets) Put(ctx context.Context, purpose, k string, data []byte, exp time.Time) error {
	if err := s.f.err(); err != nil {
		return err
	}
	return s.TicketStore.Put(ctx, purpose, k, data, exp)
}

func (s outageTickets) Take(ctx context.Context, purpose, k string) ([]byte, bool, error) {
	if err := s.f.err(); err != nil {
		return nil, false, err
	}
	return s.TicketStore.Take(ctx, purpose, k)
}

type outageMFA struct {
	mfa.Store
	f *outage
}

func (s outageMFA) Get(ctx context.Context, id string) (mfa.Enrollment, bool, error) {
	if err := s.f.err(); err != nil {
		return mfa.Enrollment{}, false, err
	}
	return s.Store.Get(ctx, id)
}

// Every endpoint answers a store outage with 503 unavailable and
// Retry-After, never 500.
func TestStoreOutageIs503OnEveryEndpoint(t *testing.T) {
	eachMount(t, testStoreOutageIs503OnEveryEndpoint)
}

func testStoreOutageIs503OnEveryEndpoint(t *testing.T, m mount) {
	f := &outage{}
	e := newEnvAt(t, m, func(c *authkit.Config) {
		c.Users = outageUsers{UserStore: c.Users, f: f}
		attempts := outageAttempts{AttemptStore: c.Attempts, f: f}
		st := memtest.New(t, nil)
		c.Attempts = attempts
		c.RefreshStore = outageRefresh{RefreshStore: c.RefreshStore, f: f}
		c.Tickets = outageTickets{TicketStore: c.Tickets, f: f}
		box, err := mfa.NewSecretBox(mfa.SecretBoxConfig{Keys: map[string][]byte{"k": make([]byte, 32)}, ActiveKeyID: "k"})
		if err != nil {
			t.Fatal(err)
		}
		c.MFA, err = mfa.New(mfa.Config{
			Issuer: "t", Store: outageMFA{Store: st.MFA(), f: f}, Replay: st.TOTPReplay(),
			Tickets: outageTickets{TicketStore: st.Tickets(), f: f}, Throttle: attempts,
			Box: box, BackupKey: make([]byte, 32),
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	e.signup("up@example.com")
	c := e.login("up@example.com")
	cookies := authkit.AccessCookie + "=" + c.accessToken() + "; " + refreshCookies(c.refreshToken())
	refreshBody := ""
	if m.delivery == authkit.DeliverBody {
		refreshBody = `{"refresh_token":"` + c.refreshToken() + `"}`
	}
	f.on = true
	type endpoint = struct {
		path   string
		authed bool
		body   string
	}
	// A well-formed challenge token, so the mfa package reaches its store.
	challenge := `{"mfa_token":"mfa_` + strings.Repeat("A", 43) + `","code":"123456"}`
	for _, ep := range append(jsonEndpoints[:len(jsonEndpoints):len(jsonEndpoints)],
		endpoint{"/auth/refresh", false, refreshBody},
		endpoint{"/auth/logout", false, refreshBody},
		endpoint{"/auth/logout-all", true, ""},
		endpoint{"/auth/email/verify-request", true, ""},
		endpoint{"/auth/mfa/enroll", true, ""},
	) {
		if ep.path == "/auth/mfa/verify" {
			ep.body = challenge
		}
		t.Run(ep.path, func(t *testing.T) {
			ct := ""
			if ep.body != "" {
				ct = "application/json"
			}
			r := e.raw("POST", ep.path, ct, ep.body, cookies)
			wantResp(t, r, http.StatusServiceUnavailable, "unavailable")
			if r.header.Get("Retry-After") != "5" {
				t.Fatalf("Retry-After %q, want 5", r.header.Get("Retry-After"))
			}
		})
	}
}

// Auth.Refresh's errors match the jwt package's sentinels too.
func TestRootErrorsWrapLeafSentinels(t *testing.T) {
	e := newEnv(t)
	e.signup("w@example.com")
	c := e.login("w@example.com")
	old := c.cookies[authkit.RefreshCookie].Value
	ctx := context.Background()
	if _, _, err := e.auth.Refresh(ctx, old, authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6 * time.Second) // past the retry window (RefreshGrace, 5 s)
	_, _, err := e.auth.Refresh(ctx, old, authkit.Client{})
	if !errors.Is(err, authkit.ErrTokenReused) || !errors.Is(err, jwt.ErrTokenReused) {
		t.Fatalf("reuse error %v does not match both sentinels", err)
	}
	_, _, err = e.auth.Refresh(ctx, "akrt_bogus", authkit.Client{})
	if !errors.Is(err, authkit.ErrInvalidToken) || !errors.Is(err, jwt.ErrInvalidToken) {
		t.Fatalf("invalid token error %v does not match both sentinels", err)
	}
}
