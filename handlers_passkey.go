package authkit

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
)

// WebAuthnCookie (HttpOnly, Secure, SameSite=Strict, Path=/) binds an
// anonymous passkey sign-in to the browser that began it: POST
// <prefix>/passkey/login/options sets it to a random value for the
// ceremony's lifetime, and POST <prefix>/passkey/login needs it and clears
// it. The "__Host-" prefix keeps sibling subdomains from planting one.
const WebAuthnCookie = "__Host-webauthn"

// passkeyRoutes are the endpoints that exist only with Config.Passkeys.
var passkeyRoutes = []string{
	"/passkey/login/options", "/passkey/login", "/mfa/passkey/options", "/mfa/passkey",
	"/passkeys/register/options", "/passkeys/register", "/passkeys", "/passkeys/rename", "/passkeys/remove",
	"/reauth/passkey/options",
}

// optionsJSON is the answer of every ceremony's begin: options is
// passkey.Options.JSON ({"publicKey": ..., "mediation": ...}).
type optionsJSON struct {
	Options   json.RawMessage `json:"options"`
	ExpiresAt time.Time       `json:"expires_at"`
}

func writeOptions(w http.ResponseWriter, o passkey.Options) {
	writeJSON(w, http.StatusOK, optionsJSON{Options: o.JSON, ExpiresAt: o.Expires.UTC().Truncate(time.Second)})
}

// passkeyJSON is the public view of a stored passkey.
type passkeyJSON struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	BackupEligible bool       `json:"backup_eligible"`
	BackedUp       bool       `json:"backed_up"`
	Transports     []string   `json:"transports"`
}

func publicPasskey(c passkey.Credential) passkeyJSON {
	out := passkeyJSON{ID: base64.RawURLEncoding.EncodeToString(c.ID), Name: c.Name, CreatedAt: c.CreatedAt.UTC(),
		BackupEligible: c.BackupEligible, BackedUp: c.BackupState, Transports: c.Transports}
	if !c.LastUsedAt.IsZero() {
		t := c.LastUsedAt.UTC()
		out.LastUsedAt = &t
	}
	if out.Transports == nil {
		out.Transports = []string{}
	}
	return out
}

// decodeOptional decodes a JSON object body into v; an empty body is an
// empty object.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 {
		return true
	}
	return decode(w, r, v)
}

// tokenBinding is the binding of a ceremony begun by a signed-in client:
// the id (jti) of the access token it presented, so that only the holder of
// that token can finish it. A refresh during the ceremony ends it.
func tokenBinding(p middleware.Principal) string {
	if p.Claims == nil || p.Claims.ID == "" {
		return ""
	}
	return "access-token:" + p.Claims.ID
}

// webauthnBinding returns the value of the binding cookie, when it is one
// this handler could have set (32 random bytes, base64url).
func webauthnBinding(r *http.Request) string {
	n := 0
	val := ""
	for _, c := range r.Cookies() {
		if c.Name == WebAuthnCookie {
			n, val = n+1, c.Value
		}
	}
	if n != 1 || len(val) != 43 {
		return ""
	}
	if b, err := base64.RawURLEncoding.DecodeString(val); err != nil || len(b) != 32 {
		return ""
	}
	return val
}

func (h *handlers) setWebAuthnCookie(w http.ResponseWriter, val string, exp time.Time) {
	http.SetCookie(w, &http.Cookie{Name: WebAuthnCookie, Value: val, Path: "/", MaxAge: max(maxAge(exp, h.a.cfg.Now()), 1),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

func clearWebAuthnCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: WebAuthnCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// passkeyLoginOptions serves POST <prefix>/passkey/login/options
// {"conditional": bool}: a username-less sign-in ceremony bound to a
// random value only this client holds. With cookie delivery it is the
// WebAuthnCookie (kept when the browser has a well-formed one, so a
// conditional offer and a modal request can run side by side); with body
// delivery alone (no cookies) the answer carries it as "binding" and the
// client sends it back with the credential.
func (h *handlers) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Conditional bool `json:"conditional"`
	}
	if !decodeOptional(w, r, &in) {
		return
	}
	binding := ""
	if h.delivery.cookies() {
		binding = webauthnBinding(r)
	}
	if binding == "" {
		b := make([]byte, 32)
		if _, err := io.ReadFull(h.a.cfg.Rand, b); err != nil {
			h.fail(w, r, err)
			return
		}
		binding = base64.RawURLEncoding.EncodeToString(b)
	}
	o, err := h.a.BeginPasskeySignIn(r.Context(), binding, in.Conditional)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !h.delivery.cookies() {
		writeJSON(w, http.StatusOK, struct {
			optionsJSON
			Binding string `json:"binding"`
		}{optionsJSON{Options: o.JSON, ExpiresAt: o.Expires.UTC().Truncate(time.Second)}, binding})
		return
	}
	h.setWebAuthnCookie(w, binding, o.Expires)
	writeOptions(w, o)
}

// passkeyFail answers a failed ceremony finish: a challenge that expired
// while the page sat open gets 409 challenge_expired with the fresh
// options; an unknown credential 401 invalid_credentials with the
// signalUnknownCredential payload; everything else as h.fail.
func (h *handlers) passkeyFail(w http.ResponseWriter, r *http.Request, err error) {
	if ce, ok := errors.AsType[*passkey.ChallengeExpiredError](err); ok {
		writeJSON(w, http.StatusConflict, struct {
			Error string `json:"error"`
			optionsJSON
		}{middleware.CodeChallengeExpired, optionsJSON{Options: ce.Fresh.JSON, ExpiresAt: ce.Fresh.Expires.UTC().Truncate(time.Second)}})
		return
	}
	if ue, ok := errors.AsType[*passkey.UnknownCredentialError](err); ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"error": middleware.CodeInvalidCredentials, "signal": map[string]any{"unknown": ue.Signal},
		})
		return
	}
	h.fail(w, r, err)
}

// passkeyLogin serves POST <prefix>/passkey/login {"credential": ...}
// (plus {"binding"} with body delivery alone).
func (h *handlers) passkeyLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Credential json.RawMessage `json:"credential"`
		Binding    string          `json:"binding"`
	}
	if !decode(w, r, &in) {
		return
	}
	binding := in.Binding
	if h.delivery.cookies() {
		binding = webauthnBinding(r)
	}
	u, amr, err := h.a.FinishPasskeySignIn(r.Context(), binding, in.Credential, h.a.ClientOf(r))
	if err != nil {
		h.passkeyFailKeep(w, r, binding, err)
		return
	}
	if h.delivery.cookies() {
		clearWebAuthnCookie(w)
	}
	dev, err := h.a.IssueDeviceToken(u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.signedIn(w, r, u, amr, dev)
}

// passkeyFailKeep is passkeyFail for the anonymous sign-in: the binding
// cookie is kept (its lifetime renewed) with a fresh challenge, and
// cleared otherwise.
func (h *handlers) passkeyFailKeep(w http.ResponseWriter, r *http.Request, binding string, err error) {
	if h.delivery.cookies() {
		if ce, ok := errors.AsType[*passkey.ChallengeExpiredError](err); ok && binding != "" {
			h.setWebAuthnCookie(w, binding, ce.Fresh.Expires)
		} else {
			clearWebAuthnCookie(w)
		}
	}
	h.passkeyFail(w, r, err)
}

type mfaTokenBody struct {
	Token      string          `json:"mfa_token"`
	Credential json.RawMessage `json:"credential"`
}

// mfaPasskeyOptions serves POST <prefix>/mfa/passkey/options {"mfa_token"}.
func (h *handlers) mfaPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	var in mfaTokenBody
	if !decode(w, r, &in) {
		return
	}
	o, err := h.a.BeginPasskeyMFA(r.Context(), in.Token)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeOptions(w, o)
}

// mfaPasskey serves POST <prefix>/mfa/passkey {"mfa_token","credential"}.
func (h *handlers) mfaPasskey(w http.ResponseWriter, r *http.Request) {
	var in mfaTokenBody
	if !decode(w, r, &in) {
		return
	}
	u, amr, err := h.a.VerifyPasskeyMFA(r.Context(), in.Token, in.Credential, h.a.ClientOf(r))
	if err != nil {
		h.passkeyFail(w, r, err)
		return
	}
	dev, err := h.a.IssueDeviceToken(u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.signedIn(w, r, u, amr, dev)
}

// registerOptions serves POST <prefix>/passkeys/register/options.
func (h *handlers) registerOptions(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in struct{}
	if !decodeOptional(w, r, &in) {
		return
	}
	o, err := h.a.BeginPasskeyRegistration(r.Context(), tokenBinding(p), p.Subject, p.AuthTime)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeOptions(w, o)
}

// register serves POST <prefix>/passkeys/register {"name","credential"}.
func (h *handlers) register(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in struct {
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if !decode(w, r, &in) {
		return
	}
	c, err := h.a.FinishPasskeyRegistration(r.Context(), tokenBinding(p), p.Subject, in.Name, in.Credential, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"passkey": publicPasskey(c)})
}

// listPasskeys serves POST <prefix>/passkeys.
func (h *handlers) listPasskeys(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in struct{}
	if !decodeOptional(w, r, &in) {
		return
	}
	list, err := h.a.ListPasskeys(r.Context(), p.Subject)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]passkeyJSON, len(list))
	for i, c := range list {
		out[i] = publicPasskey(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"passkeys": out})
}

// credentialID decodes the base64url id of a passkey in a request.
func credentialID(w http.ResponseWriter, s string) ([]byte, bool) {
	id, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(id) == 0 || len(id) > 1023 {
		writeError(w, http.StatusBadRequest, middleware.CodeInvalidRequest)
		return nil, false
	}
	return id, true
}

// renamePasskey serves POST <prefix>/passkeys/rename {"id","name"}.
func (h *handlers) renamePasskey(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if !decode(w, r, &in) {
		return
	}
	id, ok := credentialID(w, in.ID)
	if !ok {
		return
	}
	if err := h.a.RenamePasskey(r.Context(), p.Subject, id, in.Name, h.a.ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removePasskey serves POST <prefix>/passkeys/remove {"id","code"?}.
func (h *handlers) removePasskey(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	if !decode(w, r, &in) {
		return
	}
	id, ok := credentialID(w, in.ID)
	if !ok {
		return
	}
	rm, err := h.a.RemovePasskey(r.Context(), p.Subject, id, p.AuthTime, p.AMR, in.Code, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signal": map[string]any{"unknown": rm.Unknown, "all_accepted": rm.AllAccepted}})
}

// reauthPasskeyOptions serves POST <prefix>/reauth/passkey/options.
func (h *handlers) reauthPasskeyOptions(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in struct{}
	if !decodeOptional(w, r, &in) {
		return
	}
	o, err := h.a.BeginPasskeyReauth(r.Context(), tokenBinding(p), p.Subject)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeOptions(w, o)
}
