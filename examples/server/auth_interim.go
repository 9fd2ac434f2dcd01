package main

// TEMPORARY: interim /auth JSON handlers over the leaf packages, so the
// contract tests run before the root package's Handler lands. Replaced by
// authkit's (*Auth).Handler().

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
)

type interimAuth struct {
	a        *App
	f        *interimFlow
	mu       sync.Mutex
	families map[string]familyInfo
}

type familyInfo struct {
	authTime time.Time
	amr      []string
}

func (a *App) interimHandler(f *interimFlow) http.Handler {
	h := &interimAuth{a: a, f: f, families: map[string]familyInfo{}}
	f.auth = h
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/signup", h.signup)
	mux.HandleFunc("POST /auth/login", h.login)
	mux.HandleFunc("POST /auth/mfa/verify", h.verify)
	mux.HandleFunc("POST /auth/refresh", h.refresh)
	mux.HandleFunc("POST /auth/logout", h.logout)
	mux.HandleFunc("POST /auth/logout-all", h.authed(false, h.logoutAll))
	mux.HandleFunc("POST /auth/password", h.authed(false, h.password))
	mux.HandleFunc("POST /auth/mfa/enroll", h.authed(true, h.enroll))
	mux.HandleFunc("POST /auth/mfa/confirm", h.authed(false, h.confirm))
	mux.HandleFunc("POST /auth/mfa/disable", h.authed(true, h.disable))
	mux.HandleFunc("POST /auth/mfa/backup-codes", h.authed(true, h.backupCodes))
	mux.HandleFunc("/auth/", func(w http.ResponseWriter, r *http.Request) {
		middleware.WriteError(w, http.StatusNotFound, "not_found")
	})
	csrf, _ := middleware.NewCSRF(middleware.CSRFConfig{})
	return middleware.SecureHeaders(csrf.Handler(http.MaxBytesHandler(mux, 64<<10)))
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 {
		return true
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			middleware.WriteError(w, http.StatusRequestEntityTooLarge, "too_large")
		} else {
			middleware.WriteError(w, http.StatusBadRequest, "invalid_request")
		}
		return false
	}
	return true
}

func (h *interimAuth) fail(w http.ResponseWriter, err error) {
	var weak *weakPasswordError
	var thr *throttledError
	switch {
	case errors.As(err, &weak):
		writeJSON(w, 400, map[string]string{"error": "weak_password", "reason": weak.Rule})
	case errors.As(err, &thr):
		middleware.WriteRateLimited(w, thr.RetryAfter)
	case errors.Is(err, errInvalidCredentials):
		middleware.WriteError(w, 401, "invalid_credentials")
	case errors.Is(err, errInvalidCode):
		middleware.WriteError(w, 401, "invalid_code")
	case errors.Is(err, errEmailTaken):
		middleware.WriteError(w, 409, "email_taken")
	case errors.Is(err, errInvalidEmail):
		middleware.WriteError(w, 400, "invalid_email")
	default:
		h.a.log.Error("auth", "err", err)
		middleware.WriteError(w, 500, "internal_error")
	}
}

type creds struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (h *interimAuth) signup(w http.ResponseWriter, r *http.Request) {
	var c creds
	if !decode(w, r, &c) {
		return
	}
	n, end, err := h.a.st.attempts.Incr(r.Context(), "signup:"+h.a.ip(r), 10*time.Minute)
	if err != nil {
		h.fail(w, err)
		return
	}
	if n > 30 {
		middleware.WriteRateLimited(w, end.Sub(h.a.now()))
		return
	}
	u, err := h.f.Signup(r.Context(), r, c.Email, c.Password)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, 201, userJSON{ID: u.ID, Email: u.Email, Roles: nonNil(u.Roles)})
}

func (h *interimAuth) login(w http.ResponseWriter, r *http.Request) {
	var c creds
	if !decode(w, r, &c) {
		return
	}
	out, err := h.f.Login(r.Context(), r, c.Email, c.Password)
	if err != nil {
		h.fail(w, err)
		return
	}
	if out.MFAToken != "" {
		writeJSON(w, 200, map[string]any{"mfa_required": true, "mfa_token": out.MFAToken})
		return
	}
	h.issue(w, r, out.User, []string{"pwd"}, h.a.now())
}

func (h *interimAuth) verify(w http.ResponseWriter, r *http.Request) {
	var c struct {
		Token string `json:"mfa_token"`
		Code  string `json:"code"`
	}
	if !decode(w, r, &c) {
		return
	}
	u, err := h.f.VerifyMFA(r.Context(), r, c.Token, c.Code)
	if err != nil {
		h.fail(w, err)
		return
	}
	h.issue(w, r, u, []string{"pwd", "otp"}, h.a.now())
}

func (h *interimAuth) cookies(w http.ResponseWriter, access, refresh string) {
	http.SetCookie(w, &http.Cookie{Name: "access_token", Value: access, Path: "/", MaxAge: int(jwt.DefaultAccessTokenLifetime / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: "refresh_token", Value: refresh, Path: "/auth", MaxAge: int(jwt.DefaultRefreshLifetime / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

func clearCookies(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: "access_token", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: "refresh_token", Path: "/auth", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

func (h *interimAuth) tokens(ctx context.Context, u authkit.User, amr []string, authTime time.Time) (string, string, error) {
	at, _, err := h.a.issuer.Issue(ctx, jwt.AccessTokenRequest{Subject: u.ID, Roles: u.Roles, AMR: amr, AuthTime: authTime})
	if err != nil {
		return "", "", err
	}
	rt, rec, err := h.a.refresh.Issue(ctx, u.ID)
	if err != nil {
		return "", "", err
	}
	h.mu.Lock()
	h.families[rec.FamilyID] = familyInfo{authTime: authTime, amr: amr}
	h.mu.Unlock()
	return at, rt, nil
}

func (h *interimAuth) issue(w http.ResponseWriter, r *http.Request, u authkit.User, amr []string, authTime time.Time) {
	at, rt, err := h.tokens(r.Context(), u, amr, authTime)
	if err != nil {
		h.fail(w, err)
		return
	}
	h.cookies(w, at, rt)
	writeJSON(w, 200, map[string]any{"user": userJSON{ID: u.ID, Email: u.Email, Roles: nonNil(u.Roles)}})
}

func (h *interimAuth) refresh(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("refresh_token")
	if err != nil || c.Value == "" {
		middleware.WriteError(w, 401, "invalid_token")
		return
	}
	rt, rec, err := h.a.refresh.Refresh(r.Context(), c.Value)
	switch {
	case errors.Is(err, jwt.ErrTokenReused):
		clearCookies(w)
		middleware.WriteError(w, 401, "token_reused")
		return
	case errors.Is(err, jwt.ErrInvalidToken):
		middleware.WriteError(w, 401, "invalid_token")
		return
	case err != nil:
		h.fail(w, err)
		return
	}
	u, found, err := h.a.accounts.UserByID(r.Context(), rec.UserID)
	if err != nil || !found || u.Disabled {
		middleware.WriteError(w, 401, "invalid_token")
		return
	}
	h.mu.Lock()
	fi := h.families[rec.FamilyID]
	h.mu.Unlock()
	at, _, err := h.a.issuer.Issue(r.Context(), jwt.AccessTokenRequest{Subject: u.ID, Roles: u.Roles, AMR: fi.amr, AuthTime: fi.authTime})
	if err != nil {
		h.fail(w, err)
		return
	}
	h.cookies(w, at, rt)
	writeJSON(w, 200, map[string]any{"user": userJSON{ID: u.ID, Email: u.Email, Roles: nonNil(u.Roles)}})
}

func (h *interimAuth) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie("refresh_token"); err == nil && c.Value != "" {
		if err := h.a.refresh.Revoke(r.Context(), c.Value); err != nil {
			h.fail(w, err)
			return
		}
	}
	clearCookies(w)
	w.WriteHeader(204)
}

func (h *interimAuth) authed(recent bool, next func(http.ResponseWriter, *http.Request, jwt.Claims)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if tok == "" {
			if c, err := r.Cookie("access_token"); err == nil {
				tok = c.Value
			}
		}
		c, err := h.a.verifier.Verify(r.Context(), tok)
		if err != nil {
			if !errors.Is(err, jwt.ErrInvalidToken) {
				h.fail(w, err)
				return
			}
			w.Header().Set("WWW-Authenticate", "Bearer")
			middleware.WriteError(w, 401, "unauthenticated")
			return
		}
		if recent && h.a.now().Sub(c.AuthTime) > recentAuth {
			middleware.WriteError(w, 401, "reauth_required")
			return
		}
		next(w, r, c)
	}
}

func (h *interimAuth) logoutAll(w http.ResponseWriter, r *http.Request, c jwt.Claims) {
	if err := h.f.LogoutAll(r.Context(), r, c.Subject); err != nil {
		h.fail(w, err)
		return
	}
	clearCookies(w)
	w.WriteHeader(204)
}

func (h *interimAuth) password(w http.ResponseWriter, r *http.Request, c jwt.Claims) {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if !decode(w, r, &in) {
		return
	}
	if err := h.f.ChangePassword(r.Context(), r, c.Subject, in.Current, in.New); err != nil {
		h.fail(w, err)
		return
	}
	u, _, err := h.a.accounts.UserByID(r.Context(), c.Subject)
	if err != nil {
		h.fail(w, err)
		return
	}
	at, rt, err := h.tokens(r.Context(), u, c.AMR, c.AuthTime)
	if err != nil {
		h.fail(w, err)
		return
	}
	h.cookies(w, at, rt)
	w.WriteHeader(204)
}

func (h *interimAuth) enroll(w http.ResponseWriter, r *http.Request, c jwt.Claims) {
	u, _, err := h.a.accounts.UserByID(r.Context(), c.Subject)
	if err != nil {
		h.fail(w, err)
		return
	}
	s, err := h.a.mfa.Enroll(r.Context(), c.Subject, u.Email)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, 200, map[string]string{"secret": s.Secret, "otpauth_url": s.URL, "qr_png": base64.StdEncoding.EncodeToString(s.QRPNG)})
}

type codeReq struct {
	Code string `json:"code"`
}

func (h *interimAuth) confirm(w http.ResponseWriter, r *http.Request, c jwt.Claims) {
	var in codeReq
	if !decode(w, r, &in) {
		return
	}
	codes, err := h.a.mfa.Confirm(r.Context(), c.Subject, in.Code)
	if err != nil {
		h.fail(w, mfaErr(err))
		return
	}
	writeJSON(w, 200, map[string]any{"backup_codes": codes})
}

func (h *interimAuth) disable(w http.ResponseWriter, r *http.Request, c jwt.Claims) {
	var in codeReq
	if !decode(w, r, &in) {
		return
	}
	if err := h.a.mfa.Disable(r.Context(), c.Subject, in.Code); err != nil {
		h.fail(w, mfaErr(err))
		return
	}
	w.WriteHeader(204)
}

func (h *interimAuth) backupCodes(w http.ResponseWriter, r *http.Request, c jwt.Claims) {
	var in codeReq
	if !decode(w, r, &in) {
		return
	}
	codes, err := h.a.mfa.RegenerateBackupCodes(r.Context(), c.Subject, in.Code)
	if err != nil {
		h.fail(w, mfaErr(err))
		return
	}
	writeJSON(w, 200, map[string]any{"backup_codes": codes})
}
