package browser

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// findChromium returns the browser binary, skipping the test when there is
// none, except under CI=true, where a missing browser is a failure.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (CI=true): apt-get install -y chromium")
	}
	t.Skip("chromium not found; install Debian's chromium package to run this test")
	return ""
}

// startServer builds ./examples/server from the repository root and runs
// it on a free loopback port; it returns the base URL. The server is stopped
// with SIGINT at the end of the test (graceful shutdown).
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	build := exec.Command("go", "build", "-o", bin, "./examples/server")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server exit: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("server did not shut down within 15 s of SIGINT")
		}
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("server log:\n%s", b)
			}
		}
	})
	sc := bufio.NewScanner(stdout)
	urlc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (http://\S+)`)
		sent := false
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
				urlc <- m[1]
				sent = true
			}
		}
		done <- cmd.Wait()
	}()
	select {
	case u := <-urlc:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("server did not print its URL within 30 s")
	}
	return ""
}

// totp computes an RFC 6238 code (HMAC-SHA1, 6 digits, 30 s steps).
func totp(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimSpace(secret)))
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1_000_000)
}

// browser starts headless Chromium with a fresh profile.
func browser(t *testing.T, chromium string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 1400),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

type shooter struct {
	t   *testing.T
	dir string
	n   int
}

// shot saves a full-page screenshot under the test's temp dir.
func (s *shooter) shot(ctx context.Context, name string) {
	s.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	s.n++
	p := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot %s", p)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// submit fills a form's fields and clicks its button, then waits for an
// element of the next page.
func submit(t *testing.T, ctx context.Context, fields map[string]string, button, next string) {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{}
	for sel, v := range fields {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(sel), v))
	}
	steps = append(steps, chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(next)))
	must(t, "submit "+button+" then wait "+next, chromedp.Do(ctx, steps...))
}

// cookies returns the browser's cookies for base by name.
func cookies(t *testing.T, ctx context.Context, base string) map[string]*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/", base + "/auth/x"}})
	if err != nil {
		t.Fatalf("get cookies: %v", err)
	}
	m := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		m[c.Name] = c
	}
	return m
}

// goClient signs in through the HTML forms with a cookie jar, as a second
// device, using a backup code for the second factor.
type goClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func newGoClient(t *testing.T, base string) *goClient {
	jar, _ := cookiejar.New(nil)
	return &goClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (g *goClient) get(path string) (int, string, string) {
	g.t.Helper()
	resp, err := g.c.Get(g.base + path)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(b)
}

func (g *goClient) post(path string, form url.Values) (int, string, string) {
	g.t.Helper()
	_, _, page := g.get(path)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		g.t.Fatalf("no csrf token on %s", path)
	}
	form.Set("csrf_token", m[1])
	req, _ := http.NewRequest(http.MethodPost, g.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := g.c.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(b)
}

// TestBrowserUI drives the example server's UI in headless Chromium.
func TestBrowserUI(t *testing.T) {
	chromium := findChromium(t)
	base := startServer(t, "-admin-email", "admin@example.com")
	ctx := browser(t, chromium)
	// Screenshots go to the test's temp dir, or to $AUTHKIT_SCREENSHOTS to
	// keep them.
	sh := &shooter{t: t, dir: t.TempDir()}
	if d := os.Getenv("AUTHKIT_SCREENSHOTS"); d != "" {
		must(t, "screenshot dir", os.MkdirAll(d, 0o755))
		sh.dir = d
	}
	const email, pw = "carol@example.com", "a long and unusual passphrase"

	// Sign up.
	must(t, "open signup", chromedp.Do(ctx, chromedp.Navigate(base+"/signup"), chromedp.WaitVisible(chromedp.CSS("#signup-form"))))
	sh.shot(ctx, "signup")
	submit(t, ctx, map[string]string{"#email": email, "#password": pw}, "#signup-submit", "#login-form")
	if f := text(t, ctx, "#flash"); !strings.Contains(f, "Account created") {
		t.Fatalf("after sign-up: flash %q", f)
	}

	// The UI's session cookie as the browser stored it.
	c := cookies(t, ctx, base)["__Host-session"]
	if c == nil || !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteLax || c.Path != "/" || !c.Session {
		t.Fatalf("__Host-session cookie: %+v", c)
	}

	// The JSON API's cookies, set by a same-origin fetch from the page.
	if os.Getenv("TMP_SKIP_API") == "" {
		status, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(
			`fetch("/auth/login", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({email: %q, password: %q})}).then(r => r.status)`,
			email, pw), chromedp.EvalAwaitPromise))
		must(t, "fetch /auth/login", err)
		if status != 200 {
			t.Fatalf("POST /auth/login from the page: %v", status)
		}
		all := cookies(t, ctx, base)
		if a := all["__Host-access_token"]; a == nil || !a.HTTPOnly || !a.Secure || a.SameSite != network.CookieSameSiteLax || a.Path != "/" {
			t.Fatalf("access_token cookie: %+v", a)
		}
		if r := all["__Secure-refresh_token"]; r == nil || !r.HTTPOnly || !r.Secure || r.SameSite != network.CookieSameSiteStrict || r.Path != "/auth" {
			t.Fatalf("refresh_token cookie: %+v", r)
		}
		me, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/api/me").then(r => r.text())`, chromedp.EvalAwaitPromise))
		must(t, "fetch /api/me", err)
		if !strings.Contains(me, email) {
			t.Fatalf("/api/me with the browser's cookie: %s", me)
		}
		// The page's scripts cannot read the HttpOnly cookies.
		docCookie, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
		must(t, "document.cookie", err)
		if docCookie != "" {
			t.Fatalf("document.cookie exposes %q", docCookie)
		}
	}

	// Log in through the form.
	submit(t, ctx, map[string]string{"#email": email, "#password": pw}, "#login-submit", "#account-email")
	if got := text(t, ctx, "#account-email"); got != email {
		t.Fatalf("account page shows %q", got)
	}
	sh.shot(ctx, "account")

	// Enroll TOTP: read the secret from the page, compute the code here.
	must(t, "enroll", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#mfa-enroll")), chromedp.WaitVisible(chromedp.CSS("#totp-secret"))))
	sh.shot(ctx, "enroll")
	secret := text(t, ctx, "#totp-secret")
	confirmedAt := time.Now()
	submit(t, ctx, map[string]string{"#code": totp(t, secret, confirmedAt)}, "#confirm-submit", "#backup-codes")
	sh.shot(ctx, "backup-codes")
	codes := regexp.MustCompile(`[A-Z2-9]{4}(?:-[A-Z2-9]{4})+`).FindAllString(text(t, ctx, "#backup-codes"), -1)
	if len(codes) != 10 {
		t.Fatalf("backup codes on the page: %d (%q)", len(codes), codes)
	}

	// Log out, then log in with a code. The confirm step spent the current
	// time step, so use the next one (accepted within T-1..T+1).
	signedIn := cookies(t, ctx, base)["__Host-session"]
	must(t, "logout", chromedp.Do(ctx, chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("#nav-logout")),
		chromedp.Click(chromedp.CSS("#nav-logout")), chromedp.WaitVisible(chromedp.CSS("#login-form"))))
	// The login page gives the visitor a new anonymous session (for its
	// CSRF token); the signed-in one is gone.
	if c := cookies(t, ctx, base)["__Host-session"]; signedIn == nil || (c != nil && c.Value == signedIn.Value) {
		t.Fatal("session cookie unchanged after logout")
	}
	submit(t, ctx, map[string]string{"#email": email, "#password": pw}, "#login-submit", "#mfa-form")
	sh.shot(ctx, "mfa-step")
	submit(t, ctx, map[string]string{"#code": totp(t, secret, confirmedAt.Add(30*time.Second))}, "#mfa-submit", "#account-email")
	if got := text(t, ctx, "#mfa-status"); !strings.Contains(got, "On") {
		t.Fatalf("mfa status %q", got)
	}

	// A second device (a Go client) signs in with a backup code; the
	// browser revokes it from the sessions list.
	dev := newGoClient(t, base)
	if st, path, body := dev.post("/login", url.Values{"email": {email}, "password": {pw}}); st != 200 || path != "/login/mfa" {
		t.Fatalf("device login: %d %s %s", st, path, body)
	}
	if st, path, body := dev.post("/login/mfa", url.Values{"code": {codes[0]}}); st != 200 || path != "/account" {
		t.Fatalf("device mfa: %d %s %s", st, path, body)
	}
	must(t, "reload account", chromedp.Do(ctx, chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("#sessions"))))
	rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#sessions tr.session"), chromedp.AtLeast(2)))
	must(t, "session rows", err)
	if len(rows) != 2 {
		t.Fatalf("sessions listed: %d, want 2", len(rows))
	}
	sh.shot(ctx, "sessions")
	must(t, "revoke", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#sessions tr.session:not(.current) button.revoke")),
		chromedp.WaitVisible(chromedp.CSS("#flash"))))
	if f := text(t, ctx, "#flash"); !strings.Contains(f, "signed out") {
		t.Fatalf("revoke flash %q", f)
	}
	if _, path, _ := dev.get("/account"); path != "/login" {
		t.Fatalf("revoked device still reaches %s", path)
	}
	rows, err = chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#sessions tr.session")))
	must(t, "session rows", err)
	if len(rows) != 1 {
		t.Fatalf("sessions after revoke: %d, want 1", len(rows))
	}

	// Still the browser's cookie attributes after all the rotations.
	c = cookies(t, ctx, base)["__Host-session"]
	if c == nil || !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteLax {
		t.Fatalf("__Host-session cookie: %+v", c)
	}
	sh.shot(ctx, "final")
}
