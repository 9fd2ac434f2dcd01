package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/session"
)

// Step-up authentication (RFC 9470). Changing the email and deleting the
// account need a sign-in from the last stepUpMaxAge:
//
//   - the API routes (POST /api/account/email, POST /api/account/delete) are
//     wrapped with middleware.StepUp: a token whose auth_time is older gets
//     401 with WWW-Authenticate: Bearer
//     error="insufficient_user_authentication", max_age=300; the client signs
//     in again (POST /auth/login, and /auth/mfa/verify when enrolled) and
//     retries with the new token;
//   - the UI checks the session's sign-in with the same StepUp and sends the
//     browser to /reauth, which asks for the password (and a TOTP or backup
//     code when enrolled) or one of the user's passkeys, renews the session
//     with authkit.Auth.ReauthenticateSession or
//     ReauthenticateSessionPasskey (new id, fresh AuthTime, the methods
//     used) and returns to the account page.
const stepUpMaxAge = 5 * time.Minute

// sensitive is the Requirement of the step-up routes.
var sensitive = middleware.Requirement{MaxAge: stepUpMaxAge}

func (a *App) newStepUp() (*middleware.StepUp, error) {
	return middleware.NewStepUp(middleware.StepUpConfig{Now: a.now, ReauthURL: "/reauth"})
}

// handleChangeEmail answers POST /api/account/email {"email": "..."}.
func (a *App) handleChangeEmail(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.FromContext(r.Context())
	var body struct {
		Email string `json:"email"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || dec.Decode(&body) != nil {
		middleware.WriteError(w, http.StatusBadRequest, middleware.CodeInvalidRequest)
		return
	}
	u, err := a.changeEmail(r, p.Subject, body.Email)
	switch {
	case errors.Is(err, authkit.ErrInvalidEmail):
		middleware.WriteError(w, http.StatusBadRequest, middleware.CodeInvalidEmail)
	case errors.Is(err, authkit.ErrLoginTaken):
		middleware.WriteError(w, http.StatusConflict, middleware.CodeEmailTaken)
	case errors.Is(err, errNoAccount):
		middleware.WriteError(w, http.StatusUnauthorized, middleware.CodeUnauthenticated)
	case err != nil:
		a.apiFail(w, "api/account/email", err)
	default:
		writeJSON(w, http.StatusOK, userJSON{ID: u.ID, Email: u.Email, Roles: nonNil(u.Roles)})
	}
}

var errNoAccount = errors.New("no such account")

// changeEmail sets the user's login name to email (canonicalized; the new
// address is unverified) and audits it.
func (a *App) changeEmail(r *http.Request, userID, email string) (authkit.User, error) {
	ctx := r.Context()
	login, ok := authkit.CanonicalLogin(email)
	if !ok || !strings.Contains(login, "@") {
		return authkit.User{}, authkit.ErrInvalidEmail
	}
	if err := a.accounts.SetEmail(ctx, userID, login); err != nil {
		return authkit.User{}, err
	}
	u, found, err := a.accounts.UserByID(ctx, userID)
	if err != nil {
		return authkit.User{}, err
	}
	if !found || u.Disabled {
		return authkit.User{}, errNoAccount
	}
	a.audit.Emit(ctx, authkit.Event{Type: authkit.EventType("account.email_changed"), UserID: userID, Login: login,
		IP: a.ip(r), UserAgent: r.UserAgent(), Outcome: authkit.OutcomeSuccess})
	return u, nil
}

// handleDeleteAccount answers POST /api/account/delete: the account is
// disabled (authkit.Auth.DisableUser: its sessions, refresh-token families
// and access tokens end) and the token cookies cleared.
func (a *App) handleDeleteAccount(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.FromContext(r.Context())
	if err := a.auth.DisableUser(r.Context(), p.Subject, a.auth.ClientOf(r)); err != nil {
		a.apiFail(w, "api/account/delete", err)
		return
	}
	authkit.ClearTokenCookies(w)
	w.WriteHeader(http.StatusNoContent)
}

// sessionPrincipal describes the session's sign-in for StepUp.Check.
func sessionPrincipal(s *session.Session) middleware.Principal {
	return middleware.Principal{Subject: s.UserID(), Method: "session", AuthTime: s.AuthTime(), AMR: s.AMR()}
}

// requireStepUp lets the request through when the session's sign-in meets
// the sensitive Requirement; otherwise it sends the browser to /reauth and
// returns false.
func (u *ui) requireStepUp(w http.ResponseWriter, r *http.Request) bool {
	s, _ := session.FromContext(r.Context())
	if err := u.a.stepUp.Check(sessionPrincipal(s), sensitive); err != nil {
		u.flash(r, "Confirm it is you, then submit the change again.")
		http.Redirect(w, r, "/reauth?return_to=%2Faccount", http.StatusSeeOther)
		return false
	}
	return true
}

// returnTo accepts only the account pages as the target after /reauth: a
// clean path (no dot segments, which http.Redirect would resolve out of
// /account/) of letters, digits, '-', '_' and '/' (no controls, which
// browsers drop from a Location, no '\\', '%', '?' or '#').
func returnTo(v string) string {
	if v != "/account" && !strings.HasPrefix(v, "/account/") || path.Clean(v) != v {
		return "/account"
	}
	for _, c := range v {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '/') {
			return "/account"
		}
	}
	return v
}

func (u *ui) reauthForm(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok {
		return
	}
	enrolled, err := u.a.mfa.Enrolled(r.Context(), usr.ID)
	if err != nil {
		u.fail(w, "mfa", err)
		return
	}
	keys, err := u.passkeyRows(r, usr.ID)
	if err != nil {
		u.fail(w, "passkeys", err)
		return
	}
	u.render(w, r, http.StatusOK, "reauth", &page{Title: "Confirm it is you", User: usr, MFAEnabled: enrolled, Passkeys: keys,
		ReturnTo: returnTo(r.URL.Query().Get("return_to"))})
}

// reauth signs the session's user in again through the root flow
// (authkit.Auth.ReauthenticateSession): the password, and the second
// factor when one is enrolled. The session gets a new id, a fresh AuthTime
// and the methods used (and MFATime after a code).
func (u *ui) reauth(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	c := u.a.auth.ClientOf(r)
	back := returnTo(r.PostFormValue("return_to"))
	again := func(err error) {
		enrolled, _ := u.a.mfa.Enrolled(ctx, usr.ID)
		keys, _ := u.passkeyRows(r, usr.ID)
		status, msg := u.describe(err)
		u.render(w, r, status, "reauth", &page{Title: "Confirm it is you", User: usr, MFAEnabled: enrolled, Passkeys: keys, ReturnTo: back, Error: msg})
	}
	if _, err := u.a.auth.ReauthenticateSession(ctx, r.PostFormValue("password"), r.PostFormValue("code"), sensitive, c); err != nil {
		again(err)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (u *ui) changeEmail(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok || !u.requireStepUp(w, r) {
		return
	}
	nu, err := u.a.changeEmail(r, usr.ID, r.PostFormValue("email"))
	if err != nil {
		u.flashError(w, r, "Email not changed: ", err)
		return
	}
	u.flash(r, "Your email is now "+nu.Email+".")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (u *ui) deleteAccount(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok || !u.requireStepUp(w, r) {
		return
	}
	ctx := r.Context()
	if err := u.a.auth.DisableUser(ctx, usr.ID, u.a.auth.ClientOf(r)); err != nil {
		u.fail(w, "delete account", err)
		return
	}
	authkit.ClearTokenCookies(w)
	_ = u.a.sessions.Logout(ctx) // DisableUser ended every session already
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
