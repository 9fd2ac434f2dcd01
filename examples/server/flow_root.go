package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/password"
)

// rootFlow is the UI's and the OIDC callback's view of authkit's login flow
// (authkit.Auth): the same lockout, rehash-on-login, MFA and audit rules as
// the /auth JSON endpoints, with errors translated for the UI.
type rootFlow struct {
	a    *App
	auth *authkit.Auth
}

func (f *rootFlow) client(r *http.Request) authkit.Client { return f.auth.ClientOf(r) }

// uiError maps the flow's errors to the UI's.
func uiError(err error) error {
	var pe *password.PolicyError
	var te *authkit.ThrottledError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return &weakPasswordError{Rule: string(pe.Rule)}
	case errors.As(err, &te):
		return &throttledError{RetryAfter: te.RetryAfter}
	case errors.Is(err, authkit.ErrInvalidCredentials):
		return errInvalidCredentials
	case errors.Is(err, authkit.ErrInvalidCode):
		return errInvalidCode
	case errors.Is(err, authkit.ErrLoginTaken):
		return errEmailTaken
	case errors.Is(err, authkit.ErrInvalidEmail):
		return errInvalidEmail
	}
	return err
}

func (f *rootFlow) Signup(ctx context.Context, r *http.Request, email, pw string) (authkit.User, error) {
	u, err := f.auth.Signup(ctx, email, pw, f.client(r))
	return u, uiError(err)
}

func (f *rootFlow) Login(ctx context.Context, r *http.Request, email, pw string) (loginOutcome, error) {
	res, err := f.auth.Login(ctx, email, pw, f.client(r))
	if err != nil {
		return loginOutcome{}, uiError(err)
	}
	return loginOutcome{User: res.User, MFAToken: res.MFAToken}, nil
}

func (f *rootFlow) VerifyMFA(ctx context.Context, r *http.Request, tok, code string) (authkit.User, error) {
	u, err := f.auth.VerifyMFA(ctx, tok, code, f.client(r))
	return u, uiError(err)
}

func (f *rootFlow) ChangePassword(ctx context.Context, r *http.Request, uid, cur, next string) error {
	_, err := f.auth.ChangePassword(ctx, uid, cur, next, f.client(r))
	return uiError(err)
}

func (f *rootFlow) LogoutAll(ctx context.Context, r *http.Request, uid string) error {
	return uiError(f.auth.LogoutAll(ctx, uid, f.client(r)))
}

func (f *rootFlow) SignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, u authkit.User, amr []string) error {
	t, err := f.auth.IssueTokens(ctx, u, amr)
	if err != nil {
		return err
	}
	authkit.SetTokenCookies(w, t, f.a.now())
	return nil
}
