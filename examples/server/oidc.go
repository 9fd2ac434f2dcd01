package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/oauth"
)

// oidcLogin serves GET /auth/oauth/oidc/start and /auth/oauth/oidc/callback:
// "sign in with OIDC" through the authorization code flow with PKCE, state
// and nonce (package oauth), the transaction in a SameSite=Lax encrypted
// cookie, and accounts keyed by (issuer, subject).
type oidcLogin struct {
	a      *App
	flow   *oauth.Flow
	linker *oauth.Linker
}

// newOIDC discovers the provider and starts its key refresher.
func (a *App) newOIDC(ctx context.Context) (*oidcLogin, error) {
	client := a.opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	p, err := oauth.Discover(ctx, oauth.OIDCConfig{
		Name:         "oidc",
		Issuer:       a.opts.OIDCIssuer,
		ClientID:     a.opts.OIDCClientID,
		ClientSecret: a.opts.OIDCClientSecret,
		RedirectURL:  a.opts.BaseURL + "/auth/oauth/oidc/callback",
		Scopes:       []string{"openid", "email", "profile"},
		HTTPClient:   client,
	})
	if err != nil {
		return nil, err
	}
	p.FetchUserInfo = p.UserInfoURL != ""
	f, err := oauth.New(oauth.Config{
		Provider: p, CookieKey: a.sec.OAuthCookieKey(), HTTPClient: client, Now: a.now,
	})
	if err != nil {
		return nil, err
	}
	if err := f.Start(ctx); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, f.Close)
	return &oidcLogin{a: a, flow: f, linker: &oauth.Linker{Store: identities{accounts: a.accounts, now: a.now}}}, nil
}

func (o *oidcLogin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/auth/oauth/oidc/start":
		if err := o.flow.Begin(w, r, r.URL.Query().Get("return_to")); err != nil {
			o.a.log.Error("oidc start", "err", err)
			middleware.WriteError(w, http.StatusInternalServerError, "internal_error")
		}
	case "/auth/oauth/oidc/callback":
		o.callback(w, r)
	default:
		middleware.WriteError(w, http.StatusNotFound, "not_found")
	}
}

// callback finishes the sign-in: the first sign-in creates a viewer keyed by
// (issuer, subject); an existing local account with the same email is linked
// only when both emails are verified, otherwise 409 account_exists.
func (o *oidcLogin) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	res, err := o.flow.Callback(w, r)
	if err != nil {
		o.a.log.Warn("oidc callback refused", "err", err)
		switch {
		case errors.Is(err, oauth.ErrState), errors.Is(err, oauth.ErrCallback), errors.Is(err, oauth.ErrIssuerMismatch),
			errors.Is(err, oauth.ErrProvider), errors.Is(err, oauth.ErrExchange), errors.Is(err, oauth.ErrIDToken),
			errors.Is(err, oauth.ErrUserInfo):
			middleware.WriteError(w, http.StatusBadRequest, "oauth_failed")
		default:
			o.a.apiFail(w, "oidc callback", err)
		}
		return
	}
	uid, outcome, err := o.linker.Resolve(ctx, res.Identity)
	if errors.Is(err, oauth.ErrAccountExists) {
		o.a.audit.Emit(ctx, authkit.Event{Type: authkit.EventLoginFailure, IP: o.a.ip(r), UserAgent: r.UserAgent(),
			Outcome: authkit.OutcomeFailure, Reason: "oidc_account_exists"})
		middleware.WriteError(w, http.StatusConflict, "account_exists")
		return
	}
	if err != nil {
		o.a.apiFail(w, "oidc: resolving account", err)
		return
	}
	u, found, err := o.a.accounts.UserByID(ctx, uid)
	if err != nil {
		o.a.apiFail(w, "oidc: loading account", err)
		return
	}
	if !found { // the account was just resolved: a bug
		o.a.log.Error("oidc: resolved account not found", "user", uid)
		middleware.WriteError(w, http.StatusInternalServerError, middleware.CodeInternal)
		return
	}
	if u.Disabled {
		middleware.WriteError(w, http.StatusUnauthorized, "invalid_credentials")
		return
	}
	// A local second factor is never skipped by a federated sign-in: an
	// account with TOTP signs in with its password and code.
	enrolled, err := o.a.mfa.Enrolled(ctx, uid)
	if err != nil {
		o.a.apiFail(w, "oidc: mfa store", err)
		return
	}
	if enrolled {
		middleware.WriteError(w, http.StatusForbidden, "mfa_required")
		return
	}
	tokens, err := o.a.auth.IssueTokens(ctx, u, []string{"fed"})
	if err != nil {
		o.a.apiFail(w, "oidc: issuing tokens", err)
		return
	}
	authkit.SetTokenCookies(w, tokens, o.a.now())
	// The browser UI signs in too (server-side session, new id), with the
	// same "fed" method as the tokens.
	if err := o.a.sessions.SignIn(ctx, uid, []string{"fed"}); err != nil {
		o.a.log.Error("oidc: session login", "err", err)
	}
	reason := map[oauth.Outcome]string{oauth.Existing: "oidc", oauth.Linked: "oidc_linked", oauth.Created: "oidc_created"}[outcome]
	o.a.audit.Emit(ctx, authkit.Event{Type: authkit.EventLoginSuccess, UserID: uid, Login: u.Email, IP: o.a.ip(r),
		UserAgent: r.UserAgent(), Outcome: authkit.OutcomeSuccess, Reason: reason})
	http.Redirect(w, r, res.ReturnTo, http.StatusFound)
}

// ip returns the client address for audit events.
func (a *App) ip(r *http.Request) string {
	ip, ok := a.clientIP.ClientIP(r)
	if !ok {
		return ""
	}
	return ip.String()
}
