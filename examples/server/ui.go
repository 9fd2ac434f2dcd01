package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/session"
)

//go:embed templates/*.html static/*
var uiFiles embed.FS

// recentAuth is how long after an interactive sign-in the account page
// allows MFA changes without signing in again (ASVS 7.5.1).
const recentAuth = 10 * time.Minute

// ui is the browser interface: HTML forms over server-side sessions
// (session.Manager, "__Host-session" cookie), CSRF-protected by
// net/http.CrossOriginProtection plus a synchronizer token (middleware.CSRF
// in token mode, for browsers that send no Fetch Metadata).
//
// The token is bound to the visitor's session when there is one. Anonymous
// visitors (the sign-in and sign-up forms) get no stored session: their
// token is bound instead to a random pre-session value in the
// "__Host-csrf" cookie (a signed double-submit cookie, keyed by the
// server's CSRF key). The server stores nothing for them, a cross-site page
// can neither read nor set a __Host- cookie, and a forged form carries no
// matching token, so the anonymous forms are defended as the others are.
type ui struct {
	a     *App
	csrf  *middleware.CSRF
	pages map[string]*template.Template
	// bindKey derives the values that bind passkey ceremonies to a
	// browser (see binding).
	bindKey []byte
}

// Session keys of the UI.
const (
	keyFlash = "flash"
)

// newUI builds the UI handler: static files, then security headers, the
// session middleware, CSRF and the page routes.
func (a *App) newUI() (http.Handler, error) {
	u := &ui{a: a, pages: map[string]*template.Template{}, bindKey: a.sec.Key(labelPasskeyBinding)}
	var err error
	u.csrf, err = middleware.NewCSRF(middleware.CSRFConfig{
		TokenMode:     middleware.CSRFTokenAlways,
		SessionSecret: u.sessionSecret,
		Deny: func(w http.ResponseWriter, r *http.Request, err error) {
			a.log.Warn("ui: csrf rejected", "path", r.URL.Path, "err", err)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintln(w, "403 forbidden: this form was not submitted from this site (reload the page and try again)")
		},
	})
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"home", "signup", "login", "mfa", "account", "enroll", "backup", "admin", "error", "reauth"} {
		t, err := template.New("").Funcs(template.FuncMap{
			"since": func(t time.Time) string { return a.now().Sub(t).Round(time.Second).String() },
			"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		}).ParseFS(uiFiles, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, err
		}
		u.pages[p] = t
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", u.home)
	mux.HandleFunc("GET /signup", u.signupForm)
	mux.HandleFunc("POST /signup", u.signup)
	mux.HandleFunc("GET /login", u.loginForm)
	mux.HandleFunc("POST /login", u.login)
	mux.HandleFunc("GET /login/mfa", u.mfaForm)
	mux.HandleFunc("POST /login/mfa", u.mfaVerify)
	mux.HandleFunc("POST "+signOutPath, u.logout)
	mux.HandleFunc("GET /account", u.account)
	mux.HandleFunc("POST /account/mfa/enroll", u.enroll)
	mux.HandleFunc("POST /account/mfa/confirm", u.confirm)
	mux.HandleFunc("POST /account/mfa/disable", u.disable)
	mux.HandleFunc("POST /account/mfa/backup-codes", u.backupCodes)
	mux.HandleFunc("POST /account/password", u.password)
	mux.HandleFunc("POST /account/sessions/revoke", u.revoke)
	mux.HandleFunc("POST /account/logout-all", u.logoutAll)
	mux.HandleFunc("GET /admin", u.admin)
	mux.HandleFunc("GET /reauth", u.reauthForm)
	mux.HandleFunc("POST /reauth", u.reauth)
	mux.HandleFunc("POST /account/email", u.changeEmail)
	mux.HandleFunc("POST /account/delete", u.deleteAccount)
	u.passkeyRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.render(w, r, http.StatusNotFound, "error", &page{Title: "Not found", Error: "This page does not exist."})
	})

	static, err := fs.Sub(uiFiles, "static")
	if err != nil {
		return nil, err
	}
	outer := http.NewServeMux()
	outer.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
	outer.Handle("/", htmlHeaders(a.sessions.LoadAndSave(u.csrf.Handler(mux))))
	return outer, nil
}

// htmlHeaders sets the security headers of the HTML pages: a strict
// Content-Security-Policy (scripts only from /static: the passkey
// ceremonies; no inline script or style; the QR code is a data: image), no
// framing, no caching of pages that may show secrets.
func htmlHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// signOutPath is the UI's sign-out. It lives under /auth so that the
// browser sends the refresh-token cookie (Path=/auth) with it: signing out
// revokes the API token family that an OIDC sign-in started, not only the
// session.
const signOutPath = "/auth/signout"

// anonCSRFCookie holds the random pre-session value that anonymous
// visitors' CSRF tokens are bound to (see ui).
const anonCSRFCookie = "__Host-csrf"

// sessionSecret binds CSRF tokens to the session: an HMAC of the session
// token under a server key. The token changes at every login and renewal,
// so CSRF tokens rotate with it. Without a session, tokens bind to the
// anonymous visitor's __Host-csrf value.
func (u *ui) sessionSecret(r *http.Request) ([]byte, bool) {
	s, ok := session.FromContext(r.Context())
	if ok && s.Token() != "" {
		return u.csrfSecret("csrf session\x00", s.Token()), true
	}
	if v, ok := anonCSRFValue(r); ok {
		return u.csrfSecret("csrf anonymous\x00", v), true
	}
	return nil, false
}

func (u *ui) csrfSecret(label, v string) []byte {
	m := hmac.New(sha256.New, u.a.csrfKey)
	m.Write([]byte(label))
	m.Write([]byte(v))
	return m.Sum(nil)
}

// anonCSRFValue returns r's well-formed __Host-csrf value (32 random
// bytes, base64url).
func anonCSRFValue(r *http.Request) (string, bool) {
	c, err := r.Cookie(anonCSRFCookie)
	if err != nil {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	return c.Value, err == nil && len(b) == 32
}

// withAnonCSRF gives an anonymous visitor without a __Host-csrf value a
// fresh one: set on w, and returned in a copy of r for minting the form's
// token. Nothing is stored on the server.
func withAnonCSRF(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	if _, ok := anonCSRFValue(r); ok {
		return r, nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	c := &http.Cookie{Name: anonCSRFCookie, Value: base64.RawURLEncoding.EncodeToString(b[:]), Path: "/",
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	http.SetCookie(w, c)
	// The copy carries the new value only: a malformed one the browser
	// sent would otherwise come first and leave the form without a token.
	cookies := r.Cookies()
	r = r.Clone(r.Context())
	r.Header.Del("Cookie")
	for _, old := range cookies {
		if old.Name != anonCSRFCookie {
			r.AddCookie(old)
		}
	}
	r.AddCookie(c)
	return r, nil
}

// page is the data every template gets.
type page struct {
	Title   string
	CSRF    string
	User    *authkit.User
	IsAdmin bool
	OIDC    bool
	Flash   string
	Error   string

	Email       string
	ReturnTo    string
	MFAEnabled  bool
	RecentAuth  bool
	Enroll      *enrollView
	BackupCodes []string
	Sessions    []session.Info
	Stats       *statsJSON
	Passkeys    []passkeyRow
	Signal      *signalView
}

type enrollView struct {
	Secret string
	URL    string
	QR     template.URL
}

// render executes a page with a CSRF token for its forms: bound to the
// session, or for an anonymous visitor to a __Host-csrf value (no session
// is stored for anonymous visitors).
func (u *ui) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	ctx := r.Context()
	s, ok := session.FromContext(ctx)
	if !ok {
		u.bug(w, "no session middleware", errors.New("session missing from context"))
		return
	}
	tr := r
	if s.Token() == "" {
		var err error
		if tr, err = withAnonCSRF(w, r); err != nil {
			u.bug(w, "csrf cookie", err)
			return
		}
	}
	tok, err := u.csrf.Token(tr)
	if err != nil {
		u.bug(w, "csrf token", err)
		return
	}
	p.CSRF = tok
	p.OIDC = u.a.oidc != nil
	if p.User != nil {
		p.IsAdmin = u.a.authz.Can(p.User.Roles, permAdminStats)
	}
	if p.Flash == "" {
		var flash string
		if found, _ := s.Pop(keyFlash, &flash); found {
			p.Flash = flash
		}
	}
	var buf bytes.Buffer
	if err := u.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		u.bug(w, "template "+name, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// retryAfterSeconds is the Retry-After of a 503 answer.
const retryAfterSeconds = "5"

// fail answers an error the UI cannot show as a message. A failing store
// (user table, sessions, MFA) is 503 with Retry-After, like every JSON
// endpoint; 500 is only for bugs (see isBug). Both are logged, never shown.
func (u *ui) fail(w http.ResponseWriter, what string, err error) {
	if isBug(err) {
		u.bug(w, what, err)
		return
	}
	u.a.log.Error("ui: "+what, "err", err)
	writeUnavailablePage(w)
}

// writeUnavailablePage is the UI's 503.
func writeUnavailablePage(w http.ResponseWriter) {
	w.Header().Set("Retry-After", retryAfterSeconds)
	http.Error(w, "503 service unavailable: please try again in a few seconds", http.StatusServiceUnavailable)
}

// bug answers 500 for an error no retry can fix.
func (u *ui) bug(w http.ResponseWriter, what string, err error) {
	u.a.log.Error("ui: "+what, "err", err, "bug", true)
	http.Error(w, "500 internal error", http.StatusInternalServerError)
}

// isBug reports errors that no retry can fix (a misconfiguration, a key
// that cannot open what it should); every other unexpected error is taken
// for a failing dependency and answered 503.
func isBug(err error) bool {
	for _, target := range []error{
		authkit.ErrInvalidConfig, mfa.ErrInvalidConfig, session.ErrInvalidConfig, mfa.ErrSealedSecret,
		jwt.ErrNoSigningKey, jwt.ErrReservedClaim, jwt.ErrKeyMismatch, jwt.ErrUnsupportedAlg, jwt.ErrWeakKey,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func (u *ui) flash(r *http.Request, msg string) {
	if s, ok := session.FromContext(r.Context()); ok {
		_ = s.Put(keyFlash, msg)
	}
}

// currentUser returns the signed-in user, or nil. A disabled or deleted
// account ends the session.
func (u *ui) currentUser(w http.ResponseWriter, r *http.Request) (*authkit.User, bool) {
	ctx := r.Context()
	s, ok := session.FromContext(ctx)
	if !ok || s.UserID() == "" {
		return nil, true
	}
	usr, found, err := u.a.accounts.UserByID(ctx, s.UserID())
	if err != nil {
		u.fail(w, "user store", err)
		return nil, false
	}
	if !found || usr.Disabled {
		_ = u.a.sessions.Logout(ctx)
		return nil, true
	}
	return &usr, true
}

// requireUser is currentUser that redirects anonymous visitors to /login.
func (u *ui) requireUser(w http.ResponseWriter, r *http.Request) (*authkit.User, bool) {
	usr, ok := u.currentUser(w, r)
	if !ok {
		return nil, false
	}
	if usr == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil, false
	}
	return usr, true
}

func (u *ui) home(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.currentUser(w, r)
	if !ok {
		return
	}
	if usr != nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	u.render(w, r, http.StatusOK, "home", &page{Title: "Welcome"})
}

func (u *ui) signupForm(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "signup", &page{Title: "Create an account"})
}

func (u *ui) signup(w http.ResponseWriter, r *http.Request) {
	email, pw := r.PostFormValue("email"), r.PostFormValue("password")
	usr, err := u.a.auth.Signup(r.Context(), email, pw, u.a.auth.ClientOf(r))
	if err != nil {
		status, msg := u.describe(err)
		u.render(w, r, status, "signup", &page{Title: "Create an account", Error: msg, Email: email})
		return
	}
	u.flash(r, "Account created for "+usr.Email+". Sign in below.")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (u *ui) loginForm(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.currentUser(w, r)
	if !ok {
		return
	}
	if usr != nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	u.render(w, r, http.StatusOK, "login", &page{Title: "Sign in"})
}

func (u *ui) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	email := r.PostFormValue("email")
	res, err := u.a.auth.Login(ctx, email, r.PostFormValue("password"), u.a.auth.ClientOf(r))
	if err != nil {
		status, msg := u.describe(err)
		u.render(w, r, status, "login", &page{Title: "Sign in", Error: msg, Email: email})
		return
	}
	if res.MFARequired() {
		// Password accepted, second factor due: the session gets a new id
		// and keeps the challenge, but names no user until the code passes.
		if err := u.a.sessions.BeginMFAChallenge(ctx, res.MFAToken); err != nil {
			u.fail(w, "session mfa", err)
			return
		}
		http.Redirect(w, r, "/login/mfa", http.StatusSeeOther)
		return
	}
	if err := u.a.sessions.SignIn(ctx, res.User.ID, []string{authkit.AMRPassword}); err != nil {
		u.fail(w, "session login", err)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (u *ui) mfaForm(w http.ResponseWriter, r *http.Request) {
	s, _ := session.FromContext(r.Context())
	if s.MFAChallenge() == "" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	u.render(w, r, http.StatusOK, "mfa", &page{Title: "Two-step verification"})
}

func (u *ui) mfaVerify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	tok := s.MFAChallenge()
	if tok == "" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	usr, err := u.a.auth.VerifyMFA(ctx, tok, r.PostFormValue("code"), u.a.auth.ClientOf(r))
	if err != nil {
		status, msg := u.describe(err)
		u.render(w, r, status, "mfa", &page{Title: "Two-step verification", Error: msg})
		return
	}
	// Both factors passed: a new session id, AuthTime and MFATime, and the
	// methods for step-up checks.
	if err := u.a.sessions.SignIn(ctx, usr.ID, []string{authkit.AMRPassword, authkit.AMROTP}); err != nil {
		u.fail(w, "session login", err)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// logout ends the session and the API token family of this browser (an
// OIDC sign-in issues API token cookies too): every refresh token the
// browser sent is revoked and the token cookies are cleared.
func (u *ui) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	uid := s.UserID()
	for _, c := range r.CookiesNamed(authkit.RefreshCookie) {
		if err := u.a.auth.Logout(ctx, c.Value, u.a.auth.ClientOf(r)); err != nil {
			u.fail(w, "logout", err)
			return
		}
	}
	authkit.ClearTokenCookies(w)
	if err := u.a.sessions.Logout(ctx); err != nil {
		u.fail(w, "logout", err)
		return
	}
	if uid != "" {
		u.a.audit.Emit(ctx, authkit.Event{Type: authkit.EventLogout, UserID: uid, IP: u.a.ip(r),
			UserAgent: r.UserAgent(), Outcome: authkit.OutcomeSuccess, Reason: "ui"})
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (u *ui) account(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	enrolled, err := u.a.mfa.Enrolled(ctx, usr.ID)
	if err != nil {
		u.fail(w, "mfa", err)
		return
	}
	list, err := u.a.sessions.ListUser(ctx, usr.ID)
	if err != nil {
		u.fail(w, "sessions", err)
		return
	}
	keys, err := u.passkeyRows(r, usr.ID)
	if err != nil {
		u.fail(w, "passkeys", err)
		return
	}
	s, _ := session.FromContext(ctx)
	u.render(w, r, http.StatusOK, "account", &page{
		Title: "Your account", User: usr, MFAEnabled: enrolled, Sessions: list, Passkeys: keys, Signal: popSignal(s),
		RecentAuth: u.a.now().Sub(s.AuthTime()) <= recentAuth,
	})
}

// requireRecent refuses MFA changes when the sign-in is older than
// recentAuth (ASVS 7.5.1), with the step-up check the sensitive routes use:
// the browser goes to /reauth and comes back.
func (u *ui) requireRecent(w http.ResponseWriter, r *http.Request, usr *authkit.User) bool {
	s, _ := session.FromContext(r.Context())
	if u.a.stepUp.Check(sessionPrincipal(s), middleware.Requirement{MaxAge: recentAuth}) == nil {
		return true
	}
	u.flash(r, "For your security, confirm it is you before changing two-step verification.")
	http.Redirect(w, r, "/reauth?return_to=%2Faccount", http.StatusSeeOther)
	return false
}

func (u *ui) enroll(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok || !u.requireRecent(w, r, usr) {
		return
	}
	s, _ := session.FromContext(r.Context())
	setup, err := u.a.auth.EnrollMFA(r.Context(), usr.ID, s.AuthTime(), s.AMR(), r.PostFormValue("code"), u.a.auth.ClientOf(r))
	if err != nil {
		u.flashError(w, r, "", err)
		return
	}
	u.render(w, r, http.StatusOK, "enroll", &page{Title: "Set up two-step verification", User: usr, Enroll: &enrollView{
		Secret: setup.Secret, URL: setup.URL,
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(setup.QRPNG)),
	}})
}

func (u *ui) confirm(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok || !u.requireRecent(w, r, usr) {
		return
	}
	ctx := r.Context()
	codes, err := u.a.auth.ConfirmMFA(ctx, usr.ID, r.PostFormValue("code"), u.a.auth.ClientOf(r))
	if err != nil {
		status, msg := u.describe(err)
		u.render(w, r, status, "enroll", &page{Title: "Set up two-step verification", User: usr, Error: msg + " Start again to get a new key."})
		return
	}
	// A privilege change: new session id.
	if err := u.a.sessions.Renew(ctx); err != nil {
		u.fail(w, "session renew", err)
		return
	}
	u.render(w, r, http.StatusOK, "backup", &page{Title: "Your backup codes", User: usr, BackupCodes: codes,
		Flash: "Two-step verification is on. You will need a code at your next sign-in."})
}

func (u *ui) disable(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok || !u.requireRecent(w, r, usr) {
		return
	}
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	if err := u.a.auth.DisableMFA(ctx, usr.ID, s.AuthTime(), r.PostFormValue("code"), u.a.auth.ClientOf(r)); err != nil {
		u.flashError(w, r, "", err)
		return
	}
	u.flash(r, "Two-step verification is off.")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (u *ui) backupCodes(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok || !u.requireRecent(w, r, usr) {
		return
	}
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	codes, err := u.a.auth.RegenerateBackupCodes(ctx, usr.ID, s.AuthTime(), r.PostFormValue("code"), u.a.auth.ClientOf(r))
	if err != nil {
		u.flashError(w, r, "", err)
		return
	}
	u.render(w, r, http.StatusOK, "backup", &page{Title: "Your backup codes", User: usr, BackupCodes: codes,
		Flash: "New backup codes. The old ones no longer work."})
}

func (u *ui) password(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	_, err := u.a.auth.ChangePassword(ctx, usr.ID, r.PostFormValue("current_password"), r.PostFormValue("new_password"), u.a.auth.ClientOf(r))
	if err != nil {
		u.flashError(w, r, "Password not changed: ", err)
		return
	}
	// The flow ended the user's other sessions; this browser stays signed
	// in with a fresh session, dated now by the password just checked.
	if err := u.a.sessions.SignIn(ctx, usr.ID, []string{authkit.AMRPassword}); err != nil {
		u.fail(w, "session login", err)
		return
	}
	u.flash(r, "Password changed. Your other sessions were signed out.")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (u *ui) revoke(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PostFormValue("id")
	s, _ := session.FromContext(ctx)
	if id == s.ID() {
		u.logout(w, r)
		return
	}
	err := u.a.sessions.Revoke(ctx, usr.ID, id)
	switch {
	case errors.Is(err, session.ErrNotFound):
		u.flash(r, "That session had already ended.")
	case err != nil:
		u.fail(w, "revoke", err)
		return
	default:
		u.a.audit.Emit(ctx, authkit.Event{Type: authkit.EventSessionRevoked, UserID: usr.ID, IP: u.a.ip(r),
			UserAgent: r.UserAgent(), Outcome: authkit.OutcomeSuccess, Reason: "ui"})
		u.flash(r, "Session signed out.")
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (u *ui) logoutAll(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok {
		return
	}
	if err := u.a.auth.LogoutAll(r.Context(), usr.ID, u.a.auth.ClientOf(r)); err != nil {
		u.fail(w, "logout all", err)
		return
	}
	// This session may already be gone (the flow ends every session of the
	// user); end it here in any case.
	_ = u.a.sessions.Logout(r.Context())
	u.flash(r, "You were signed out everywhere.")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (u *ui) admin(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok {
		return
	}
	if !u.a.authz.Can(usr.Roles, permAdminStats) {
		u.render(w, r, http.StatusForbidden, "error", &page{Title: "Forbidden", User: usr,
			Error: "You need the admin:stats permission to see this page."})
		return
	}
	st, err := u.a.stats(r)
	if err != nil {
		u.fail(w, "stats", err)
		return
	}
	u.render(w, r, http.StatusOK, "admin", &page{Title: "Administration", User: usr, Stats: &st})
}

// flashError shows a refused account change on the account page; a store
// failure or bug gets its 503 or 500 instead.
func (u *ui) flashError(w http.ResponseWriter, r *http.Request, prefix string, err error) {
	status, msg := u.describe(err)
	switch status {
	case http.StatusServiceUnavailable:
		writeUnavailablePage(w)
	case http.StatusInternalServerError:
		http.Error(w, "500 internal error", status)
	default:
		u.flash(r, prefix+msg)
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	}
}

// describe turns a login-flow error into a status code and a message for
// the user. Messages stay vague where details would help an attacker (one
// answer for a wrong password and an unknown account). A store or capacity
// failure is 503 with Retry-After; anything else is a bug: 500.
func (u *ui) describe(err error) (int, string) {
	var weak *password.PolicyError
	var thr *authkit.ThrottledError
	switch {
	case errors.As(err, &weak):
		return http.StatusBadRequest, "Choose a stronger password (" + strings.ReplaceAll(string(weak.Rule), "_", " ") + ")."
	case errors.As(err, &thr):
		return http.StatusTooManyRequests, fmt.Sprintf("Too many attempts. Try again in %d seconds.", middleware.RetryAfterSeconds(thr.RetryAfter))
	case errors.Is(err, authkit.ErrInvalidCredentials):
		return http.StatusUnauthorized, "Wrong email or password."
	case errors.Is(err, authkit.ErrInvalidCode):
		return http.StatusUnauthorized, "That code is not valid."
	case errors.Is(err, mfa.ErrFactorRequired), errors.Is(err, authkit.ErrMFARequired):
		return http.StatusUnauthorized, "Enter a current code from your authenticator app (or a backup code)."
	case errors.Is(err, authkit.ErrReauthRequired):
		return http.StatusUnauthorized, "For your security, sign in again first."
	case errors.Is(err, errNoAccount), errors.Is(err, authkit.ErrNotSignedIn):
		return http.StatusUnauthorized, "Sign in again."
	case errors.Is(err, authkit.ErrLoginTaken):
		return http.StatusConflict, "An account with this email already exists."
	case errors.Is(err, authkit.ErrInvalidEmail):
		return http.StatusBadRequest, "Enter a valid email address."
	case err == authkit.ErrMFAStateLost: // not wrapping a store failure
		return http.StatusForbidden, "Two-step verification for this account needs attention. Contact support."
	case isBug(err):
		u.a.log.Error("ui: flow", "err", err, "bug", true)
		return http.StatusInternalServerError, "Something went wrong. Please try again."
	}
	u.a.log.Error("ui: flow: dependency failed", "err", err)
	return http.StatusServiceUnavailable, "The service is briefly unavailable. Please try again in a few seconds."
}
