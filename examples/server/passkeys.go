package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/session"
)

// Passkeys in the UI. Every ceremony needs JavaScript (WebAuthn is a
// browser API): static/passkey.js asks one of the JSON endpoints below for
// options, runs navigator.credentials.create() or .get() and posts the
// credential back. The endpoints sit behind the same session and CSRF
// protection as the forms (the page's token goes in the X-CSRF-Token
// header) and answer JSON:
//
//	POST /login/passkey/options        {"conditional":bool} → {"options","expires_at"}
//	POST /login/passkey                {"credential"}       → {"redirect"}  signs in: new session id
//	POST /login/mfa/passkey/options    {}                   → {"options","expires_at"}  after the password
//	POST /login/mfa/passkey            {"credential"}       → {"redirect"}
//	POST /account/passkeys/options     {}                   → {"options","expires_at"}  recent sign-in
//	POST /account/passkeys             {"name","credential"} → 201 {"redirect"}
//	POST /reauth/passkey/options       {}                   → {"options","expires_at"}
//	POST /reauth/passkey               {"credential","return_to"} → {"redirect"}
//
// Errors are {"error": code, "message": text for the page}; a sign-in
// whose challenge expired while the page sat open answers 409
// {"error":"challenge_expired"} with fresh "options" when the flow could
// renew them, and an unknown credential carries the "signal" payload for
// PublicKeyCredential.signalUnknownCredential. Renaming and removing are
// plain forms (POST /account/passkeys/rename and /remove) that work without
// JavaScript; after a removal the account page hands the Signal API
// payloads to the script.
//
// Each ceremony is bound to the browser that began it: the binding is an
// HMAC, under a server key, of the session token (or, for an anonymous
// visitor, of its __Host-csrf value), so neither value appears in the
// ticket store and a ceremony begun in one browser cannot be finished in
// another.

// Session keys of the passkey UI.
const (
	// keySignal holds the Signal API payloads of a removal until the
	// account page shows them to the script.
	keySignal = "passkey_signal"
)

// labelPasskeyBinding is the label of the server key that derives binding
// values.
const labelPasskeyBinding = "example-passkey-binding"

// maxPasskeyJSON bounds the body of the passkey JSON endpoints: the
// credential plus a name.
const maxPasskeyJSON = passkey.MaxResponseBytes + 4096

// passkeyRow is one passkey on the account page.
type passkeyRow struct {
	ID         string // base64url credential id
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
	Synced     bool
}

// signalView is what the account page gives the script after a removal.
type signalView struct {
	Unknown     string // JSON for signalUnknownCredential
	AllAccepted string // JSON for signalAllAcceptedCredentials
}

func (u *ui) passkeyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /login/passkey/options", u.passkeyLoginOptions)
	mux.HandleFunc("POST /login/passkey", u.passkeyLogin)
	mux.HandleFunc("POST /login/mfa/passkey/options", u.passkeyMFAOptions)
	mux.HandleFunc("POST /login/mfa/passkey", u.passkeyMFA)
	mux.HandleFunc("POST /account/passkeys/options", u.passkeyRegisterOptions)
	mux.HandleFunc("POST /account/passkeys", u.passkeyRegister)
	mux.HandleFunc("POST /account/passkeys/rename", u.passkeyRename)
	mux.HandleFunc("POST /account/passkeys/remove", u.passkeyRemove)
	mux.HandleFunc("POST /reauth/passkey/options", u.passkeyReauthOptions)
	mux.HandleFunc("POST /reauth/passkey", u.passkeyReauth)
}

// binding returns the value that binds a ceremony to this browser (see
// above); false when the browser has neither a session nor a __Host-csrf
// value, which the CSRF check has refused before.
func (u *ui) binding(r *http.Request) (string, bool) {
	label, v := "", ""
	if s, ok := session.FromContext(r.Context()); ok && s.Token() != "" {
		label, v = "session\x00", s.Token()
	} else if anon, ok := anonCSRFValue(r); ok {
		label, v = "anonymous\x00", anon
	} else {
		return "", false
	}
	m := hmac.New(sha256.New, u.bindKey)
	m.Write([]byte(label))
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)), true
}

// requireBinding is binding for the JSON endpoints: without a value to
// bind to it answers the passkey error and returns false.
func (u *ui) requireBinding(w http.ResponseWriter, r *http.Request) (string, bool) {
	b, ok := u.binding(r)
	if !ok {
		u.passkeyFail(w, passkey.ErrNoBinding)
	}
	return b, ok
}

// passkeyRequest is the body of the passkey JSON endpoints.
type passkeyRequest struct {
	Conditional bool            `json:"conditional"`
	Name        string          `json:"name"`
	ReturnTo    string          `json:"return_to"`
	Credential  json.RawMessage `json:"credential"`
}

// readPasskeyJSON decodes the request body; an empty body is {}.
func readPasskeyJSON(w http.ResponseWriter, r *http.Request, needCredential bool) (passkeyRequest, bool) {
	var req passkeyRequest
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		writePasskeyError(w, http.StatusUnsupportedMediaType, "invalid_request", "Send JSON.")
		return req, false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPasskeyJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writePasskeyError(w, http.StatusBadRequest, "invalid_request", "The request could not be read.")
		return req, false
	}
	if needCredential && (len(req.Credential) == 0 || string(req.Credential) == "null") {
		writePasskeyError(w, http.StatusBadRequest, "invalid_request", "The passkey response is missing.")
		return req, false
	}
	return req, true
}

// passkeyError is the body of a refused passkey request.
type passkeyError struct {
	Error     string          `json:"error"`
	Message   string          `json:"message"`
	Redirect  string          `json:"redirect,omitempty"`
	Options   json.RawMessage `json:"options,omitempty"`
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
	Signal    any             `json:"signal,omitempty"`
}

func writePasskeyError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, passkeyError{Error: code, Message: msg})
}

// writeOptions answers a begun ceremony.
func writeOptions(w http.ResponseWriter, o passkey.Options) {
	writeJSON(w, http.StatusOK, struct {
		Options   json.RawMessage `json:"options"`
		ExpiresAt time.Time       `json:"expires_at"`
	}{o.JSON, o.Expires.UTC()})
}

// passkeyFail answers a refused ceremony or a failing dependency.
func (u *ui) passkeyFail(w http.ResponseWriter, err error) {
	var expired *passkey.ChallengeExpiredError
	var unknown *passkey.UnknownCredentialError
	e := passkeyError{}
	status := http.StatusUnauthorized
	switch {
	case errors.As(err, &expired):
		// A conditional-UI offer that sat open past its timeout: the page
		// runs the fresh ceremony instead of showing an error.
		exp := expired.Fresh.Expires.UTC()
		status, e = http.StatusConflict, passkeyError{Error: "challenge_expired", Options: expired.Fresh.JSON, ExpiresAt: &exp,
			Message: "The passkey request expired. Choose your passkey again."}
	case errors.Is(err, passkey.ErrChallengeExpired):
		status, e = http.StatusConflict, passkeyError{Error: "challenge_expired", Message: "The passkey request expired. Try again."}
	case errors.As(err, &unknown):
		e = passkeyError{Error: "unknown_credential", Signal: map[string]any{"unknown": unknown.Signal},
			Message: "This passkey is not registered here (it may have been removed). Choose another or sign in with your password."}
	case errors.Is(err, passkey.ErrReplay), errors.Is(err, passkey.ErrChallenge),
		errors.Is(err, passkey.ErrBindingMismatch), errors.Is(err, passkey.ErrNoBinding):
		status, e = http.StatusBadRequest, passkeyError{Error: "invalid_challenge", Message: "This passkey request is no longer valid. Try again."}
	case errors.Is(err, passkey.ErrMalformed):
		status, e = http.StatusBadRequest, passkeyError{Error: "invalid_request", Message: "The passkey response could not be read."}
	case errors.Is(err, passkey.ErrInvalidName):
		status, e = http.StatusBadRequest, passkeyError{Error: "invalid_name", Message: "Choose a name of at most 100 characters."}
	case errors.Is(err, passkey.ErrCredentialExists):
		status, e = http.StatusConflict, passkeyError{Error: "credential_exists", Message: "This passkey is already registered."}
	case errors.Is(err, passkey.ErrNotFound):
		status, e = http.StatusNotFound, passkeyError{Error: "no_passkey", Message: "No passkey is registered for this account."}
	case errors.Is(err, passkey.ErrWrongUser):
		e = passkeyError{Error: "wrong_user", Message: "This passkey belongs to another account."}
	case errors.Is(err, passkey.ErrWrongOrigin), errors.Is(err, passkey.ErrWrongRPID), errors.Is(err, passkey.ErrWrongType),
		errors.Is(err, passkey.ErrUserVerification), errors.Is(err, passkey.ErrSignature), errors.Is(err, passkey.ErrClonedAuthenticator):
		e = passkeyError{Error: "passkey_refused", Message: "The passkey could not be verified."}
	case errors.Is(err, authkit.ErrPasskeysNotConfigured):
		status, e = http.StatusNotFound, passkeyError{Error: "not_configured", Message: "Passkeys are not enabled on this server."}
	case errors.Is(err, authkit.ErrReauthRequired):
		e = passkeyError{Error: "reauth_required", Redirect: "/reauth?return_to=%2Faccount",
			Message: "For your security, confirm it is you first."}
	case errors.Is(err, authkit.ErrMFARequired):
		// Passkeys count as one factor here and the account has TOTP.
		e = passkeyError{Error: "mfa_required",
			Message: "This account needs its password and a code from the authenticator app; a passkey can then replace the code."}
	case errors.Is(err, authkit.ErrInvalidCode):
		// The second-factor step is spent or expired.
		e = passkeyError{Error: "invalid_challenge", Redirect: "/login", Message: "This sign-in expired. Start again."}
	case errors.Is(err, authkit.ErrNotSignedIn):
		e = passkeyError{Error: "unauthenticated", Message: "Sign in again.", Redirect: "/login"}
	case errors.Is(err, authkit.ErrInvalidCredentials):
		// A disabled account, or another account's passkey.
		e = passkeyError{Error: "invalid_credentials", Message: "The passkey could not be verified."}
	default:
		var msg string
		status, msg = u.describe(err)
		e = passkeyError{Error: codeFor(status), Message: msg}
	}
	writeJSON(w, status, e)
}

// codeFor names the status of an error u.describe mapped.
func codeFor(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "throttled"
	case http.StatusServiceUnavailable:
		return "unavailable"
	case http.StatusInternalServerError:
		return "internal"
	case http.StatusConflict:
		return "conflict"
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusForbidden:
		return "forbidden"
	}
	return "unauthorized"
}

// jsonUser is requireUser for the JSON endpoints: 401 with a redirect to
// the sign-in page instead of a redirect.
func (u *ui) jsonUser(w http.ResponseWriter, r *http.Request) (*authkit.User, bool) {
	usr, ok := u.currentUser(w, r)
	if !ok {
		return nil, false
	}
	if usr == nil {
		writeJSON(w, http.StatusUnauthorized, passkeyError{Error: "unauthenticated", Message: "Sign in first.", Redirect: "/login"})
		return nil, false
	}
	return usr, true
}

// signIn starts the signed-in session after a passkey (or a passkey as the
// second factor) and answers with the account page to go to: a new session
// id (fixation-proof), a fresh AuthTime, and the sign-in's methods (amr),
// which step-up checks read; a multi-factor passkey sets MFATime too.
func (u *ui) signIn(w http.ResponseWriter, r *http.Request, userID string, amr []string) {
	if err := u.a.sessions.SignIn(r.Context(), userID, amr); err != nil {
		u.a.log.Error("ui: session login", "err", err)
		writePasskeyError(w, http.StatusServiceUnavailable, "unavailable", "The service is briefly unavailable. Please try again.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/account"})
}

func (u *ui) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	req, ok := readPasskeyJSON(w, r, false)
	if !ok {
		return
	}
	b, ok := u.requireBinding(w, r)
	if !ok {
		return
	}
	o, err := u.a.auth.BeginPasskeySignIn(r.Context(), b, req.Conditional)
	if err != nil {
		u.passkeyFail(w, err)
		return
	}
	writeOptions(w, o)
}

func (u *ui) passkeyLogin(w http.ResponseWriter, r *http.Request) {
	req, ok := readPasskeyJSON(w, r, true)
	if !ok {
		return
	}
	b, ok := u.requireBinding(w, r)
	if !ok {
		return
	}
	usr, amr, err := u.a.auth.FinishPasskeySignIn(r.Context(), b, req.Credential, u.a.auth.ClientOf(r))
	if err != nil {
		u.passkeyFail(w, err)
		return
	}
	u.signIn(w, r, usr.ID, amr)
}

// mfaToken returns the pending second-factor challenge of the session or
// answers 401.
func (u *ui) mfaToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	s, _ := session.FromContext(r.Context())
	tok := s.MFAChallenge()
	if tok == "" {
		writeJSON(w, http.StatusUnauthorized, passkeyError{Error: "unauthenticated", Message: "Sign in again.", Redirect: "/login"})
		return "", false
	}
	return tok, true
}

func (u *ui) passkeyMFAOptions(w http.ResponseWriter, r *http.Request) {
	if _, ok := readPasskeyJSON(w, r, false); !ok {
		return
	}
	tok, ok := u.mfaToken(w, r)
	if !ok {
		return
	}
	o, err := u.a.auth.BeginPasskeyMFA(r.Context(), tok)
	if err != nil {
		u.passkeyFail(w, err)
		return
	}
	writeOptions(w, o)
}

func (u *ui) passkeyMFA(w http.ResponseWriter, r *http.Request) {
	req, ok := readPasskeyJSON(w, r, true)
	if !ok {
		return
	}
	tok, ok := u.mfaToken(w, r)
	if !ok {
		return
	}
	usr, amr, err := u.a.auth.VerifyPasskeyMFA(r.Context(), tok, req.Credential, u.a.auth.ClientOf(r))
	if err != nil {
		u.passkeyFail(w, err)
		return
	}
	u.signIn(w, r, usr.ID, amr)
}

// jsonRecent is requireRecent for the JSON endpoints: a sign-in older than
// recentAuth answers 401 with the re-authentication page to go to.
func (u *ui) jsonRecent(w http.ResponseWriter, r *http.Request) bool {
	s, _ := session.FromContext(r.Context())
	if u.a.stepUp.Check(sessionPrincipal(s), middleware.Requirement{MaxAge: recentAuth}) == nil {
		return true
	}
	u.flash(r, "For your security, confirm it is you before adding a passkey.")
	writeJSON(w, http.StatusUnauthorized, passkeyError{Error: "reauth_required", Redirect: "/reauth?return_to=%2Faccount",
		Message: "For your security, confirm it is you first."})
	return false
}

func (u *ui) passkeyRegisterOptions(w http.ResponseWriter, r *http.Request) {
	if _, ok := readPasskeyJSON(w, r, false); !ok {
		return
	}
	usr, ok := u.jsonUser(w, r)
	if !ok || !u.jsonRecent(w, r) {
		return
	}
	b, ok := u.requireBinding(w, r)
	if !ok {
		return
	}
	s, _ := session.FromContext(r.Context())
	o, err := u.a.auth.BeginPasskeyRegistration(r.Context(), b, usr.ID, s.AuthTime())
	if err != nil {
		u.passkeyFail(w, err)
		return
	}
	writeOptions(w, o)
}

func (u *ui) passkeyRegister(w http.ResponseWriter, r *http.Request) {
	req, ok := readPasskeyJSON(w, r, true)
	if !ok {
		return
	}
	usr, ok := u.jsonUser(w, r)
	if !ok || !u.jsonRecent(w, r) {
		return
	}
	b, ok := u.requireBinding(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = "Passkey added " + u.a.now().UTC().Format("2006-01-02")
	}
	ctx := r.Context()
	cred, err := u.a.auth.FinishPasskeyRegistration(ctx, b, usr.ID, name, req.Credential, u.a.auth.ClientOf(r))
	if err != nil {
		u.passkeyFail(w, err)
		return
	}
	// A new way to sign in: a new session id.
	if err := u.a.sessions.Renew(ctx); err != nil {
		u.a.log.Error("ui: session renew", "err", err)
		writePasskeyError(w, http.StatusServiceUnavailable, "unavailable", "The service is briefly unavailable. Please try again.")
		return
	}
	u.flash(r, "Passkey “"+cred.Name+"” added. You can sign in with it now.")
	writeJSON(w, http.StatusCreated, map[string]string{"redirect": "/account", "id": base64.RawURLEncoding.EncodeToString(cred.ID)})
}

// passkeyID decodes the id field of the rename and remove forms.
func passkeyID(r *http.Request) ([]byte, bool) {
	id, err := base64.RawURLEncoding.DecodeString(r.PostFormValue("id"))
	return id, err == nil && len(id) > 0 && len(id) <= 1023
}

func (u *ui) passkeyRename(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok {
		return
	}
	id, ok := passkeyID(r)
	if !ok {
		u.flash(r, "Passkey not renamed: no such passkey.")
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	err := u.a.auth.RenamePasskey(r.Context(), usr.ID, id, name, u.a.auth.ClientOf(r))
	switch {
	case errors.Is(err, passkey.ErrInvalidName):
		u.flash(r, "Passkey not renamed: choose a name of 1 to 100 characters.")
	case errors.Is(err, passkey.ErrNotFound):
		u.flash(r, "Passkey not renamed: no such passkey.")
	case err != nil:
		u.flashError(w, r, "Passkey not renamed: ", err)
		return
	default:
		u.flash(r, "Passkey renamed to “"+name+"”.")
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (u *ui) passkeyRemove(w http.ResponseWriter, r *http.Request) {
	usr, ok := u.requireUser(w, r)
	if !ok || !u.requireRecent(w, r, usr) {
		return
	}
	id, ok := passkeyID(r)
	if !ok {
		u.flash(r, "Passkey not removed: no such passkey.")
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	removal, err := u.a.auth.RemovePasskey(ctx, usr.ID, id, s.AuthTime(), s.AMR(), r.PostFormValue("code"), u.a.auth.ClientOf(r))
	switch {
	case errors.Is(err, authkit.ErrMFARequired):
		// The current factor is due: a code when TOTP is on, else a
		// sign-in with a passkey (the last one cannot go on a password
		// sign-in alone).
		enrolled, eerr := u.a.mfa.Enrolled(ctx, usr.ID)
		if eerr != nil {
			u.fail(w, "mfa", eerr)
			return
		}
		if enrolled {
			u.flash(r, "Passkey not removed: enter a current code from your authenticator app (or a backup code).")
			break
		}
		u.flash(r, "To remove your last passkey, confirm it is you with a passkey first.")
		http.Redirect(w, r, "/reauth?return_to=%2Faccount", http.StatusSeeOther)
		return
	case errors.Is(err, authkit.ErrLastSignInMethod):
		u.flash(r, "Passkey not removed: it is your only way to sign in. Set a password or add another passkey first.")
	case errors.Is(err, passkey.ErrNotFound):
		u.flash(r, "Passkey not removed: no such passkey.")
	case err != nil:
		u.flashError(w, r, "Passkey not removed: ", err)
		return
	default:
		if err := s.Put(keySignal, removal); err != nil {
			u.a.log.Warn("ui: keeping the signal payload", "err", err)
		}
		u.flash(r, "Passkey removed.")
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// passkeyRows lists the user's passkeys for the account page.
func (u *ui) passkeyRows(r *http.Request, userID string) ([]passkeyRow, error) {
	creds, err := u.a.auth.ListPasskeys(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	rows := make([]passkeyRow, len(creds))
	for i, c := range creds {
		rows[i] = passkeyRow{ID: base64.RawURLEncoding.EncodeToString(c.ID), Name: c.Name,
			CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt, Synced: c.BackupEligible}
	}
	return rows, nil
}

// popSignal returns the Signal API payloads a removal left in the session.
func popSignal(s *session.Session) *signalView {
	var rm passkey.Removal
	if found, err := s.Pop(keySignal, &rm); err != nil || !found {
		return nil
	}
	unknown, err1 := json.Marshal(rm.Unknown)
	all, err2 := json.Marshal(rm.AllAccepted)
	if err1 != nil || err2 != nil {
		return nil
	}
	return &signalView{Unknown: string(unknown), AllAccepted: string(all)}
}

func (u *ui) passkeyReauthOptions(w http.ResponseWriter, r *http.Request) {
	if _, ok := readPasskeyJSON(w, r, false); !ok {
		return
	}
	usr, ok := u.jsonUser(w, r)
	if !ok {
		return
	}
	b, ok := u.requireBinding(w, r)
	if !ok {
		return
	}
	o, err := u.a.auth.BeginPasskeyReauth(r.Context(), b, usr.ID)
	if err != nil {
		u.passkeyFail(w, err)
		return
	}
	writeOptions(w, o)
}

// passkeyReauth confirms the signed-in user with one of their passkeys
// (authkit.Auth.ReauthenticateSessionPasskey): the session gets a new id, a
// fresh AuthTime and the passkey's methods, like /reauth does with the
// password.
func (u *ui) passkeyReauth(w http.ResponseWriter, r *http.Request) {
	req, ok := readPasskeyJSON(w, r, true)
	if !ok {
		return
	}
	if _, ok := u.jsonUser(w, r); !ok {
		return
	}
	b, ok := u.requireBinding(w, r)
	if !ok {
		return
	}
	if _, err := u.a.auth.ReauthenticateSessionPasskey(r.Context(), b, req.Credential, sensitive, u.a.auth.ClientOf(r)); err != nil {
		u.passkeyFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": returnTo(req.ReturnTo)})
}
