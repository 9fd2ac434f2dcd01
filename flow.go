package authkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/password"
)

// Authentication method references (RFC 8176) put in "amr".
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
)

// Tokens is an access token and a refresh token issued together.
type Tokens struct {
	Access        string
	AccessExpiry  time.Time
	Refresh       string
	RefreshExpiry time.Time
}

// LoginResult is the outcome of a correct password. When the account has
// MFA enrolled, MFAToken is set and nothing is signed in yet: the caller
// must finish with [Auth.VerifyMFA] (SECURITY.md S3). Otherwise User is the
// signed-in account.
type LoginResult struct {
	User     User
	MFAToken string
}

// MFARequired reports whether a second factor is due.
func (r LoginResult) MFARequired() bool { return r.MFAToken != "" }

// Signup creates an account with the password pw (ASVS 6.2). Errors:
// [ErrInvalidEmail], a [*password.PolicyError] for a weak password,
// [ErrLoginTaken], or a [*ThrottledError] when the client's IP exceeded
// Config.SignupLimit.
func (a *Auth) Signup(ctx context.Context, email, pw string, c Client) (User, error) {
	login, ok := CanonicalLogin(email)
	if !ok || !plausibleEmail(login) {
		return User{}, ErrInvalidEmail
	}
	if c.IP != "" {
		n, end, err := a.attempts.Incr(ctx, "signup:"+c.IP, a.signup.Window)
		if err != nil {
			return User{}, err
		}
		if n > a.signup.Max {
			a.emit(ctx, EventSignup, OutcomeFailure, "rate_limited", c, "", login)
			return User{}, &ThrottledError{RetryAfter: retryAfter(end, a.now()), Scope: "ip"}
		}
	}
	if err := a.policy.Check(ctx, pw, password.UserInfo{Email: login}); err != nil {
		return User{}, err
	}
	hash, err := a.hasher.Hash(ctx, pw)
	if err != nil {
		return User{}, err
	}
	id, err := a.newUserID()
	if err != nil {
		return User{}, err
	}
	u := User{ID: id, Email: login, PasswordHash: hash, Roles: a.rolesFor(login), CreatedAt: a.now()}
	if err := a.users.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrLoginTaken) {
			a.emit(ctx, EventSignup, OutcomeFailure, "email_taken", c, "", login)
		}
		return User{}, err
	}
	a.emit(ctx, EventSignup, OutcomeSuccess, "", c, u.ID, login)
	return u, nil
}

// plausibleEmail accepts local@domain with a dot-free-or-dotted domain and
// no spaces; deliverability is proven by the verification mail, not here.
func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t<>()[],;\"\\") {
		return false
	}
	domain := s[at+1:]
	return !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.Contains(domain, "..")
}

// Login checks a password (the first factor). The attempt is counted
// against the login name before the password is checked (SECURITY.md
// S12–S14); an unknown login, a wrong password, an account without a
// password and a disabled account all cost one argon2id verification at the
// current parameters and give [ErrInvalidCredentials] (S10, S11). A stored
// hash with outdated parameters is replaced (rehash on login). Errors: that,
// a [*ThrottledError], or a system failure (including password.ErrBusy when
// the hashing cap is saturated) on which the caller must refuse the login.
func (a *Auth) Login(ctx context.Context, loginName, pw string, c Client) (LoginResult, error) {
	login, _ := CanonicalLogin(loginName)
	if err := a.lockout.Begin(ctx, login, c.IP); err != nil {
		if errors.Is(err, ErrThrottled) {
			a.emit(ctx, EventLoginFailure, OutcomeFailure, "throttled", c, "", login)
		}
		return LoginResult{}, err
	}
	u, found, err := a.users.UserByLogin(ctx, login)
	if err != nil {
		return LoginResult{}, err
	}
	ok, rehash := false, false
	reason := "unknown_user"
	if found && !u.Disabled && u.PasswordHash != "" {
		reason = "bad_password"
		ok, rehash, err = a.hasher.Verify(ctx, pw, u.PasswordHash)
	} else {
		if found {
			reason = "disabled_or_no_password"
		}
		err = a.hasher.VerifyDummy(ctx, pw)
	}
	if err != nil {
		if !errors.Is(err, password.ErrInvalidHash) && !errors.Is(err, password.ErrUnknownPepper) {
			return LoginResult{}, err
		}
		reason, ok = "unreadable_hash", false
	}
	if !ok {
		lockErr := a.lockout.Fail(ctx, login, c.IP)
		a.emit(ctx, EventLoginFailure, OutcomeFailure, reason, c, u.ID, login)
		if errors.Is(lockErr, ErrThrottled) {
			a.emit(ctx, EventLockout, OutcomeFailure, "too_many_failures", c, u.ID, login)
		} else if lockErr != nil {
			return LoginResult{}, lockErr
		}
		return LoginResult{}, ErrInvalidCredentials
	}
	if rehash {
		if h, err := a.hasher.Hash(ctx, pw); err == nil && a.users.SetPasswordHash(ctx, u.ID, h) == nil {
			u.PasswordHash = h
			a.emit(ctx, EventPasswordRehash, OutcomeSuccess, "", c, u.ID, login)
		}
	}
	if a.mfa != nil {
		enrolled, err := a.mfa.Enrolled(ctx, u.ID)
		if err != nil {
			return LoginResult{}, err
		}
		if enrolled {
			tok, err := a.mfa.NewChallenge(ctx, u.ID, []byte(login))
			if err != nil {
				return LoginResult{}, err
			}
			a.emit(ctx, EventMFARequired, OutcomeSuccess, "", c, u.ID, login)
			return LoginResult{MFAToken: tok}, nil
		}
	}
	if err := a.lockout.Succeed(ctx, login); err != nil {
		return LoginResult{}, err
	}
	a.emit(ctx, EventLoginSuccess, OutcomeSuccess, "", c, u.ID, login)
	return LoginResult{User: u}, nil
}

// VerifyMFA finishes a login begun by [Auth.Login] with a TOTP code or a
// backup code. The challenge is single use and short-lived; codes are
// replay-proof and wrong codes are throttled per account across parallel
// challenges (mfa package). Errors: [ErrInvalidCode] (also for a replayed
// code or an expired challenge), a [*ThrottledError], or a system failure.
func (a *Auth) VerifyMFA(ctx context.Context, mfaToken, code string, c Client) (User, error) {
	if a.mfa == nil {
		return User{}, ErrMFANotConfigured
	}
	ch, method, err := a.mfa.VerifyChallenge(ctx, mfaToken, code)
	if err != nil {
		if err := a.mfaError(err); err != ErrInvalidCode {
			return User{}, err
		}
		a.emit(ctx, EventMFAFailure, OutcomeFailure, "invalid_code", c, "", "")
		return User{}, ErrInvalidCode
	}
	login := string(ch.Data)
	u, found, err := a.users.UserByID(ctx, ch.UserID)
	if err != nil {
		return User{}, err
	}
	if !found || u.Disabled {
		a.emit(ctx, EventMFAFailure, OutcomeFailure, "disabled", c, ch.UserID, login)
		return User{}, ErrInvalidCode
	}
	if err := a.lockout.Succeed(ctx, login); err != nil {
		return User{}, err
	}
	reason := "totp"
	if method == mfa.MethodBackupCode {
		reason = "backup_code"
	}
	a.emit(ctx, EventMFASuccess, OutcomeSuccess, reason, c, u.ID, login)
	a.emit(ctx, EventLoginSuccess, OutcomeSuccess, "", c, u.ID, login)
	return u, nil
}

// mfaError maps the mfa package's errors: wrong, replayed or expired codes
// and challenges to ErrInvalidCode, its throttle to a *ThrottledError, and
// anything else through unchanged (a store failure).
func (a *Auth) mfaError(err error) error {
	var te *mfa.ThrottledError
	switch {
	case errors.As(err, &te):
		return &ThrottledError{RetryAfter: retryAfter(a.now().Add(te.RetryAfter), a.now()), Scope: "mfa"}
	case errors.Is(err, mfa.ErrInvalidCode), errors.Is(err, mfa.ErrInvalidChallenge),
		errors.Is(err, mfa.ErrNotEnrolled), errors.Is(err, mfa.ErrNoPendingEnrollment):
		return ErrInvalidCode
	}
	return err
}

// IssueTokens signs an access token for u and starts a new refresh-token
// family: the end of an interactive sign-in (password, MFA, or an external
// provider). amr lists how the user authenticated (RFC 8176).
func (a *Auth) IssueTokens(ctx context.Context, u User, amr []string) (Tokens, error) {
	now := a.now()
	mfaDone := slices.Contains(amr, AMROTP) || slices.Contains(amr, "mfa")
	rt, rec, err := a.refresh.Issue(ctx, u.ID, jwt.SignIn{AuthTime: now, AMR: amr, MFA: mfaDone})
	if err != nil {
		return Tokens{}, err
	}
	return a.accessFor(ctx, u, amr, now, rt, rec)
}

func (a *Auth) accessFor(ctx context.Context, u User, amr []string, authTime time.Time, rt string, rec jwt.RefreshToken) (Tokens, error) {
	at, cl, err := a.issuer.Issue(ctx, jwt.AccessTokenRequest{Subject: u.ID, Roles: u.Roles, AMR: amr, AuthTime: authTime})
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{Access: at, AccessExpiry: cl.ExpiresAt, Refresh: rt, RefreshExpiry: rec.Expiry}, nil
}

// Refresh rotates a refresh token and issues a new access token with the
// account's current roles (a role change or a disabled account applies at
// the next refresh). The new access token carries the auth_time and amr of
// the interactive sign-in that started the family, as stored with the
// family, so "recent sign-in" checks are not renewed by refreshing and the
// MFA fact survives it.
// A second use of any token of a family revokes the family and gives
// [ErrTokenReused] (RFC 9700 §4.14.2); an unknown, expired or revoked token
// gives [ErrInvalidToken].
func (a *Auth) Refresh(ctx context.Context, refreshToken string, c Client) (Tokens, User, error) {
	rt, rec, err := a.refresh.Refresh(ctx, refreshToken)
	switch {
	case errors.Is(err, jwt.ErrTokenReused):
		a.emit(ctx, EventRefreshReuse, OutcomeFailure, "token_reused", c, rec.UserID, "")
		return Tokens{}, User{}, ErrTokenReused
	case errors.Is(err, jwt.ErrInvalidToken):
		return Tokens{}, User{}, ErrInvalidToken
	case err != nil:
		return Tokens{}, User{}, err
	}
	u, found, err := a.users.UserByID(ctx, rec.UserID)
	if err != nil {
		return Tokens{}, User{}, err
	}
	if !found || u.Disabled {
		_ = a.refresh.Revoke(ctx, rt)
		return Tokens{}, User{}, ErrInvalidToken
	}
	t, err := a.accessFor(ctx, u, rec.SignIn.AMR, rec.SignIn.AuthTime, rt, rec)
	if err != nil {
		return Tokens{}, User{}, err
	}
	a.emit(ctx, EventRefresh, OutcomeSuccess, "", c, u.ID, "")
	return t, u, nil
}

// Logout revokes refreshToken (and nothing else). An unknown or already
// revoked token is not an error: logging out twice is harmless.
func (a *Auth) Logout(ctx context.Context, refreshToken string, c Client) error {
	if refreshToken == "" {
		return nil
	}
	if err := a.refresh.Revoke(ctx, refreshToken); err != nil && !errors.Is(err, jwt.ErrInvalidToken) {
		return err
	}
	a.emit(ctx, EventLogout, OutcomeSuccess, "", c, "", "")
	return nil
}

// LogoutAll ends every refresh-token family and session of userID and
// refuses the access tokens issued before now (per-user not-before; ASVS
// 7.4.1, SECURITY.md S5, J25).
func (a *Auth) LogoutAll(ctx context.Context, userID string, c Client) error {
	if err := a.endAll(ctx, userID); err != nil {
		return err
	}
	a.emit(ctx, EventLogoutAll, OutcomeSuccess, "", c, userID, "")
	return nil
}

func (a *Auth) endAll(ctx context.Context, userID string) error {
	if err := a.refresh.RevokeUser(ctx, userID); err != nil {
		return err
	}
	if err := a.notBefore.SetNotBefore(ctx, userID, a.now()); err != nil {
		return err
	}
	a.verifier.ForgetNotBefore(userID)
	if a.sessions != nil {
		if err := a.sessions.RevokeUser(ctx, userID); err != nil {
			return err
		}
	}
	return nil
}

// ChangePassword replaces the password of userID after checking the
// current one (ASVS 6.2.3) and the policy, then ends every session,
// refresh-token family and earlier access token of the account (ASVS 7.4.3).
// The caller issues fresh tokens for the client that made the change. A
// wrong current password counts toward the lockout and gives
// [ErrInvalidCredentials]; a weak one a [*password.PolicyError].
func (a *Auth) ChangePassword(ctx context.Context, userID, current, next string, c Client) (User, error) {
	u, found, err := a.users.UserByID(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if !found || u.Disabled {
		return User{}, ErrInvalidCredentials
	}
	if err := a.lockout.Begin(ctx, u.Email, c.IP); err != nil {
		return User{}, err
	}
	ok := false
	if u.PasswordHash != "" {
		ok, _, err = a.hasher.Verify(ctx, current, u.PasswordHash)
	} else {
		err = a.hasher.VerifyDummy(ctx, current)
	}
	if err != nil && !errors.Is(err, password.ErrInvalidHash) && !errors.Is(err, password.ErrUnknownPepper) {
		return User{}, err
	}
	if !ok {
		_ = a.lockout.Fail(ctx, u.Email, c.IP)
		a.emit(ctx, EventPasswordChanged, OutcomeFailure, "bad_password", c, u.ID, u.Email)
		return User{}, ErrInvalidCredentials
	}
	if err := a.setPassword(ctx, u, next); err != nil {
		return User{}, err
	}
	if err := a.lockout.Succeed(ctx, u.Email); err != nil {
		return User{}, err
	}
	a.emit(ctx, EventPasswordChanged, OutcomeSuccess, "", c, u.ID, u.Email)
	return u, nil
}

func (a *Auth) setPassword(ctx context.Context, u User, pw string) error {
	if err := a.policy.Check(ctx, pw, password.UserInfo{Email: u.Email}); err != nil {
		return err
	}
	hash, err := a.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if err := a.users.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return err
	}
	return a.endAll(ctx, u.ID)
}

// Recent reports whether authTime, the time of the last interactive
// sign-in, is within Config.RecentAuth of now (ASVS 7.5.1).
func (a *Auth) Recent(authTime time.Time) bool {
	return !authTime.IsZero() && a.now().Sub(authTime) <= a.recentAuth
}

// EnrollMFA starts a TOTP enrollment for userID, whose last interactive
// sign-in was at authTime; it needs a recent sign-in ([ErrReauthRequired]).
// An active enrollment stays in force until the new one is confirmed.
func (a *Auth) EnrollMFA(ctx context.Context, userID string, authTime time.Time, c Client) (*mfa.Setup, error) {
	if a.mfa == nil {
		return nil, ErrMFANotConfigured
	}
	if !a.Recent(authTime) {
		return nil, ErrReauthRequired
	}
	u, found, err := a.users.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrInvalidCredentials
	}
	return a.mfa.Enroll(ctx, userID, u.Email)
}

// ConfirmMFA activates the pending enrollment with a valid code, whose time
// step is spent (it cannot be replayed at the next login), and returns the
// new backup codes, to be shown once.
func (a *Auth) ConfirmMFA(ctx context.Context, userID, code string, c Client) ([]string, error) {
	if a.mfa == nil {
		return nil, ErrMFANotConfigured
	}
	codes, err := a.mfa.Confirm(ctx, userID, code)
	if err != nil {
		a.emit(ctx, EventMFAEnrolled, OutcomeFailure, "invalid_code", c, userID, "")
		return nil, a.mfaError(err)
	}
	a.emit(ctx, EventMFAEnrolled, OutcomeSuccess, "", c, userID, "")
	return codes, nil
}

// DisableMFA removes the enrollment; it needs a recent sign-in and a
// current code.
func (a *Auth) DisableMFA(ctx context.Context, userID string, authTime time.Time, code string, c Client) error {
	if a.mfa == nil {
		return ErrMFANotConfigured
	}
	if !a.Recent(authTime) {
		return ErrReauthRequired
	}
	if err := a.mfa.Disable(ctx, userID, code); err != nil {
		a.emit(ctx, EventMFADisabled, OutcomeFailure, "invalid_code", c, userID, "")
		return a.mfaError(err)
	}
	a.emit(ctx, EventMFADisabled, OutcomeSuccess, "", c, userID, "")
	return nil
}

// RegenerateBackupCodes replaces the backup codes (the old set is void); it
// needs a recent sign-in and a current code.
func (a *Auth) RegenerateBackupCodes(ctx context.Context, userID string, authTime time.Time, code string, c Client) ([]string, error) {
	if a.mfa == nil {
		return nil, ErrMFANotConfigured
	}
	if !a.Recent(authTime) {
		return nil, ErrReauthRequired
	}
	codes, err := a.mfa.RegenerateBackupCodes(ctx, userID, code)
	if err != nil {
		a.emit(ctx, EventBackupCodesNew, OutcomeFailure, "invalid_code", c, userID, "")
		return nil, a.mfaError(err)
	}
	a.emit(ctx, EventBackupCodesNew, OutcomeSuccess, "", c, userID, "")
	return codes, nil
}

// DisableUser disables an account and ends its sessions, refresh families
// and access tokens (ASVS 7.4.2). It needs a [UserUpdater] store.
func (a *Auth) DisableUser(ctx context.Context, userID string, c Client) error {
	up, ok := a.users.(UserUpdater)
	if !ok {
		return ErrNotSupported
	}
	if err := up.UpdateUser(ctx, userID, func(u *User) { u.Disabled = true }); err != nil {
		return err
	}
	if err := a.endAll(ctx, userID); err != nil {
		return err
	}
	a.emit(ctx, EventSessionRevoked, OutcomeSuccess, "account_disabled", c, userID, "")
	return nil
}

// EndSessions is the administrator's "sign this user out everywhere"
// (ASVS 7.4.5).
func (a *Auth) EndSessions(ctx context.Context, userID string, c Client) error {
	if err := a.endAll(ctx, userID); err != nil {
		return err
	}
	a.emit(ctx, EventSessionRevoked, OutcomeSuccess, "admin", c, userID, "")
	return nil
}

// tokenHash is how one-time tokens are keyed in the store: a leaked store
// holds no usable token.
func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// Mail throttles (SECURITY.md S26: reset and verification mails are
// limited per address and per IP).
const (
	mailPerAddress = 5
	mailPerIP      = 20
	mailWindow     = time.Hour
)

func (a *Auth) mailThrottle(ctx context.Context, addr, ip string) error {
	for _, k := range []struct {
		key string
		max int
	}{{"mail:addr:" + addr, mailPerAddress}, {"mail:ip:" + ip, mailPerIP}} {
		if strings.HasSuffix(k.key, ":") {
			continue
		}
		n, end, err := a.attempts.Incr(ctx, k.key, mailWindow)
		if err != nil {
			return err
		}
		if n > k.max {
			return &ThrottledError{RetryAfter: retryAfter(end, a.now()), Scope: "mail"}
		}
	}
	return nil
}

func (a *Auth) sendToken(ctx context.Context, purpose string, u User) error {
	tok, err := a.randomHex(32)
	if err != nil {
		return err
	}
	exp := a.now().Add(a.resetLife)
	if err := a.cfg.OneTimeTokens.Save(ctx, tokenHash(tok), OneTimeToken{Purpose: purpose, UserID: u.ID, Email: u.Email, Expiry: exp}); err != nil {
		return err
	}
	return a.cfg.Mailer.Send(ctx, Mail{To: u.Email, Purpose: purpose, Token: tok, Expiry: exp})
}

func (a *Auth) takeToken(ctx context.Context, purpose, tok string) (OneTimeToken, User, error) {
	if tok == "" || len(tok) > 256 {
		return OneTimeToken{}, User{}, ErrInvalidToken
	}
	t, found, err := a.cfg.OneTimeTokens.Take(ctx, tokenHash(tok))
	if err != nil {
		return OneTimeToken{}, User{}, err
	}
	if !found || t.Purpose != purpose || !a.now().Before(t.Expiry) {
		return OneTimeToken{}, User{}, ErrInvalidToken
	}
	u, found, err := a.users.UserByID(ctx, t.UserID)
	if err != nil {
		return OneTimeToken{}, User{}, err
	}
	if !found || u.Disabled || u.Email != t.Email {
		return OneTimeToken{}, User{}, ErrInvalidToken
	}
	return t, u, nil
}

// RequestPasswordReset mails a single-use reset token to email if it
// belongs to an active account. It answers the same (nil) whether or not
// the account exists (ASVS 6.3.8); mails are throttled per address and IP.
func (a *Auth) RequestPasswordReset(ctx context.Context, email string, c Client) error {
	if a.cfg.OneTimeTokens == nil {
		return ErrNotSupported
	}
	login, ok := CanonicalLogin(email)
	if !ok {
		return nil
	}
	if err := a.mailThrottle(ctx, login, c.IP); err != nil {
		return err
	}
	u, found, err := a.users.UserByLogin(ctx, login)
	if err != nil || !found || u.Disabled {
		return err
	}
	if err := a.sendToken(ctx, PurposePasswordReset, u); err != nil {
		return err
	}
	a.emit(ctx, EventPasswordChanged, OutcomeSuccess, "reset_requested", c, u.ID, login)
	return nil
}

// ResetPassword sets a new password with a token from
// [Auth.RequestPasswordReset]. The token is single use, stored hashed and
// expires (SECURITY.md S26); every session, refresh family and access token
// of the account is ended. The reset does not sign the user in, so an
// enrolled second factor is still required at the next login (ASVS 6.4.3).
func (a *Auth) ResetPassword(ctx context.Context, token, newPassword string, c Client) error {
	if a.cfg.OneTimeTokens == nil {
		return ErrNotSupported
	}
	// Check what can be checked before the token is spent.
	if err := a.policy.Check(ctx, newPassword, password.UserInfo{}); err != nil {
		return err
	}
	_, u, err := a.takeToken(ctx, PurposePasswordReset, token)
	if err != nil {
		return err
	}
	if err := a.setPassword(ctx, u, newPassword); err != nil {
		return err
	}
	a.emit(ctx, EventPasswordChanged, OutcomeSuccess, "reset", c, u.ID, u.Email)
	return nil
}

// RequestEmailVerification mails a single-use verification token to the
// account's address, unless it is verified already.
func (a *Auth) RequestEmailVerification(ctx context.Context, userID string, c Client) error {
	if a.cfg.OneTimeTokens == nil {
		return ErrNotSupported
	}
	u, found, err := a.users.UserByID(ctx, userID)
	if err != nil || !found || u.EmailVerified {
		return err
	}
	if err := a.mailThrottle(ctx, u.Email, c.IP); err != nil {
		return err
	}
	return a.sendToken(ctx, PurposeVerifyEmail, u)
}

// VerifyEmail records that the account proved control of its address
// (required before OIDC account linking by email). It needs a
// [UserUpdater] store.
func (a *Auth) VerifyEmail(ctx context.Context, token string, c Client) error {
	up, ok := a.users.(UserUpdater)
	if a.cfg.OneTimeTokens == nil || !ok {
		return ErrNotSupported
	}
	_, u, err := a.takeToken(ctx, PurposeVerifyEmail, token)
	if err != nil {
		return err
	}
	return up.UpdateUser(ctx, u.ID, func(x *User) { x.EmailVerified = true })
}
