package authkit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strings"

	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/password"
)

// The error codes of the JSON bodies `{"error": CODE}` are the one list in
// package middleware (middleware.Code*), shared with the middleware's own
// answers.

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

// Delivery says how [Auth.Handler] hands tokens to clients and where it
// reads the refresh token.
type Delivery int

const (
	// DeliverCookies sets the token cookies ([AccessCookie],
	// [RefreshCookie]) and reads the refresh token from its cookie: for
	// browsers. The default.
	DeliverCookies Delivery = iota
	// DeliverBody answers the tokens in the JSON body (RFC 6749 section
	// 5.1: access_token, token_type "Bearer", expires_in, refresh_token)
	// and reads the refresh token from the request body {"refresh_token"}:
	// for native apps, CLIs and other services, which send the access token
	// as "Authorization: Bearer". No cookie is set.
	DeliverBody
	// DeliverCookiesAndBody does both; a refresh token in the request body
	// is used before the cookie.
	DeliverCookiesAndBody
)

func (d Delivery) cookies() bool { return d == DeliverCookies || d == DeliverCookiesAndBody }
func (d Delivery) body() bool    { return d == DeliverBody || d == DeliverCookiesAndBody }

// HandlerOption configures [Auth.Handler].
type HandlerOption func(*handlerOptions)

type handlerOptions struct {
	prefix   string
	delivery Delivery
}

// WithPrefix sets the path the endpoints are served at, as browsers see it
// (default [DefaultPrefix], "/auth"); the refresh cookie's Path is the
// prefix. Mount the handler at prefix+"/" either as is or behind
// http.StripPrefix(prefix, ...): both work. The prefix starts with "/" and
// does not end with one.
func WithPrefix(prefix string) HandlerOption {
	return func(o *handlerOptions) { o.prefix = prefix }
}

// WithDelivery sets how tokens travel (default [DeliverCookies]).
func WithDelivery(d Delivery) HandlerOption {
	return func(o *handlerOptions) { o.delivery = d }
}

// Handler returns the JSON endpoints of the HTTP contract, at
// [DefaultPrefix] ("/auth") unless [WithPrefix] says otherwise:
//
//	POST /auth/signup             {email,password} → 201 {id,email,roles}
//	POST /auth/login              {email,password} → 200 {user} + tokens (device cookie too), or {mfa_required,mfa_token}
//	POST /auth/mfa/verify         {mfa_token,code} → 200 {user} + tokens (device cookie too)
//	POST /auth/refresh            refresh token → 200 {user} + new tokens
//	POST /auth/logout             refresh token → 204, cookies cleared, refresh token revoked
//	POST /auth/logout-all         (auth) → 204
//	POST /auth/reauth             (auth) {password,code?,acr_values?,max_age?} + refresh token → 200 {user} + tokens (step-up; see [Auth.Reauthenticate])
//	POST /auth/password           (auth) {current_password,new_password} → 204 + new cookies, or 200 + tokens
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
// and, when Config.Passkeys is set (see [Auth.BeginPasskeySignIn]; "options"
// is passkey.Options.JSON, {"publicKey":...,"mediation":...}, for
// PublicKeyCredential.parseRequestOptionsFromJSON /
// parseCreationOptionsFromJSON; "credential" is PublicKeyCredential.toJSON()),
//
//	POST /auth/passkey/login/options  {conditional?} → 200 {options,expires_at} + the [WebAuthnCookie] binding ({binding} in the answer with DeliverBody)
//	POST /auth/passkey/login          {credential} + [WebAuthnCookie] ({credential,binding} with DeliverBody) → 200 {user} + tokens (device cookie too);
//	                                  409 {error:"challenge_expired",options,expires_at} (a fresh challenge);
//	                                  401 {error:"invalid_credentials",signal?:{unknown:{rpId,credentialId}}}
//	POST /auth/mfa/passkey/options    {mfa_token} → 200 {options,expires_at} (also needs Config.MFA)
//	POST /auth/mfa/passkey            {mfa_token,credential} → 200 {user} + tokens (device cookie too)
//	POST /auth/passkeys/register/options (auth, recent) → 200 {options,expires_at}
//	POST /auth/passkeys/register      (auth) {name,credential} → 201 {passkey:{id,name,created_at,last_used_at,backup_eligible,backed_up,transports}}
//	POST /auth/passkeys               (auth) → 200 {passkeys:[...]}
//	POST /auth/passkeys/rename        (auth) {id,name} → 204
//	POST /auth/passkeys/remove        (auth, recent) {id,code?} → 200 {signal:{unknown:{rpId,credentialId},all_accepted:{rpId,userId,allAcceptedCredentialIds}}};
//	                                  409 last_sign_in_method, 401 mfa_required
//	POST /auth/reauth/passkey/options (auth) → 200 {options,expires_at}
//	POST /auth/reauth                 (auth) {credential,acr_values?,max_age?} + refresh token: re-authentication with a passkey
//
// Ceremonies of a signed-in client are bound to the access token it
// presented (a refresh in between ends them). Passkey ids are base64url.
//
// "Tokens" are the token cookies, the token members of the JSON answer, or
// both, as [WithDelivery] says; "(auth)" takes the access token from
// "Authorization: Bearer" or the access cookie.
//
// Every response is `Cache-Control: no-store`; errors are `{"error": CODE}`
// and never echo internal errors. An endpoint that reads a body answers 415
// unsupported_media_type unless the Content-Type is application/json
// (parameters allowed), and 400 invalid_request unless the body is one JSON
// object. A refresh, logout or authenticated request carrying two cookies
// of one token name is refused (401 invalid_token, cookies cleared), and so
// is a refresh cookie without its [RefreshBindingCookie] (a cookie planted by
// a sibling subdomain). A store, the mailer or the hashing cap
// failing gives 503 unavailable with Retry-After; 500 internal_error is only
// for bugs (a panic, a misconfiguration). Cross-origin unsafe requests get
// 403 (net/http.CrossOriginProtection), bodies are limited to
// Config.MaxBodyBytes.
func (a *Auth) Handler(opts ...HandlerOption) http.Handler {
	o := handlerOptions{prefix: DefaultPrefix, delivery: DeliverCookies}
	for _, f := range opts {
		f(&o)
	}
	h := &handlers{a: a, log: slog.Default(), prefix: o.prefix, delivery: o.delivery}
	if err := checkOptions(o); err != nil {
		return h.refuseAll(err)
	}
	mux := http.NewServeMux()
	routes := map[string]http.HandlerFunc{
		"/signup":               h.signup,
		"/login":                h.login,
		"/mfa/verify":           h.mfaVerify,
		"/refresh":              h.single(h.refresh),
		"/logout":               h.single(h.logout),
		"/logout-all":           h.authed(h.logoutAll),
		"/reauth":               h.authed(h.reauth),
		"/password":             h.authed(h.password),
		"/mfa/enroll":           h.authed(h.mfaEnroll),
		"/mfa/confirm":          h.authed(h.mfaConfirm),
		"/mfa/disable":          h.authed(h.mfaDisable),
		"/mfa/backup-codes":     h.authed(h.mfaBackupCodes),
		"/password/forgot":      h.forgot,
		"/password/reset":       h.reset,
		"/email/verify":         h.verifyEmail,
		"/email/verify-request": h.authed(h.verifyRequest),

		"/passkey/login/options":     h.passkeyLoginOptions,
		"/passkey/login":             h.passkeyLogin,
		"/mfa/passkey/options":       h.mfaPasskeyOptions,
		"/mfa/passkey":               h.mfaPasskey,
		"/passkeys/register/options": h.authed(h.registerOptions),
		"/passkeys/register":         h.authed(h.register),
		"/passkeys":                  h.authed(h.listPasskeys),
		"/passkeys/rename":           h.authed(h.renamePasskey),
		"/passkeys/remove":           h.authed(h.removePasskey),
		"/reauth/passkey/options":    h.authed(h.reauthPasskeyOptions),
	}
	if a.cfg.Passkeys == nil {
		for _, p := range passkeyRoutes {
			delete(routes, p)
		}
	}
	if a.cfg.OneTimeTokens == nil {
		for _, p := range []string{"/password/forgot", "/password/reset", "/email/verify", "/email/verify-request"} {
			delete(routes, p)
		}
	}
	if a.cfg.MFA == nil {
		for _, p := range []string{"/mfa/verify", "/mfa/enroll", "/mfa/confirm", "/mfa/disable", "/mfa/backup-codes",
			"/mfa/passkey/options", "/mfa/passkey"} {
			delete(routes, p)
		}
	}
	for p, fn := range routes {
		mux.HandleFunc("POST "+p, fn)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := routes[r.URL.Path]; ok {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, middleware.CodeMethodNotAllowed)
			return
		}
		writeError(w, http.StatusNotFound, middleware.CodeNotFound)
	})
	limit := a.cfg.MaxBodyBytes
	if limit <= 0 {
		limit = 64 << 10
	}
	csrf, err := middleware.NewCSRF(middleware.CSRFConfig{TrustedOrigins: a.cfg.TrustedOrigins})
	if err != nil {
		// Only a malformed TrustedOrigins entry gets here: refuse every
		// request rather than serve without cross-origin protection.
		return h.refuseAll(err)
	}
	return middleware.SecureHeaders(csrf.Handler(http.MaxBytesHandler(h.recover(h.route(mux)), limit)))
}

func checkOptions(o handlerOptions) error {
	switch {
	case !strings.HasPrefix(o.prefix, "/") || strings.HasSuffix(o.prefix, "/") || path.Clean(o.prefix) != o.prefix ||
		strings.ContainsAny(o.prefix, ";, \t\r\n\"?#%"):
		return fmt.Errorf("authkit: handler prefix %q must be a clean path starting and not ending with /", o.prefix)
	case o.delivery != DeliverCookies && o.delivery != DeliverBody && o.delivery != DeliverCookiesAndBody:
		return fmt.Errorf("authkit: unknown Delivery %d", o.delivery)
	}
	return nil
}

// refuseAll answers every request 500: the handler's options are wrong, and
// serving anyway could mean serving without a protection.
func (h *handlers) refuseAll(err error) http.Handler {
	h.log.Error("authkit: handler configuration", "err", err)
	return middleware.SecureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusInternalServerError, middleware.CodeInternal)
	}))
}

type handlers struct {
	a        *Auth
	log      *slog.Logger
	prefix   string
	delivery Delivery
}

// route hands next the endpoint path below the prefix, which must be clean. The request path
// either still starts with the prefix, or lost it to http.StripPrefix; in
// both cases the path the client asked for (RequestURI) must be the prefix
// followed by the endpoint, so a handler mounted where its prefix says it
// is not answers 404 instead of setting cookies for the wrong path.
func (h *handlers) route(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := r.URL.Path
		if x, ok := strings.CutPrefix(rest, h.prefix); ok && strings.HasPrefix(x, "/") {
			rest = x
		}
		asked := r.URL.Path
		if r.RequestURI != "" {
			if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
				asked = u.Path
			}
		}
		// A non-canonical rest ("//login", "/./login") would make the
		// inner mux redirect to a path without the prefix.
		if !strings.HasPrefix(rest, "/") || asked != h.prefix+rest || path.Clean(rest) != rest {
			writeError(w, http.StatusNotFound, middleware.CodeNotFound)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = new(url.URL)
		*r2.URL = *r.URL
		r2.URL.Path, r2.URL.RawPath = rest, ""
		next.ServeHTTP(w, r2)
	})
}

// recover turns a panic in an endpoint, a bug, into a logged 500.
func (h *handlers) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.ErrorContext(r.Context(), "authkit: panic in handler", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, middleware.CodeInternal)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// jsonBody reports whether r declares a JSON body: media type
// application/json, parameters allowed (RFC 8259 section 11).
func jsonBody(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// hasBody reports whether r came with a body or says it has one.
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 || r.Header.Get("Content-Type") != ""
}

// decode reads a body that must be exactly one JSON object into v. It
// answers 415, 413 or 400 itself and returns false when the body is
// unusable.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if !jsonBody(r) {
		writeError(w, http.StatusUnsupportedMediaType, middleware.CodeUnsupportedMediaType)
		return false
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, middleware.CodeTooLarge)
		} else {
			writeError(w, http.StatusBadRequest, middleware.CodeInvalidRequest)
		}
		return false
	}
	// json.Unmarshal refuses trailing data; null, arrays and scalars would
	// decode into v without an error, so the object is checked first.
	if b = bytes.TrimLeft(b, " \t\r\n"); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, v) != nil || duplicateMember(b) {
		writeError(w, http.StatusBadRequest, middleware.CodeInvalidRequest)
		return false
	}
	return true
}

// duplicateMember reports whether a JSON text (already known to be valid)
// has an object naming one member twice, compared as encoding/json matches
// names to fields (case-insensitively): which one wins is up to each
// parser, so the body is ambiguous (RFC 7493 section 2.3).
func duplicateMember(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	type frame struct {
		names   map[string]bool // nil for an array
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return true
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.names != nil && top.wantKey {
			if name, ok := tok.(string); ok {
				k := strings.ToLower(strings.ToUpper(name))
				if top.names[k] {
					return true
				}
				top.names[k], top.wantKey = true, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{names: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object expects a name next.
		if len(stack) > 0 {
			stack[len(stack)-1].wantKey = true
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail maps an error of the flow to the contract's status and code. An
// error it does not know is a dependency failure (503 unavailable with
// Retry-After) unless it is a bug (500); both are logged, never echoed.
func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	var te *ThrottledError
	var pe *password.PolicyError
	switch {
	case errors.As(err, &te):
		middleware.WriteRateLimited(w, te.RetryAfter)
	case errors.As(err, &pe):
		writeErrorReason(w, http.StatusBadRequest, middleware.CodeWeakPassword, string(pe.Rule))
	case errors.Is(err, ErrInvalidEmail):
		writeError(w, http.StatusBadRequest, middleware.CodeInvalidEmail)
	case errors.Is(err, ErrLoginTaken):
		writeError(w, http.StatusConflict, middleware.CodeEmailTaken)
	case errors.Is(err, ErrInvalidCredentials):
		writeError(w, http.StatusUnauthorized, middleware.CodeInvalidCredentials)
	case errors.Is(err, ErrInvalidCode):
		writeError(w, http.StatusUnauthorized, middleware.CodeInvalidCode)
	case errors.Is(err, ErrReauthRequired):
		writeError(w, http.StatusUnauthorized, middleware.CodeReauthRequired)
	case errors.Is(err, ErrTokenReused):
		h.clearCookies(w)
		writeError(w, http.StatusUnauthorized, middleware.CodeTokenReused)
	case errors.Is(err, ErrInvalidToken):
		writeError(w, http.StatusUnauthorized, middleware.CodeInvalidToken)
	case errors.Is(err, mfa.ErrStateChanged):
		writeError(w, http.StatusConflict, middleware.CodeConflict)
	case errors.Is(err, ErrMFARequired):
		writeError(w, http.StatusUnauthorized, middleware.CodeMFARequired)
	case errors.Is(err, ErrStepUpUnavailable):
		writeError(w, http.StatusForbidden, middleware.CodeInsufficientUserAuthentication)
	case errors.Is(err, ErrLastSignInMethod):
		writeError(w, http.StatusConflict, middleware.CodeLastSignInMethod)
	case errors.Is(err, passkey.ErrCredentialExists):
		writeError(w, http.StatusConflict, middleware.CodeConflict)
	case errors.Is(err, passkey.ErrInvalidName):
		writeError(w, http.StatusBadRequest, middleware.CodeInvalidRequest)
	case errors.Is(err, passkey.ErrNotFound):
		writeError(w, http.StatusNotFound, middleware.CodeNotFound)
	case isPasskeyRefusal(err):
		// A refused registration (sign-in refusals are ErrInvalidCredentials).
		writeError(w, http.StatusBadRequest, middleware.CodeInvalidRequest)
	case errors.Is(err, ErrMFANotConfigured), errors.Is(err, ErrPasskeysNotConfigured), errors.Is(err, ErrNotSupported):
		writeError(w, http.StatusNotFound, middleware.CodeNotFound)
	case errors.Is(err, ErrBusy), errors.Is(err, password.ErrBusy):
		writeUnavailable(w, busyRetryAfter)
	case isBug(err):
		h.log.ErrorContext(r.Context(), "authkit: request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, middleware.CodeInternal)
	default:
		h.log.ErrorContext(r.Context(), "authkit: dependency failed", "path", r.URL.Path, "err", err)
		writeUnavailable(w, unavailableRetryAfter)
	}
}

func (h *handlers) setCookies(w http.ResponseWriter, t Tokens) {
	if h.delivery.cookies() {
		setTokenCookies(w, t, h.a.cfg.Now(), h.prefix)
	}
}

func (h *handlers) clearCookies(w http.ResponseWriter) {
	if h.delivery.cookies() {
		clearTokenCookies(w, h.prefix)
	}
}

// signedInJSON is the answer that hands out tokens: the user and, with body
// delivery, the token members of RFC 6749 section 5.1.
type signedInJSON struct {
	User         userJSON `json:"user"`
	AccessToken  string   `json:"access_token,omitempty"`
	TokenType    string   `json:"token_type,omitempty"`
	ExpiresIn    int      `json:"expires_in,omitempty"`
	RefreshToken string   `json:"refresh_token,omitempty"`
}

func (h *handlers) deliver(w http.ResponseWriter, u User, t Tokens) {
	h.setCookies(w, t)
	out := signedInJSON{User: publicUser(u)}
	if h.delivery.body() {
		out.AccessToken, out.TokenType, out.RefreshToken = t.Access, "Bearer", t.Refresh
		out.ExpiresIn = max(maxAge(t.AccessExpiry, h.a.cfg.Now()), 0)
	}
	writeJSON(w, http.StatusOK, out)
}

// signedIn ends a complete interactive sign-in: tokens, and the device
// cookie that exempts this browser from the lock an attacker may impose.
func (h *handlers) signedIn(w http.ResponseWriter, r *http.Request, u User, amr []string, dev DeviceToken) {
	t, err := h.a.IssueTokens(r.Context(), u, amr)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.delivery.cookies() {
		setDeviceCookie(w, dev, h.a.cfg.Now(), h.prefix)
	}
	h.deliver(w, u, t)
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

// single refuses a request that carries two cookies of one token name (a
// cookie planted by a sibling subdomain or for a narrower path sits next to
// the real one, and the first is not necessarily the real one): 401
// invalid_token, cookies cleared (with cookie delivery).
func (h *handlers) single(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if duplicateTokenCookie(r) {
			h.a.emit(r.Context(), EventAccessDenied, OutcomeFailure, "duplicate_cookie", h.a.ClientOf(r), "", "")
			h.clearCookies(w)
			writeError(w, http.StatusUnauthorized, middleware.CodeInvalidToken)
			return
		}
		next(w, r)
	}
}

// refreshToken finds the refresh token of a refresh or logout request: in
// the JSON body {"refresh_token"} with body delivery, else in the refresh
// cookie with cookie delivery. With both, an absent or empty body (a
// browser's fetch may send a Content-Type without one) or an empty member
// means the cookie. ok is false when it has answered an unusable body
// itself. fromCookie says the token is the refresh cookie's.
func (h *handlers) refreshToken(w http.ResponseWriter, r *http.Request) (tok string, fromCookie, ok bool) {
	fromBody := h.delivery.body() && hasBody(r)
	if fromBody && h.delivery.cookies() && r.ContentLength == 0 {
		fromBody = false
	}
	if fromBody {
		var in struct {
			RefreshToken string `json:"refresh_token"`
		}
		if !decode(w, r, &in) {
			return "", false, false
		}
		if in.RefreshToken != "" || !h.delivery.cookies() {
			return in.RefreshToken, false, true
		}
	}
	if h.delivery.cookies() {
		if c, err := r.Cookie(RefreshCookie); err == nil {
			return c.Value, true, true
		}
	}
	return "", false, true
}

func (h *handlers) refresh(w http.ResponseWriter, r *http.Request) {
	tok, fromCookie, ok := h.refreshToken(w, r)
	if !ok {
		return
	}
	if tok == "" {
		writeError(w, http.StatusUnauthorized, middleware.CodeInvalidToken)
		return
	}
	if fromCookie && !boundRefreshCookie(r, tok) {
		// Not the cookie this host set: possibly planted by a sibling
		// subdomain to sign the victim in as someone else. It is not spent.
		h.a.emit(r.Context(), EventAccessDenied, OutcomeFailure, "unbound_refresh_cookie", h.a.ClientOf(r), "", "")
		h.clearCookies(w)
		writeError(w, http.StatusUnauthorized, middleware.CodeInvalidToken)
		return
	}
	t, u, err := h.a.Refresh(r.Context(), tok, h.a.ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.deliver(w, u, t)
}

func (h *handlers) logout(w http.ResponseWriter, r *http.Request) {
	// An unbound refresh cookie is revoked too: ending a planted session
	// harms no one.
	tok, _, ok := h.refreshToken(w, r)
	if !ok {
		return
	}
	if err := h.a.Logout(r.Context(), tok, h.a.ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	h.clearCookies(w)
	w.WriteHeader(http.StatusNoContent)
}

// authed runs next only for a request with a valid access token.
func (h *handlers) authed(next func(http.ResponseWriter, *http.Request, middleware.Principal)) http.HandlerFunc {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := middleware.FromContext(r.Context())
		if !ok {
			writeError(w, http.StatusUnauthorized, middleware.CodeUnauthenticated)
			return
		}
		next(w, r, p)
	})
	return h.single(h.a.authn.RequireAuth(inner).ServeHTTP)
}

func (h *handlers) logoutAll(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	if err := h.a.LogoutAll(r.Context(), p.Subject, h.a.ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	h.clearCookies(w)
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
	if h.delivery.body() {
		h.deliver(w, u, t)
		return
	}
	h.setCookies(w, t)
	w.WriteHeader(http.StatusNoContent)
}

type codeBody struct {
	Code string `json:"code"`
}

func (h *handlers) mfaEnroll(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	// A body is optional: {"code"} proves the active factor when one is
	// being replaced. An empty body is no body.
	var in codeBody
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	s, err := h.a.EnrollMFA(r.Context(), p.Subject, p.AuthTime, p.AMR, in.Code, h.a.ClientOf(r))
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
