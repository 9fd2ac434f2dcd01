package authkit

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/password"
)

// Cookie names of the HTTP contract (DESIGN.md). The access token cookie
// goes to every path; the refresh token cookie only to /auth and only on
// same-site requests.
const (
	AccessCookie  = "access_token"
	RefreshCookie = "refresh_token"
)

// Error codes of the JSON bodies `{"error": CODE}` the handlers answer with.
const (
	CodeInvalidRequest     = "invalid_request"
	CodeTooLarge           = "too_large"
	CodeNotFound           = "not_found"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeInvalidCredentials = "invalid_credentials"
	CodeInvalidCode        = "invalid_code"
	CodeInvalidEmail       = "invalid_email"
	CodeWeakPassword       = "weak_password"
	CodeEmailTaken         = "email_taken"
	CodeTokenReused        = "token_reused"
	CodeInvalidToken       = "invalid_token"
	CodeReauthRequired     = "reauth_required"
	CodeInternal           = "internal_error"
)

// userJSON is the public view of a user in responses.
type userJSON struct {
	ID    string   `json:"id"`
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

func publicUser(u User) userJSON {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return userJSON{ID: u.ID, Email: u.Email, Roles: roles}
}

// Handler returns the /auth endpoints of DESIGN.md's HTTP contract, to be
// mounted at "/auth/" (the patterns include the prefix):
//
//	POST /auth/signup             {email,password} → 201 {id,email,roles}
//	POST /auth/login              {email,password} → 200 {user} + cookies (device cookie too), or {mfa_required,mfa_token}
//	POST /auth/mfa/verify         {mfa_token,code} → 200 {user} + cookies (device cookie too)
//	POST /auth/refresh            refresh cookie → 200 {user} + new cookies
//	POST /auth/logout             → 204, cookies cleared, refresh token revoked
//	POST /auth/logout-all         (auth) → 204
//	POST /auth/password           (auth) {current_password,new_password} → 204 + new cookies
//	POST /auth/mfa/enroll         (auth, recent) → 200 {secret,otpauth_url,qr_png}
//	POST /auth/mfa/confirm        (auth) {code} → 200 {backup_codes}
//	POST /auth/mfa/disable        (auth, recent) {code} → 204
//	POST /auth/mfa/backup-codes   (auth, recent) {code} → 200 {backup_codes}
//
// and, when Config.OneTimeTokens and Mailer are set,
//
//	POST /auth/password/forgot    {email} → 202 (whether or not the account exists)
//	POST /auth/password/reset     {token,new_password} → 204
//	POST /auth/email/verify-request (auth) → 202
//	POST /auth/email/verify       {token} → 204
//
// Every response is `Cache-Control: no-store`; errors are `{"error": CODE}`
// and never echo internal errors. Cross-origin unsafe requests get 403
// (net/http.CrossOriginProtection), bodies are limited to
// Config.MaxBodyBytes.
func (a *Auth) Handler() http.Handler {
	h := &handlers{a: a, log: slog.Default()}
	mux := http.NewServeMux()
	routes := map[string]http.HandlerFunc{
		"/auth/signup":               h.signup,
		"/auth/login":                h.login,
		"/auth/mfa/verify":           h.mfaVerify,
		"/auth/refresh":              h.refresh,
		"/auth/logout":               h.logout,
		"/auth/logout-all":           h.authed(h.logoutAll),
		"/auth/password":             h.authed(h.password),
		"/auth/mfa/enroll":           h.authed(h.mfaEnroll),
		"/auth/mfa/confirm":          h.authed(h.mfaConfirm),
		"/auth/mfa/disable":          h.authed(h.mfaDisable),
		"/auth/mfa/backup-codes":     h.authed(h.mfaBackupCodes),
		"/auth/password/forgot":      h.forgot,
		"/auth/password/reset":       h.reset,
		"/auth/email/verify":         h.verifyEmail,
		"/auth/email/verify-request": h.authed(h.verifyRequest),
	}
	if a.cfg.OneTimeTokens == nil {
		for _, p := range []string{"/auth/password/forgot", "/auth/password/reset", "/auth/email/verify", "/auth/email/verify-request"} {
			delete(routes, p)
		}
	}
	if a.mfa == nil {
		for _, p := range []string{"/auth/mfa/verify", "/auth/mfa/enroll", "/auth/mfa/confirm", "/auth/mfa/disable", "/auth/mfa/backup-codes"} {
			delete(routes, p)
		}
	}
	for p, fn := range routes {
		mux.HandleFunc("POST "+p, fn)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := routes[r.URL.Path]; ok {
			w.Header().Set("Allow", http.MethodPost)
			middleware.WriteError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
			return
		}
		middleware.WriteError(w, http.StatusNotFound, CodeNotFound)
	})
	limit := a.cfg.MaxBodyBytes
	if limit <= 0 {
		limit = 64 << 10
	}
	csrf, err := middleware.NewCSRF(middleware.CSRFConfig{TrustedOrigins: a.cfg.TrustedOrigins})
	if err != nil {
		// Only a malformed TrustedOrigins entry gets here: refuse every
		// request rather than serve without cross-origin protection.
		h.log.Error("authkit: CSRF configuration", "err", err)
		return middleware.SecureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.WriteError(w, http.StatusInternalServerError, CodeInternal)
		}))
	}
	return middleware.SecureHeaders(csrf.Handler(http.MaxBytesHandler(mux, limit)))
}

type handlers struct {
	a   *Auth
	log *slog.Logger
}

// decode reads a JSON object body into v. It answers 413 or 400 itself and
// returns false when the body is unusable.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			middleware.WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge)
		} else {
			middleware.WriteError(w, http.StatusBadRequest, CodeInvalidRequest)
		}
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail maps an error of the flow to the contract's status and code. Any
// error it does not know is a system failure: 500 (503 when the hashing cap
// is saturated or the mail queue is full), logged, never echoed.
func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	var te *ThrottledError
	var pe *password.PolicyError
	switch {
	case errors.As(err, &te):
		middleware.WriteRateLimited(w, te.RetryAfter)
	case errors.As(err, &pe):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": CodeWeakPassword, "reason": string(pe.Rule)})
	case errors.Is(err, ErrInvalidEmail):
		middleware.WriteError(w, http.StatusBadRequest, CodeInvalidEmail)
	case errors.Is(err, ErrLoginTaken):
		middleware.WriteError(w, http.StatusConflict, CodeEmailTaken)
	case errors.Is(err, ErrInvalidCredentials):
		middleware.WriteError(w, http.StatusUnauthorized, CodeInvalidCredentials)
	case errors.Is(err, ErrInvalidCode):
		middleware.WriteError(w, http.StatusUnauthorized, CodeInvalidCode)
	case errors.Is(err, ErrReauthRequired):
		middleware.WriteError(w, http.StatusUnauthorized, CodeReauthRequired)
	case errors.Is(err, ErrTokenReused):
		ClearTokenCookies(w)
		middleware.WriteError(w, http.StatusUnauthorized, CodeTokenReused)
	case errors.Is(err, ErrInvalidToken):
		middleware.WriteError(w, http.StatusUnauthorized, CodeInvalidToken)
	case errors.Is(err, ErrMFANotConfigured), errors.Is(err, ErrNotSupported):
		middleware.WriteError(w, http.StatusNotFound, CodeNotFound)
	case errors.Is(err, ErrBusy), errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "1")
		middleware.WriteError(w, http.StatusServiceUnavailable, middleware.CodeUnavailable)
	default:
		h.log.ErrorContext(r.Context(), "authkit: request failed", "path", r.URL.Path, "err", err)
		middleware.WriteError(w, http.StatusInternalServerError, CodeInternal)
	}
}

// SetTokenCookies sets the contract's token cookies: access_token
// (HttpOnly, Secure, SameSite=Lax, Path=/) and refresh_token (HttpOnly,
// Secure, SameSite=Strict, Path=/auth). Secure is always set: browsers
// treat http://127.0.0.1 and localhost as secure contexts.
func SetTokenCookies(w http.ResponseWriter, t Tokens, now time.Time) {
	http.SetCookie(w, &http.Cookie{Name: AccessCookie, Value: t.Access, Path: "/", MaxAge: maxAge(t.AccessExpiry, now),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: t.Refresh, Path: "/auth", MaxAge: maxAge(t.RefreshExpiry, now),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// maxAge is the whole seconds until exp, rounded up (token expiries have
// one-second granularity, the clock does not).
func maxAge(exp, now time.Time) int {
	s := int((exp.Sub(now) + time.Second - 1) / time.Second)
	if s < 1 {
		return -1
	}
	return s
}

// ClearTokenCookies expires both token cookies (Max-Age=0).
func ClearTokenCookies(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: AccessCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Path: "/auth", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// signedIn ends a complete interactive sign-in: tokens, and the device
// cookie that exempts this browser from the lock an attacker may impose.
func (h *handlers) signedIn(w http.ResponseWriter, r *http.Request, u User, amr []string, dev DeviceToken) {
	t, err := h.a.IssueTokens(r.Context(), u, amr)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	SetTokenCookies(w, t, h.a.now())
	SetDeviceCookie(w, dev, h.a.now())
	writeJSON(w, http.StatusOK, map[string]any{"user": publicUser(u)})
}

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (h *handlers) signup(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if !decode(w, r, &in) {
		return
	}
	u, err := h.a.Signup(r.Context(), in.Email, in.Password, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, publicUser(u))
}

func (h *handlers) login(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if !decode(w, r, &in) {
		return
	}
	res, err := h.a.Login(r.Context(), in.Email, in.Password, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if res.MFARequired() {
		writeJSON(w, http.StatusOK, map[string]any{"mfa_required": true, "mfa_token": res.MFAToken})
		return
	}
	h.signedIn(w, r, res.User, []string{AMRPassword}, res.Device)
}

func (h *handlers) mfaVerify(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"mfa_token"`
		Code  string `json:"code"`
	}
	if !decode(w, r, &in) {
		return
	}
	u, err := h.a.VerifyMFA(r.Context(), in.Token, in.Code, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dev, err := h.a.IssueDeviceToken(u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.signedIn(w, r, u, []string{AMRPassword, AMROTP}, dev)
}

func (h *handlers) refresh(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(RefreshCookie)
	if err != nil || c.Value == "" {
		middleware.WriteError(w, http.StatusUnauthorized, CodeInvalidToken)
		return
	}
	t, u, err := h.a.Refresh(r.Context(), c.Value, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	SetTokenCookies(w, t, h.a.now())
	writeJSON(w, http.StatusOK, map[string]any{"user": publicUser(u)})
}

func (h *handlers) logout(w http.ResponseWriter, r *http.Request) {
	tok := ""
	if c, err := r.Cookie(RefreshCookie); err == nil {
		tok = c.Value
	}
	if err := h.a.Logout(r.Context(), tok, h.a.ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	ClearTokenCookies(w)
	w.WriteHeader(http.StatusNoContent)
}

// authed runs next only for a request with a valid access token.
func (h *handlers) authed(next func(http.ResponseWriter, *http.Request, middleware.Principal)) http.HandlerFunc {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := middleware.FromContext(r.Context())
		if !ok {
			middleware.WriteError(w, http.StatusUnauthorized, middleware.CodeUnauthenticated)
			return
		}
		next(w, r, p)
	})
	return h.a.authn.RequireAuth(inner).ServeHTTP
}

func (h *handlers) logoutAll(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	if err := h.a.LogoutAll(r.Context(), p.Subject, h.a.ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	ClearTokenCookies(w)
	w.WriteHeader(http.StatusNoContent)
}

func (h *handlers) password(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if !decode(w, r, &in) {
		return
	}
	u, err := h.a.ChangePassword(r.Context(), p.Subject, in.Current, in.New, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Proving the current password is an interactive authentication: the
	// client that made the change gets fresh tokens, every other one is out.
	t, err := h.a.IssueTokens(r.Context(), u, []string{AMRPassword})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	SetTokenCookies(w, t, h.a.now())
	w.WriteHeader(http.StatusNoContent)
}

type codeBody struct {
	Code string `json:"code"`
}

func (h *handlers) mfaEnroll(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	s, err := h.a.EnrollMFA(r.Context(), p.Subject, p.AuthTime, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"secret": s.Secret, "otpauth_url": s.URL, "qr_png": base64.StdEncoding.EncodeToString(s.QRPNG),
	})
}

func (h *handlers) mfaConfirm(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in codeBody
	if !decode(w, r, &in) {
		return
	}
	codes, err := h.a.ConfirmMFA(r.Context(), p.Subject, in.Code, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"backup_codes": codes})
}

func (h *handlers) mfaDisable(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in codeBody
	if !decode(w, r, &in) {
		return
	}
	if err := h.a.DisableMFA(r.Context(), p.Subject, p.AuthTime, in.Code, h.a.ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handlers) mfaBackupCodes(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in codeBody
	if !decode(w, r, &in) {
		return
	}
	codes, err := h.a.RegenerateBackupCodes(r.Context(), p.Subject, p.AuthTime, in.Code, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"backup_codes": codes})
}

func (h *handlers) forgot(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
	}
	if !decode(w, r, &in) {
		return
	}
	if err := h.a.RequestPasswordReset(r.Context(), strings.TrimSpace(in.Email), h.a.ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h *handlers) reset(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"token"`
		New   string `json:"new_password"`
	}
	if !decode(w, r, &in) {
		return
	}
	if err := h.a.ResetPassword(r.Context(), in.Token, in.New, h.a.ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handlers) verifyRequest(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	if err := h.a.RequestEmailVerification(r.Context(), p.Subject, h.a.ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h *handlers) verifyEmail(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"token"`
	}
	if !decode(w, r, &in) {
		return
	}
	if err := h.a.VerifyEmail(r.Context(), in.Token, h.a.ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
