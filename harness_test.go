package authkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/store/memstore"
)

// env is one Auth over memstore with an injected clock, served by an
// httptest server with the handler mounted as m says.
type env struct {
	t      *testing.T
	m      mount
	auth   *authkit.Auth
	srv    *httptest.Server
	clock  *clock
	users  *memstore.Users
	events *eventLog
	mail   *mailbox
	hasher *password.Hasher
}

type eventLog struct {
	mu sync.Mutex
	ev []authkit.Event
}

func (l *eventLog) add(_ context.Context, e authkit.Event) {
	l.mu.Lock()
	l.ev = append(l.ev, e)
	l.mu.Unlock()
}

func (l *eventLog) types() []authkit.EventType {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []authkit.EventType
	for _, e := range l.ev {
		out = append(out, e.Type)
	}
	return out
}

type mailbox struct {
	mu   sync.Mutex
	mail []authkit.Mail
}

func (m *mailbox) Send(_ context.Context, msg authkit.Mail) error {
	m.mu.Lock()
	m.mail = append(m.mail, msg)
	m.mu.Unlock()
	return nil
}

func (m *mailbox) last() authkit.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.mail) == 0 {
		return authkit.Mail{}
	}
	return m.mail[len(m.mail)-1]
}

// cheapParams keep tests fast; the equal-work login test uses a larger m to measure work.
var cheapParams = password.Params{Memory: 64, Iterations: 1, Parallelism: 1}

// mount is where and how the handler is served: its public prefix, whether
// the host strips that prefix (http.StripPrefix) or the handler matches it
// (WithPrefix alone), and how tokens travel.
type mount struct {
	name     string
	prefix   string
	strip    bool
	delivery authkit.Delivery
}

var defaultMount = mount{name: "cookies_at_auth", prefix: "/auth", delivery: authkit.DeliverCookies}

// mounts are the ways the contract tests serve the handler: two prefixes,
// each delivery, with and without http.StripPrefix.
var mounts = []mount{
	defaultMount,
	{name: "body_at_auth", prefix: "/auth", delivery: authkit.DeliverBody},
	{name: "cookies_at_api_v1_auth_stripped", prefix: "/api/v1/auth", strip: true, delivery: authkit.DeliverCookies},
	{name: "body_at_api_v1_auth_stripped", prefix: "/api/v1/auth", strip: true, delivery: authkit.DeliverBody},
	{name: "both_at_api_v1_auth", prefix: "/api/v1/auth", delivery: authkit.DeliverCookiesAndBody},
}

// eachMount runs f once per mount.
func eachMount(t *testing.T, f func(t *testing.T, m mount)) {
	for _, m := range mounts {
		t.Run(m.name, func(t *testing.T) { f(t, m) })
	}
}

func newEnv(t *testing.T, mutate ...func(*authkit.Config)) *env {
	t.Helper()
	return newEnvAt(t, defaultMount, mutate...)
}

func newEnvAt(t *testing.T, m mount, mutate ...func(*authkit.Config)) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	hasher, err := password.New(password.Config{Params: cheapParams, InsecureAllowWeakParams: true})
	if err != nil {
		t.Fatal(err)
	}
	policy, err := password.NewPolicy(password.PolicyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	if err != nil {
		t.Fatal(err)
	}
	st := memtest.New(t, c.Now)
	attempts := st.Attempts()
	box, err := mfa.NewSecretBox(mfa.SecretBoxConfig{Keys: map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)}, ActiveKeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	mf, err := mfa.New(mfa.Config{
		Issuer: "authkit-test", Store: st.MFA(), Replay: st.TOTPReplay(),
		Tickets: st.Tickets(), Throttle: attempts, Box: box,
		BackupKey: bytes.Repeat([]byte{9}, 32), Now: c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, m: m, clock: c, users: st.Users(), events: &eventLog{}, mail: &mailbox{}, hasher: hasher}
	cfg := authkit.Config{
		Users: e.users, Hasher: hasher, PasswordPolicy: policy, Keys: keys, TokenIssuer: "https://auth.test",
		RefreshStore: st.RefreshTokens(), NotBefore: st.NotBefore(),
		Attempts: attempts, MFA: mf, Tickets: st.Tickets(), Mailer: e.mail,
		Audit: authkit.NewAuditor(authkit.AuditConfig{DisableLog: true, Hook: e.events.add, Now: c.Now}),
		Roles: func(login string) []string {
			if login == "admin@example.com" {
				return []string{"admin"}
			}
			return []string{"viewer"}
		},
		Now: c.Now,
	}
	for _, f := range mutate {
		f(&cfg)
	}
	e.auth, err = authkit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h := e.auth.Handler(authkit.WithPrefix(m.prefix), authkit.WithDelivery(m.delivery))
	if m.strip {
		h = http.StripPrefix(m.prefix, h)
	}
	mux.Handle(m.prefix+"/", h)
	mux.Handle("GET /api/me", e.auth.Authenticator().RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// client keeps cookies by name and sends them all, as a browser does on a
// secure context (httptest serves plain http, where Go's cookiejar would
// withhold Secure cookies). With body delivery it is a native client
// instead: it keeps the tokens of the JSON answers, sends the access token
// as a bearer token and the refresh token in the body of /refresh and
// /logout. Paths are written "/auth/..." and sent under the env's prefix.
type client struct {
	e       *env
	cookies map[string]*http.Cookie
	header  http.Header
	access  string // body delivery only
	refresh string // body delivery only
}

func (e *env) client() *client {
	return &client{e: e, cookies: map[string]*http.Cookie{}, header: http.Header{}}
}

// native reports whether the client is a native one (tokens in bodies).
func (c *client) native() bool { return c.e.m.delivery == authkit.DeliverBody }

func (c *client) accessToken() string {
	if c.native() {
		return c.access
	}
	if ck := c.cookies[authkit.AccessCookie]; ck != nil {
		return ck.Value
	}
	return ""
}

func (c *client) refreshToken() string {
	if c.native() {
		return c.refresh
	}
	if ck := c.cookies[authkit.RefreshCookie]; ck != nil {
		return ck.Value
	}
	return ""
}

func (c *client) setRefresh(tok string) {
	if c.native() {
		c.refresh = tok
		return
	}
	c.cookies[authkit.RefreshCookie] = &http.Cookie{Name: authkit.RefreshCookie, Value: tok}
	c.cookies[authkit.RefreshBindingCookie] = &http.Cookie{Name: authkit.RefreshBindingCookie, Value: bindingOf(tok)}
}

// copyFrom makes c hold the tokens of o (a second device with the same
// credentials).
func (c *client) copyFrom(o *client) {
	for k, v := range o.cookies {
		c.cookies[k] = v
	}
	c.access, c.refresh = o.access, o.refresh
}

// path maps a contract path "/auth/x" to the env's prefix.
func (e *env) path(p string) string {
	if rest, ok := strings.CutPrefix(p, "/auth/"); ok {
		return e.m.prefix + "/" + rest
	}
	return p
}

type resp struct {
	status  int
	body    map[string]any
	raw     string
	header  http.Header
	cookies map[string]*http.Cookie
	// access and refresh are the tokens handed out: from the cookies, or
	// from the body with body delivery.
	access, refresh string
}

func (c *client) do(method, path string, body any) resp {
	c.e.t.Helper()
	if body == nil && c.native() && c.refresh != "" && (strings.HasSuffix(path, "/refresh") || strings.HasSuffix(path, "/logout")) {
		body = map[string]string{"refresh_token": c.refresh}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+c.e.path(path), rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.native() && c.access != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.access)
	}
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	res, err := c.e.srv.Client().Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, raw: string(raw), header: res.Header, cookies: map[string]*http.Cookie{}}
	_ = json.Unmarshal(raw, &out.body)
	for _, ck := range res.Cookies() {
		out.cookies[ck.Name] = ck
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	bodyAccess, _ := out.body["access_token"].(string)
	bodyRefresh, _ := out.body["refresh_token"].(string)
	if ck := out.cookies[authkit.AccessCookie]; ck != nil && ck.MaxAge > 0 {
		out.access = ck.Value
	}
	if ck := out.cookies[authkit.RefreshCookie]; ck != nil && ck.MaxAge > 0 {
		out.refresh = ck.Value
	}
	switch c.e.m.delivery {
	case authkit.DeliverBody:
		if len(res.Cookies()) != 0 {
			c.e.t.Fatalf("body delivery set cookies: %v", res.Header.Values("Set-Cookie"))
		}
		out.access, out.refresh = bodyAccess, bodyRefresh
		if bodyAccess != "" {
			c.access, c.refresh = bodyAccess, bodyRefresh
			if out.body["token_type"] != "Bearer" || out.body["expires_in"] != float64(900) {
				c.e.t.Fatalf("token answer %s, want token_type Bearer and expires_in 900", raw)
			}
		}
	case authkit.DeliverCookiesAndBody:
		if bodyAccess != out.access || bodyRefresh != out.refresh {
			c.e.t.Fatalf("body tokens differ from cookies: %s vs %v", raw, res.Header.Values("Set-Cookie"))
		}
	default:
		if bodyAccess != "" || bodyRefresh != "" {
			c.e.t.Fatalf("cookie delivery put tokens in the body: %s", raw)
		}
	}
	return out
}

func (c *client) post(path string, body any) resp { c.e.t.Helper(); return c.do("POST", path, body) }

func (e *env) expect(r resp, status int, code string) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d (body %s)", r.status, status, r.raw)
	}
	if code != "" && r.body["error"] != code {
		e.t.Fatalf("error %v, want %q (body %s)", r.body["error"], code, r.raw)
	}
}

const goodPassword = "correct horse battery staple"

func (e *env) signup(email string) string {
	e.t.Helper()
	r := e.client().post("/auth/signup", map[string]string{"email": email, "password": goodPassword})
	e.expect(r, http.StatusCreated, "")
	return r.body["id"].(string)
}

func (e *env) login(email string) *client {
	e.t.Helper()
	c := e.client()
	r := c.post("/auth/login", map[string]string{"email": email, "password": goodPassword})
	e.expect(r, http.StatusOK, "")
	if c.accessToken() == "" || c.refreshToken() == "" {
		e.t.Fatalf("no tokens after login: %s %v", r.raw, r.header.Values("Set-Cookie"))
	}
	return c
}

func (e *env) code(secret string) string {
	e.t.Helper()
	code, err := totp.GenerateCodeCustom(secret, e.clock.Now(), totp.ValidateOpts{Digits: 6})
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

// enrollMFA enrolls and confirms TOTP for the signed-in client and returns
// the secret and the backup codes.
func (e *env) enrollMFA(c *client) (string, []string) {
	e.t.Helper()
	r := c.post("/auth/mfa/enroll", nil)
	e.expect(r, http.StatusOK, "")
	secret := r.body["secret"].(string)
	if !strings.HasPrefix(r.body["otpauth_url"].(string), "otpauth://totp/") || r.body["qr_png"] == "" {
		e.t.Fatalf("enroll body %s", r.raw)
	}
	r = c.post("/auth/mfa/confirm", map[string]string{"code": e.code(secret)})
	e.expect(r, http.StatusOK, "")
	var codes []string
	for _, v := range r.body["backup_codes"].([]any) {
		codes = append(codes, v.(string))
	}
	return secret, codes
}
