package main

// TEMPORARY: an interim flow over the leaf packages until the root
// package's login flow lands; replaced by rootFlow.

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/password"
)

type interimFlow struct {
	a    *App
	auth *interimAuth
}

func (a *App) newFlow() (http.Handler, error) {
	f := &interimFlow{a: a}
	a.flow = f
	h := a.interimHandler(f)
	return h, nil
}

func (f *interimFlow) Signup(ctx context.Context, r *http.Request, email, pw string) (authkit.User, error) {
	login, ok := authkit.CanonicalLogin(email)
	if !ok || !strings.Contains(login, "@") {
		return authkit.User{}, errInvalidEmail
	}
	if err := f.a.policy.Check(ctx, pw, password.UserInfo{Email: login}); err != nil {
		var pe *password.PolicyError
		if errors.As(err, &pe) {
			return authkit.User{}, &weakPasswordError{Rule: string(pe.Rule)}
		}
		return authkit.User{}, err
	}
	h, err := f.a.hasher.Hash(ctx, pw)
	if err != nil {
		return authkit.User{}, err
	}
	id, err := newUserID()
	if err != nil {
		return authkit.User{}, err
	}
	u := authkit.User{ID: id, Email: login, PasswordHash: h, Roles: f.a.rolesFor(login), CreatedAt: f.a.now()}
	if err := f.a.accounts.CreateUser(ctx, u); err != nil {
		if errors.Is(err, authkit.ErrLoginTaken) {
			return authkit.User{}, errEmailTaken
		}
		return authkit.User{}, err
	}
	return u, nil
}

func (f *interimFlow) Login(ctx context.Context, r *http.Request, email, pw string) (loginOutcome, error) {
	login, _ := authkit.CanonicalLogin(email)
	ip := f.a.ip(r)
	if err := f.a.lockout.Begin(ctx, login, ip); err != nil {
		var te *authkit.ThrottledError
		if errors.As(err, &te) {
			return loginOutcome{}, &throttledError{RetryAfter: te.RetryAfter}
		}
		return loginOutcome{}, err
	}
	u, found, err := f.a.accounts.UserByLogin(ctx, login)
	if err != nil {
		return loginOutcome{}, err
	}
	okPw, rehash := false, false
	if found && u.PasswordHash != "" && !u.Disabled {
		okPw, rehash, err = f.a.hasher.Verify(ctx, pw, u.PasswordHash)
	} else {
		err = f.a.hasher.VerifyDummy(ctx, pw)
	}
	if err != nil && !errors.Is(err, password.ErrInvalidHash) {
		return loginOutcome{}, err
	}
	if !okPw {
		_ = f.a.lockout.Fail(ctx, login, ip)
		return loginOutcome{}, errInvalidCredentials
	}
	if rehash {
		if h, err := f.a.hasher.Hash(ctx, pw); err == nil {
			_ = f.a.accounts.SetPasswordHash(ctx, u.ID, h)
		}
	}
	enrolled, err := f.a.mfa.Enrolled(ctx, u.ID)
	if err != nil {
		return loginOutcome{}, err
	}
	if enrolled {
		tok, err := f.a.mfa.NewChallenge(ctx, u.ID, []byte(login))
		if err != nil {
			return loginOutcome{}, err
		}
		return loginOutcome{MFAToken: tok}, nil
	}
	_ = f.a.lockout.Succeed(ctx, login)
	return loginOutcome{User: u}, nil
}

func (f *interimFlow) VerifyMFA(ctx context.Context, r *http.Request, tok, code string) (authkit.User, error) {
	ch, _, err := f.a.mfa.VerifyChallenge(ctx, tok, code)
	if err != nil {
		if errors.Is(err, mfa.ErrInvalidChallenge) {
			return authkit.User{}, errInvalidCode
		}
		return authkit.User{}, mfaErr(err)
	}
	u, found, err := f.a.accounts.UserByID(ctx, ch.UserID)
	if err != nil || !found {
		return authkit.User{}, errors.Join(err, errInvalidCode)
	}
	_ = f.a.lockout.Succeed(ctx, string(ch.Data))
	return u, nil
}

func (f *interimFlow) ChangePassword(ctx context.Context, r *http.Request, uid, cur, next string) error {
	u, found, err := f.a.accounts.UserByID(ctx, uid)
	if err != nil || !found {
		return errors.Join(err, errInvalidCredentials)
	}
	ok, _, err := f.a.hasher.Verify(ctx, cur, u.PasswordHash)
	if err != nil || !ok {
		return errInvalidCredentials
	}
	if err := f.a.policy.Check(ctx, next, password.UserInfo{Email: u.Email}); err != nil {
		var pe *password.PolicyError
		if errors.As(err, &pe) {
			return &weakPasswordError{Rule: string(pe.Rule)}
		}
		return err
	}
	h, err := f.a.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if err := f.a.accounts.SetPasswordHash(ctx, uid, h); err != nil {
		return err
	}
	return f.LogoutAll(ctx, r, uid)
}

func (f *interimFlow) LogoutAll(ctx context.Context, r *http.Request, uid string) error {
	if err := f.a.refresh.RevokeUser(ctx, uid); err != nil {
		return err
	}
	if err := f.a.st.notBefore.SetNotBefore(ctx, uid, f.a.now()); err != nil {
		return err
	}
	f.a.verifier.ForgetNotBefore(uid)
	return f.a.sessions.RevokeUser(ctx, uid)
}

func (f *interimFlow) SignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, u authkit.User, amr []string) error {
	at, rt, err := f.auth.tokens(ctx, u, amr, f.a.now())
	if err != nil {
		return err
	}
	f.auth.cookies(w, at, rt)
	return nil
}
