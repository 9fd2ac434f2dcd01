package authkit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/middleware"
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
// must finish with [Auth.VerifyMFA]. Otherwise User is the
// signed-in account.
type LoginResult struct {
	User     User
	MFAToken string
	// Device is a fresh device token for the signed-in login name (see
	// [Auth.IssueDeviceToken]); zero while a second factor is due. Store it
	// with [SetDeviceCookie].
	Device DeviceToken
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
	if key := a.lockout.ipKey(c.IP); key != "" {
		var n int
		var end time.Time
		err := a.store(ctx, func(ctx context.Context) (err error) {
			n, end, err = a.cfg.Attempts.Incr(ctx, "signup:"+key, a.cfg.SignupLimit.Window)
			return err
		})
		if err != nil {
			return User{}, err
		}
		if n > a.cfg.SignupLimit.Max {
			a.emit(ctx, EventSignup, OutcomeFailure, "rate_limited", c, "", login)
			return User{}, &ThrottledError{RetryAfter: retryAfter(end, a.cfg.Now()), Scope: "ip"}
		}
	}
	if err := a.cfg.PasswordPolicy.Check(ctx, pw, password.UserInfo{Email: login}); err != nil {
		return User{}, err
	}
	hash, err := a.hash(ctx, pw)
	if err != nil {
		return User{}, err
	}
	id, err := a.newUserID()
	if err != nil {
		return User{}, err
	}
	u := User{ID: id, Email: login, PasswordHash: hash, Roles: a.rolesFor(login), CreatedAt: a.cfg.Now()}
	if err := a.store(ctx, func(ctx context.Context) error { return a.cfg.Users.CreateUser(ctx, u) }); err != nil {
		if errors.Is(err, ErrLoginTaken) {
			a.emit(ctx, EventSignup, OutcomeFailure, "email_taken", c, a.auditUserID(ctx, login), login)
		}
		return User{}, err
	}
	a.emit(ctx, EventSignup, OutcomeSuccess, "", c, u.ID, login)
	return u, nil
}

// plausibleEmail accepts local@domain with a dot-free-or-dotted domain, no
// spaces and one '@' (quoted local parts, the only place another '@' may
// appear, are refused, and mail systems disagree on where
// "a@b.example@c.example" goes); deliverability is proven by the
// verification mail, not here.
func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.IndexByte(s, '@') != at || strings.ContainsAny(s, " \t<>()[],;\"\\") {
		return false
	}
	domain := s[at+1:]
	return !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.Contains(domain, "..")
}

// Login checks a password (the first factor). The attempt is reserved
// against the login name and the client's network before the password is
// checked (see [Lockout.Begin]); a client holding a valid device token for
// the login name (Client.DeviceToken) is exempt from both and spends the
// token's own failure budget instead. An unknown login, a wrong password, an
// account without a password and a disabled account all cost one argon2id
// verification at the current parameters and give [ErrInvalidCredentials],
// as does a correct password whose hash was replaced (a reset, a change) or
// whose account was disabled while it was checked. A stored hash with
// outdated parameters is replaced (rehash on login).
// When a second factor is due the result carries an MFA token; otherwise it
// carries the user and a fresh device token. Errors: that, a
// [*ThrottledError], [ErrBusy] when no hashing slot freed within
// Config.HashWait, [ErrMFAStateLost], or a system failure on which the
// caller must refuse the login.
func (a *Auth) Login(ctx context.Context, loginName, pw string, c Client) (LoginResult, error) {
	login, _ := CanonicalLogin(loginName)
	dev := a.deviceID(c.DeviceToken, login)
	var at *Attempt
	err := a.store(ctx, func(ctx context.Context) (err error) {
		at, err = a.lockout.Begin(ctx, login, c.IP, dev)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrThrottled) {
			a.emit(ctx, EventLoginFailure, OutcomeFailure, "throttled", c, a.auditUserID(ctx, login), login)
		}
		return LoginResult{}, err
	}
	var u User
	var found bool
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		u, found, err = a.cfg.Users.UserByLogin(ctx, login)
		return err
	}); err != nil {
		return LoginResult{}, a.refuse(ctx, at, err)
	}
	ok, rehash := false, false
	reason := "unknown_user"
	if found && !u.Disabled && u.PasswordHash != "" {
		reason = "bad_password"
		ok, rehash, err = a.verify(ctx, pw, u.PasswordHash)
	} else {
		if found {
			reason = "disabled_or_no_password"
		}
		err = a.verifyDummy(ctx, pw)
	}
	if err != nil {
		if !errors.Is(err, password.ErrInvalidHash) && !errors.Is(err, password.ErrUnknownPepper) {
			return LoginResult{}, a.refuse(ctx, at, err)
		}
		reason, ok = "unreadable_hash", false
	}
	if !ok {
		lockErr := a.store(ctx, func(ctx context.Context) error { return at.Fail(ctx) })
		a.emit(ctx, EventLoginFailure, OutcomeFailure, reason, c, u.ID, login)
		if errors.Is(lockErr, ErrThrottled) {
			a.emit(ctx, EventLockout, OutcomeFailure, "too_many_failures", c, u.ID, login)
		} else if lockErr != nil {
			return LoginResult{}, lockErr
		}
		return LoginResult{}, ErrInvalidCredentials
	}
	if err := a.release(ctx, at); err != nil {
		return LoginResult{}, err
	}
	// The hash checked must still be the account's: a reset, change or
	// disabling that landed during the check (an attacker who knows the old
	// password can keep a login in flight) ends this login too.
	var cur User
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		cur, found, err = a.cfg.Users.UserByID(ctx, u.ID)
		return err
	}); err != nil {
		return LoginResult{}, err
	}
	if !found || cur.Disabled || cur.PasswordHash != u.PasswordHash {
		a.emit(ctx, EventLoginFailure, OutcomeFailure, "changed_during_check", c, u.ID, login)
		return LoginResult{}, ErrInvalidCredentials
	}
	u = cur
	if rehash {
		// Only over the hash just verified: a reset or change that landed
		// meanwhile must not be undone by the old password's new hash.
		if h, err := a.hash(ctx, pw); err == nil {
			if done, err := a.replaceHash(ctx, u.ID, u.PasswordHash, h); err == nil && done {
				u.PasswordHash = h
				a.emit(ctx, EventPasswordRehash, OutcomeSuccess, "", c, u.ID, login)
			}
		}
	}
	if a.cfg.MFA == nil && u.MFAEnabled {
		// The account has a second factor this Auth cannot check (Config.MFA
		// unset): refuse, as for a lost enrollment.
		a.emit(ctx, EventMFAStateLost, OutcomeFailure, "mfa_not_configured", c, u.ID, login)
		return LoginResult{}, ErrMFAStateLost
	}
	if a.cfg.MFA != nil {
		due, err := a.mfaDue(ctx, u, c)
		if err != nil {
			return LoginResult{}, err
		}
		if due {
			var tok string
			if err := a.store(ctx, func(ctx context.Context) (err error) {
				tok, err = a.cfg.MFA.NewChallenge(ctx, u.ID, challengeData(login, at.Device(), resetStamp(u.PasswordHash)))
				return err
			}); err != nil {
				return LoginResult{}, err
			}
			a.emit(ctx, EventMFARequired, OutcomeSuccess, "", c, u.ID, login)
			return LoginResult{MFAToken: tok + "." + a.mfaTag(tok, u.ID)}, nil
		}
	}
	if err := a.store(ctx, func(ctx context.Context) error { return a.lockout.Succeed(ctx, login, at.Device()) }); err != nil {
		return LoginResult{}, err
	}
	d, err := a.IssueDeviceToken(u)
	if err != nil {
		return LoginResult{}, err
	}
	a.emit(ctx, EventLoginSuccess, OutcomeSuccess, "", c, u.ID, login)
	return LoginResult{User: u, Device: d}, nil
}

// release returns at's per-IP reservation under the store deadline.
func (a *Auth) release(ctx context.Context, at *Attempt) error {
	return a.store(ctx, func(ctx context.Context) error { return at.Release(ctx) })
}

// refuse returns err after giving back at's per-IP reservation (the
// password was never checked); a failed give-back is joined to err.
func (a *Auth) refuse(ctx context.Context, at *Attempt, err error) error {
	if rerr := a.release(ctx, at); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// ErrMFAStateLost means the user record says a second factor is enrolled
// (User.MFAEnabled) but the MFA store has no active enrollment for it (the
// enrollment was lost: an evicted key, a restore from an older backup) or
// could not be read (then the error also wraps the store's error, and
// [ErrStoreTimeout] when it timed out), or Config.MFA is unset. The login is refused, never let
// through on the password alone, and audited as [EventMFAStateLost]; an
// administrator restores the enrollment or clears User.MFAEnabled (after
// checking the user's identity) to let the user enroll again.
var ErrMFAStateLost = errors.New("authkit: MFA enrollment missing for an account with MFA enabled")

// mfaDue reports whether u must pass the second factor. The user record's
// MFAEnabled and the MFA store must agree: an enrollment without the flag
// requires the factor (and sets the flag, for accounts enrolled before it
// existed); the flag without an enrollment is ErrMFAStateLost.
func (a *Auth) mfaDue(ctx context.Context, u User, c Client) (bool, error) {
	var enrolled bool
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		enrolled, err = a.cfg.MFA.Enrolled(ctx, u.ID)
		return err
	}); err != nil {
		if u.MFAEnabled {
			a.emit(ctx, EventMFAStateLost, OutcomeFailure, "enrollment_unreadable", c, u.ID, u.Email)
			return false, fmt.Errorf("%w: %w", ErrMFAStateLost, err)
		}
		return false, err
	}
	switch {
	case u.MFAEnabled && !enrolled:
		a.emit(ctx, EventMFAStateLost, OutcomeFailure, "enrollment_missing", c, u.ID, u.Email)
		return false, ErrMFAStateLost
	case enrolled && !u.MFAEnabled:
		// Best effort: the enrollment decides this login either way.
		_ = a.setMFAFlag(ctx, u.ID, true)
	}
	return enrolled, nil
}

// setMFAFlag records in the user record whether a second factor is
// enrolled.
func (a *Auth) setMFAFlag(ctx context.Context, userID string, on bool) error {
	up, ok := a.cfg.Users.(UserUpdater)
	if !ok {
		return nil // only with Config.UnsafeMFAWithoutUserFlag
	}
	return a.store(ctx, func(ctx context.Context) error {
		return up.UpdateUser(ctx, userID, func(u *User) { u.MFAEnabled = on })
	})
}

// mfaTag names the user of an MFA challenge token in the token handed to
// the client, signed, so a failed second step can be audited with the user
// although the mfa package returns the challenge only on success.
func (a *Auth) mfaTag(tok, userID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(userID)) + "." +
		base64.RawURLEncoding.EncodeToString(a.mfaTagMAC(tok, userID))
}

func (a *Auth) mfaTagMAC(tok, userID string) []byte {
	m := hmac.New(sha256.New, a.cfg.DeviceKey)
	m.Write([]byte("authkit mfa user v1\x00" + tok + "\x00" + userID))
	return m.Sum(nil)[:16]
}

// mfaTagUser returns the user named by tag for the challenge token tok, or
// "" when the tag is missing or not signed by this Auth.
func (a *Auth) mfaTagUser(tok, tag string) string {
	enc, sig, ok := strings.Cut(tag, ".")
	if !ok || len(tag) > 512 {
		return ""
	}
	uid, err1 := base64.RawURLEncoding.DecodeString(enc)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, a.mfaTagMAC(tok, string(uid))) {
		return ""
	}
	return string(uid)
}

// auditUserID looks login up for an audit event of a request refused
// before the account was read; "" when unknown or on any error.
func (a *Auth) auditUserID(ctx context.Context, login string) string {
	var u User
	var found bool
	if login == "" || a.store(ctx, func(ctx context.Context) (err error) {
		u, found, err = a.cfg.Users.UserByLogin(ctx, login)
		return err
	}) != nil || !found {
		return ""
	}
	return u.ID
}

// challengeData is what an MFA challenge keeps of the password step: the
// login name, the device the attempt was trusted by, and the stamp of the
// password hash that was checked (see resetStamp), so that a challenge
// begun with a password since replaced cannot finish. Login names hold no
// control characters, so newlines separate the parts unambiguously.
func challengeData(login, device, stamp string) []byte {
	return []byte(login + "\n" + device + "\n" + stamp)
}

func parseChallengeData(b []byte) (login, device, stamp string) {
	login, rest, _ := strings.Cut(string(b), "\n")
	device, stamp, _ = strings.Cut(rest, "\n")
	return login, device, stamp
}

// VerifyMFA finishes a login begun by [Auth.Login] with a TOTP code or a
// backup code. The challenge is single use and short-lived; codes are
// replay-proof and wrong codes are throttled per account across parallel
// challenges (mfa package). Errors: [ErrInvalidCode] (also for a replayed
// code, an expired challenge, or one begun with a password that has been
// replaced since), a [*ThrottledError], or a system failure.
// On success the caller issues tokens and a device token
// ([Auth.IssueDeviceToken]).
func (a *Auth) VerifyMFA(ctx context.Context, mfaToken, code string, c Client) (User, error) {
	if a.cfg.MFA == nil {
		return User{}, ErrMFANotConfigured
	}
	inner, tag, _ := strings.Cut(mfaToken, ".")
	var ch mfa.Challenge
	var method mfa.Method
	err := a.store(ctx, func(ctx context.Context) (err error) {
		ch, method, err = a.cfg.MFA.VerifyChallenge(ctx, inner, code)
		return err
	})
	if err != nil {
		uid := a.mfaTagUser(inner, tag)
		if err := a.mfaError(err); err != ErrInvalidCode {
			if errors.Is(err, ErrThrottled) {
				a.emit(ctx, EventMFAFailure, OutcomeFailure, "throttled", c, uid, "")
			}
			return User{}, err
		}
		a.emit(ctx, EventMFAFailure, OutcomeFailure, "invalid_code", c, uid, "")
		return User{}, ErrInvalidCode
	}
	login, device, stamp := parseChallengeData(ch.Data)
	var u User
	var found bool
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		u, found, err = a.cfg.Users.UserByID(ctx, ch.UserID)
		return err
	}); err != nil {
		return User{}, err
	}
	if !found || u.Disabled {
		a.emit(ctx, EventMFAFailure, OutcomeFailure, "disabled", c, ch.UserID, login)
		return User{}, ErrInvalidCode
	}
	if subtle.ConstantTimeCompare([]byte(stamp), []byte(resetStamp(u.PasswordHash))) != 1 {
		a.emit(ctx, EventMFAFailure, OutcomeFailure, "password_changed", c, u.ID, login)
		return User{}, ErrInvalidCode
	}
	if err := a.store(ctx, func(ctx context.Context) error { return a.lockout.Succeed(ctx, login, device) }); err != nil {
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
		return &ThrottledError{RetryAfter: retryAfter(a.cfg.Now().Add(te.RetryAfter), a.cfg.Now()), Scope: "mfa"}
	case errors.Is(err, mfa.ErrInvalidCode), errors.Is(err, mfa.ErrInvalidChallenge),
		errors.Is(err, mfa.ErrNotEnrolled), errors.Is(err, mfa.ErrNoPendingEnrollment),
		errors.Is(err, mfa.ErrFactorRequired):
		return ErrInvalidCode
	}
	return err
}

// IssueTokens signs an access token for u and starts a new refresh-token
// family: the end of an interactive sign-in (password, MFA, or an external
// provider). amr lists how the user authenticated (RFC 8176); the access
// token's acr (RFC 9068 §2.2.1) is middleware.DefaultACRFromAMR(amr): "pwd"
// for a password (or a passkey counted as one factor), "mfa" with a second
// factor, "passkey" for a passkey or security key that counted as
// multi-factor. auth_time, amr and acr are stored with the family, and
// every access token minted from it by [Auth.Refresh] carries them
// unchanged; only a re-authentication ([Auth.Reauthenticate]) replaces
// them.
func (a *Auth) IssueTokens(ctx context.Context, u User, amr []string) (Tokens, error) {
	in := a.signIn(a.cfg.Now(), amr)
	var rt string
	var rec jwt.RefreshToken
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		rt, rec, err = a.refresh.Issue(ctx, u.ID, in)
		return err
	}); err != nil {
		return Tokens{}, err
	}
	return a.accessFor(ctx, u, in, rt, rec)
}

// signIn returns the facts of an interactive sign-in at t with the methods
// amr: its acr is the level amr reaches (middleware.DefaultACRFromAMR).
func (a *Auth) signIn(t time.Time, amr []string) jwt.SignIn {
	amr = slices.Clone(amr)
	return jwt.SignIn{AuthTime: t, AMR: amr, ACR: middleware.DefaultACRFromAMR(amr),
		MFA: slices.Contains(amr, AMROTP) || slices.Contains(amr, "mfa")}
}

// accessFor signs an access token for u with the sign-in facts in (as
// stored with the refresh family rt) and pairs it with rt.
func (a *Auth) accessFor(ctx context.Context, u User, in jwt.SignIn, rt string, rec jwt.RefreshToken) (Tokens, error) {
	at, cl, err := a.issuer.Issue(ctx, jwt.AccessTokenRequest{Subject: u.ID, Roles: u.Roles, AMR: in.AMR, ACR: in.ACR,
		AuthTime: in.AuthTime})
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{Access: at, AccessExpiry: cl.ExpiresAt, Refresh: rt, RefreshExpiry: rec.Expiry}, nil
}

// Refresh rotates a refresh token and issues a new access token with the
// account's current roles (a role change or a disabled account applies at
// the next refresh). The new access token carries the auth_time, amr and
// acr of the family's latest interactive sign-in (the one that started it,
// or a later [Auth.Reauthenticate]), as stored with the family, so "recent
// sign-in" and step-up checks are not renewed by refreshing, the MFA fact
// survives it, and no configuration change can move them.
// A second use of any token of a family revokes the family and gives
// [ErrTokenReused] (RFC 9700 §4.14.2); an unknown, expired or revoked token
// gives [ErrInvalidToken].
func (a *Auth) Refresh(ctx context.Context, refreshToken string, c Client) (Tokens, User, error) {
	var rt string
	var rec jwt.RefreshToken
	ctx, seen := withSeenRefresh(ctx)
	err := a.store(ctx, func(ctx context.Context) (err error) {
		rt, rec, err = a.refresh.Refresh(ctx, refreshToken)
		return err
	})
	switch {
	case errors.Is(err, jwt.ErrTokenReused):
		a.emit(ctx, EventRefreshReuse, OutcomeFailure, "token_reused", c, seen.userID(rec.UserID), "")
		return Tokens{}, User{}, ErrTokenReused
	case errors.Is(err, jwt.ErrInvalidToken):
		return Tokens{}, User{}, ErrInvalidToken
	case err != nil:
		return Tokens{}, User{}, err
	}
	var u User
	var found bool
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		u, found, err = a.cfg.Users.UserByID(ctx, rec.UserID)
		return err
	}); err != nil {
		return Tokens{}, User{}, err
	}
	if !found || u.Disabled {
		_ = a.store(ctx, func(ctx context.Context) error { return a.refresh.Revoke(ctx, rt) })
		return Tokens{}, User{}, ErrInvalidToken
	}
	t, err := a.accessFor(ctx, u, rec.SignIn, rt, rec)
	if err != nil {
		return Tokens{}, User{}, err
	}
	a.emit(ctx, EventRefresh, OutcomeSuccess, "", c, u.ID, "")
	return t, u, nil
}

// Logout revokes refreshToken (and nothing else). An unknown or already
// revoked token is not an error: logging out twice is harmless. The audit
// event names the token's user when the store knew the token.
func (a *Auth) Logout(ctx context.Context, refreshToken string, c Client) error {
	if refreshToken == "" {
		return nil
	}
	ctx, seen := withSeenRefresh(ctx)
	if err := a.store(ctx, func(ctx context.Context) error { return a.refresh.Revoke(ctx, refreshToken) }); err != nil &&
		!errors.Is(err, jwt.ErrInvalidToken) {
		return err
	}
	a.emit(ctx, EventLogout, OutcomeSuccess, "", c, seen.userID(""), "")
	return nil
}

// LogoutAll ends every refresh-token family and session of userID and
// refuses the access tokens issued before now (per-user not-before; ASVS
// 7.4.1).
func (a *Auth) LogoutAll(ctx context.Context, userID string, c Client) error {
	if err := a.endAll(ctx, userID); err != nil {
		return err
	}
	a.emit(ctx, EventLogoutAll, OutcomeSuccess, "", c, userID, "")
	return nil
}

func (a *Auth) endAll(ctx context.Context, userID string) error {
	if err := a.store(ctx, func(ctx context.Context) error { return a.refresh.RevokeUser(ctx, userID) }); err != nil {
		return err
	}
	if err := a.store(ctx, func(ctx context.Context) error { return a.cfg.NotBefore.SetNotBefore(ctx, userID, a.cfg.Now()) }); err != nil {
		return err
	}
	a.verifier.ForgetNotBefore(userID)
	if a.cfg.Sessions != nil {
		if err := a.store(ctx, func(ctx context.Context) error { return a.cfg.Sessions.RevokeUser(ctx, userID) }); err != nil {
			return err
		}
	}
	return nil
}

// ChangePassword replaces the password of userID after checking the
// current one (ASVS 6.2.3) and the policy, then ends every session,
// refresh-token family, earlier access token and outstanding reset link of
// the account (ASVS 7.4.3). The caller issues fresh tokens for the client
// that made the change. A wrong current password counts like a failed
// login (see [Auth.Login]; Client.DeviceToken applies the same way) and
// gives [ErrInvalidCredentials], as does a password changed by another
// request while this one checked it; a weak one a [*password.PolicyError].
func (a *Auth) ChangePassword(ctx context.Context, userID, current, next string, c Client) (User, error) {
	var u User
	var found bool
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		u, found, err = a.cfg.Users.UserByID(ctx, userID)
		return err
	}); err != nil {
		return User{}, err
	}
	if !found || u.Disabled {
		return User{}, ErrInvalidCredentials
	}
	at, err := a.lockedPasswordCheck(ctx, u, current, c, EventPasswordChanged, "bad_password")
	if err != nil {
		return User{}, err
	}
	if err := a.setPassword(ctx, u, next); err != nil {
		if errors.Is(err, errHashChanged) {
			return User{}, ErrInvalidCredentials
		}
		return User{}, err
	}
	if err := a.store(ctx, func(ctx context.Context) error { return a.lockout.Succeed(ctx, u.Email, at.Device()) }); err != nil {
		return User{}, err
	}
	a.emit(ctx, EventPasswordChanged, OutcomeSuccess, "", c, u.ID, u.Email)
	return u, nil
}

// setPassword stores a new password hash for u and ends everything issued
// before: sessions, refresh families, access tokens, and (because reset
// links are bound to the hash they were issued under, see resetStamp) every
// outstanding reset link. It replaces only the hash u was read with (the
// one the caller checked the current password or the reset link against)
// and gives errHashChanged when another change landed in between.
func (a *Auth) setPassword(ctx context.Context, u User, pw string) error {
	if err := a.cfg.PasswordPolicy.Check(ctx, pw, password.UserInfo{Email: u.Email}); err != nil {
		return err
	}
	hash, err := a.hash(ctx, pw)
	if err != nil {
		return err
	}
	done, err := a.replaceHash(ctx, u.ID, u.PasswordHash, hash)
	if err != nil {
		return err
	}
	if !done {
		return errHashChanged
	}
	return a.endAll(ctx, u.ID)
}

// errHashChanged: the password hash changed after the caller read it.
var errHashChanged = errors.New("authkit: password changed concurrently")

// replaceHash sets the password hash of userID to next if it is still prev
// and reports whether it did. With a [UserUpdater] the comparison and the
// write are one atomic update; with a plain UserStore the record is read
// again just before the write, which narrows the race but cannot close it.
func (a *Auth) replaceHash(ctx context.Context, userID, prev, next string) (bool, error) {
	if up, ok := a.cfg.Users.(UserUpdater); ok {
		var done bool
		err := a.store(ctx, func(ctx context.Context) error {
			return up.UpdateUser(ctx, userID, func(u *User) {
				done = u.PasswordHash == prev
				if done {
					u.PasswordHash = next
				}
			})
		})
		return done && err == nil, err
	}
	var u User
	var found bool
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		u, found, err = a.cfg.Users.UserByID(ctx, userID)
		return err
	}); err != nil || !found || u.PasswordHash != prev {
		return false, err
	}
	return true, a.store(ctx, func(ctx context.Context) error { return a.cfg.Users.SetPasswordHash(ctx, userID, next) })
}

// Recent reports whether authTime, the time of the last interactive
// sign-in, is within Config.RecentAuth of now (ASVS 7.5.1). It is the rule
// of a [middleware.StepUp] route with Requirement{MaxAge: RecentAuth}, and
// is decided by that same code, so the MFA management checks
// ([ErrReauthRequired]) and step-up routes agree: a zero authTime is never
// recent, and clock skew between servers is absorbed by
// [middleware.DefaultStepUpLeeway] in both directions (an authTime up to
// that far in the future counts as now; one up to RecentAuth plus that
// leeway old is recent). [Auth.Reauthenticate] renews it.
func (a *Auth) Recent(authTime time.Time) bool {
	return a.checkStepUp(middleware.Principal{AuthTime: authTime}, middleware.Requirement{MaxAge: a.cfg.RecentAuth}) == nil
}

// EnrollMFA starts a TOTP enrollment for userID, whose last interactive
// sign-in was at authTime with the methods amr (the access token's claims);
// it needs a recent sign-in ([ErrReauthRequired]). When a factor is already
// active, replacing it needs the current factor: code (a current TOTP code
// or an unused backup code, spent here), or a recent sign-in that itself
// used the second factor; otherwise the error matches both
// [ErrInvalidCode] and [mfa.ErrFactorRequired] and nothing changes. An
// active enrollment stays in force until the new one is confirmed, which
// must happen within the mfa Config.PendingTTL.
func (a *Auth) EnrollMFA(ctx context.Context, userID string, authTime time.Time, amr []string, code string, c Client) (*mfa.Setup, error) {
	if a.cfg.MFA == nil {
		return nil, ErrMFANotConfigured
	}
	if !a.Recent(authTime) {
		return nil, ErrReauthRequired
	}
	proof := mfa.Proof{Code: code, RecentSecondFactor: usedSecondFactor(amr)}
	var u User
	var found bool
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		u, found, err = a.cfg.Users.UserByID(ctx, userID)
		return err
	}); err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrInvalidCredentials
	}
	var setup *mfa.Setup
	err := a.store(ctx, func(ctx context.Context) (err error) {
		setup, err = a.cfg.MFA.Enroll(ctx, userID, u.Email, proof)
		return err
	})
	if err != nil {
		// A missing, wrong or replayed proof is ErrInvalidCode (a client
		// error, not a failed dependency) and still matches the mfa error.
		if mapped := a.mfaError(err); mapped != err {
			if mapped == ErrInvalidCode {
				return nil, fmt.Errorf("%w: %w", ErrInvalidCode, err)
			}
			return nil, mapped
		}
		return nil, err
	}
	return setup, nil
}

// usedSecondFactor reports whether amr (RFC 8176 values) records a second
// factor: a one-time code or a multi-factor method.
func usedSecondFactor(amr []string) bool {
	for _, m := range amr {
		switch m {
		case "otp", "mfa", "hwk", "swk":
			return true
		}
	}
	return false
}

// ConfirmMFA activates the pending enrollment with a valid code, whose time
// step is spent (it cannot be replayed at the next login), records in the
// user record that MFA is on (User.MFAEnabled), and returns the new backup
// codes, to be shown once.
func (a *Auth) ConfirmMFA(ctx context.Context, userID, code string, c Client) ([]string, error) {
	if a.cfg.MFA == nil {
		return nil, ErrMFANotConfigured
	}
	var codes []string
	err := a.store(ctx, func(ctx context.Context) (err error) {
		codes, err = a.cfg.MFA.Confirm(ctx, userID, code)
		return err
	})
	if err != nil {
		a.emit(ctx, EventMFAEnrolled, OutcomeFailure, "invalid_code", c, userID, "")
		return nil, a.mfaError(err)
	}
	// The enrollment is active now; until the flag is set the enrollment
	// alone requires the factor (see mfaDue), so a failure here downgrades
	// nothing.
	if err := a.setMFAFlag(ctx, userID, true); err != nil {
		return nil, err
	}
	a.emit(ctx, EventMFAEnrolled, OutcomeSuccess, "", c, userID, "")
	return codes, nil
}

// DisableMFA removes the enrollment and clears User.MFAEnabled; it needs a
// recent sign-in and a current code.
func (a *Auth) DisableMFA(ctx context.Context, userID string, authTime time.Time, code string, c Client) error {
	if a.cfg.MFA == nil {
		return ErrMFANotConfigured
	}
	if !a.Recent(authTime) {
		return ErrReauthRequired
	}
	if err := a.store(ctx, func(ctx context.Context) error { return a.cfg.MFA.Disable(ctx, userID, code) }); err != nil {
		a.emit(ctx, EventMFADisabled, OutcomeFailure, "invalid_code", c, userID, "")
		return a.mfaError(err)
	}
	// If this fails the account is refused at login (ErrMFAStateLost)
	// rather than let through: fail closed.
	if err := a.setMFAFlag(ctx, userID, false); err != nil {
		return err
	}
	a.emit(ctx, EventMFADisabled, OutcomeSuccess, "", c, userID, "")
	return nil
}

// RegenerateBackupCodes replaces the backup codes (the old set is void); it
// needs a recent sign-in and a current code.
func (a *Auth) RegenerateBackupCodes(ctx context.Context, userID string, authTime time.Time, code string, c Client) ([]string, error) {
	if a.cfg.MFA == nil {
		return nil, ErrMFANotConfigured
	}
	if !a.Recent(authTime) {
		return nil, ErrReauthRequired
	}
	var codes []string
	err := a.store(ctx, func(ctx context.Context) (err error) {
		codes, err = a.cfg.MFA.RegenerateBackupCodes(ctx, userID, code)
		return err
	})
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
	up, ok := a.cfg.Users.(UserUpdater)
	if !ok {
		return ErrNotSupported
	}
	if err := a.store(ctx, func(ctx context.Context) error {
		return up.UpdateUser(ctx, userID, func(u *User) { u.Disabled = true })
	}); err != nil {
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

// ErrStoreTimeout wraps a store call that did not answer within
// Config.StoreTimeout (or the request's own deadline, if sooner). The
// error also matches context.DeadlineExceeded.
var ErrStoreTimeout = errors.New("authkit: store did not answer in time")

// ErrBusy means the server is saturated: no password-hashing slot freed
// within Config.HashWait (the error then also matches password.ErrBusy), or
// the mail queue is full. Answer 503 with Retry-After.
var ErrBusy = errors.New("authkit: busy, retry later")

// flowState is what the login flow keeps beyond its Config: settings with
// their defaults applied, and the mail queue.
// Defaults of the login-flow settings of [Config].
const (
	defaultHashWait     = time.Second
	defaultStoreTimeout = 2 * time.Second
)

// initFlow validates the login-flow settings of a.cfg and applies their
// defaults; New calls it last.
func (a *Auth) initFlow() error {
	cfg := &a.cfg
	switch {
	case cfg.DeviceKey == nil && cfg.Secrets != nil:
		cfg.DeviceKey = cfg.Secrets.Key(LabelDeviceCookie)
	case cfg.DeviceKey == nil:
		cfg.DeviceKey = make([]byte, 32)
		if _, err := io.ReadFull(cfg.Rand, cfg.DeviceKey); err != nil {
			return fmt.Errorf("authkit: device key: %w", err)
		}
	case len(cfg.DeviceKey) < 32:
		return errors.New("authkit: Config.DeviceKey must be at least 32 bytes")
	}
	if cfg.HashWait < 0 || cfg.StoreTimeout < 0 {
		return errors.New("authkit: Config.HashWait and StoreTimeout must be positive")
	}
	if cfg.HashWait == 0 {
		cfg.HashWait = defaultHashWait
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = defaultStoreTimeout
	}
	if cfg.MFA != nil && !cfg.UnsafeMFAWithoutUserFlag {
		if _, ok := cfg.Users.(UserUpdater); !ok {
			return errors.New("authkit: Config.MFA needs a Users store that implements UserUpdater, to keep User.MFAEnabled " +
				"(without it a lost MFA enrollment turns MFA off; Config.UnsafeMFAWithoutUserFlag accepts that)")
		}
	}
	var err error
	a.mail, err = newMailQueue(*cfg)
	return err
}

// store runs one step of store calls for a request under the store
// deadline (Config.StoreTimeout, never beyond ctx's own deadline). A step
// that ran out of time gives an error matching [ErrStoreTimeout] and
// context.DeadlineExceeded.
func (a *Auth) store(ctx context.Context, step func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.StoreTimeout)
	defer cancel()
	err := step(ctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrStoreTimeout) {
		return fmt.Errorf("%w: %w", ErrStoreTimeout, err)
	}
	return err
}

// hashing bounds the wait for a hashing slot by Config.HashWait and maps
// the hasher's ErrBusy to ErrBusy.
func (a *Auth) hashing(ctx context.Context, fn func(context.Context) error) error {
	wait, cancel := context.WithTimeout(ctx, a.cfg.HashWait)
	defer cancel()
	err := fn(wait)
	if err == nil {
		return nil
	}
	// The hasher checks the context before it queues, too: a wait that
	// ran out there is the same saturation.
	if errors.Is(err, password.ErrBusy) ||
		(errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && !errors.Is(err, ErrBusy)) {
		if !errors.Is(err, password.ErrBusy) {
			err = fmt.Errorf("%w: %w", password.ErrBusy, err)
		}
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}

func (a *Auth) hash(ctx context.Context, pw string) (h string, err error) {
	err = a.hashing(ctx, func(ctx context.Context) (err error) { h, err = a.cfg.Hasher.Hash(ctx, pw); return err })
	return h, err
}

func (a *Auth) verify(ctx context.Context, pw, encoded string) (ok, rehash bool, err error) {
	err = a.hashing(ctx, func(ctx context.Context) (err error) {
		ok, rehash, err = a.cfg.Hasher.Verify(ctx, pw, encoded)
		return err
	})
	return ok, rehash, err
}

func (a *Auth) verifyDummy(ctx context.Context, pw string) error {
	return a.hashing(ctx, func(ctx context.Context) error { return a.cfg.Hasher.VerifyDummy(ctx, pw) })
}

// seenRefreshStore passes every call to the host's refresh store and notes
// the user of a token that RevokeToken found, for the audit event of
// logout, whose jwt.RefreshManager result carries no record.
type seenRefreshStore struct{ jwt.RefreshStore }

type seenRefreshKey struct{}

// seenRefresh is where seenRefreshStore notes the user of one call.
type seenRefresh struct {
	mu  sync.Mutex
	uid string
}

func withSeenRefresh(ctx context.Context) (context.Context, *seenRefresh) {
	s := &seenRefresh{}
	return context.WithValue(ctx, seenRefreshKey{}, s), s
}

// userID returns the noted user, or fallback when none was noted.
func (s *seenRefresh) userID(fallback string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fallback != "" || s.uid == "" {
		return fallback
	}
	return s.uid
}

// RevokeToken implements jwt.RefreshStore.
func (s seenRefreshStore) RevokeToken(ctx context.Context, id string) (string, bool, error) {
	user, found, err := s.RefreshStore.RevokeToken(ctx, id)
	if seen, ok := ctx.Value(seenRefreshKey{}).(*seenRefresh); ok && found && err == nil {
		seen.mu.Lock()
		seen.uid = user
		seen.mu.Unlock()
	}
	return user, found, err
}

// tokenHash is how one-time tokens are keyed in the store: a leaked store
// holds no usable token.
func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// resetStamp binds a reset token to the password hash it was issued under:
// once the password changes (a completed reset, a password change, a
// rehash at login), every reset link issued before is void. It is a
// truncated SHA-256 of the stored hash, which tells nothing about the
// password.
func resetStamp(passwordHash string) string {
	sum := sha256.Sum256([]byte("authkit reset stamp\x00" + passwordHash))
	return hex.EncodeToString(sum[:8])
}

// Mail throttles: reset and verification mails are limited per address and
// per client network.
const (
	mailPerAddress = 5
	mailPerIP      = 20
	mailWindow     = time.Hour
)

func (a *Auth) mailThrottle(ctx context.Context, addr, ip string) error {
	keys := []struct {
		key string
		max int
	}{{"mail:addr:" + addr, mailPerAddress}}
	if k := a.lockout.ipKey(ip); k != "" {
		keys = append(keys, struct {
			key string
			max int
		}{"mail:ip:" + k, mailPerIP})
	}
	for _, k := range keys {
		var n int
		var end time.Time
		if err := a.store(ctx, func(ctx context.Context) (err error) {
			n, end, err = a.cfg.Attempts.Incr(ctx, k.key, mailWindow)
			return err
		}); err != nil {
			return err
		}
		if n > k.max {
			return &ThrottledError{RetryAfter: retryAfter(end, a.cfg.Now()), Scope: "mail"}
		}
	}
	return nil
}

func (a *Auth) takeToken(ctx context.Context, purpose, tok string) (oneTimeToken, User, error) {
	if tok == "" || len(tok) > 256 {
		return oneTimeToken{}, User{}, ErrInvalidToken
	}
	var data []byte
	var found bool
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		data, found, err = a.cfg.Tickets.Take(ctx, purpose, tokenHash(tok))
		return err
	}); err != nil {
		return oneTimeToken{}, User{}, err
	}
	if !found {
		return oneTimeToken{}, User{}, ErrInvalidToken
	}
	t, err := decodeOneTimeToken(data)
	if err != nil {
		return oneTimeToken{}, User{}, err
	}
	if !a.cfg.Now().Before(t.Expiry) {
		return oneTimeToken{}, User{}, ErrInvalidToken
	}
	var u User
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		u, found, err = a.cfg.Users.UserByID(ctx, t.UserID)
		return err
	}); err != nil {
		return oneTimeToken{}, User{}, err
	}
	if !found || u.Disabled || u.Email != t.Email {
		return oneTimeToken{}, User{}, ErrInvalidToken
	}
	if purpose == PurposePasswordReset {
		_, stamp, _ := strings.Cut(tok, ".")
		if subtle.ConstantTimeCompare([]byte(stamp), []byte(resetStamp(u.PasswordHash))) != 1 {
			return oneTimeToken{}, User{}, ErrInvalidToken
		}
	}
	return t, u, nil
}

// RequestPasswordReset queues a single-use reset mail to email, which
// [Auth.RunMailer] sends if the address belongs to an active account. The
// request does the same work and gives the same answer (nil) whether or not
// the account exists and whether or not the mail can be delivered: it counts
// the mail throttles (per address and per client network) and queues; the
// account lookup, the token and the Mailer run off the request path (ASVS
// 6.3.8). Errors: a [*ThrottledError], [ErrBusy] when the queue is full, or
// a store failure.
func (a *Auth) RequestPasswordReset(ctx context.Context, email string, c Client) error {
	if a.cfg.Tickets == nil {
		return ErrNotSupported
	}
	login, ok := CanonicalLogin(email)
	if !ok {
		return nil
	}
	if err := a.mailThrottle(ctx, login, c.IP); err != nil {
		return err
	}
	return a.mail.push(mailJob{purpose: PurposePasswordReset, login: login, client: c})
}

// ResetPassword sets a new password with a token from
// [Auth.RequestPasswordReset]. The token is single use, stored hashed,
// expires, and is void once the password changed after it was issued (so
// completing one reset spends every other outstanding link). Every session,
// refresh family and access token of the account is ended. The reset does
// not sign the user in, so an enrolled second factor is still required at
// the next login (ASVS 6.4.3).
func (a *Auth) ResetPassword(ctx context.Context, token, newPassword string, c Client) error {
	if a.cfg.Tickets == nil {
		return ErrNotSupported
	}
	// Check what can be checked before the token is spent.
	if err := a.cfg.PasswordPolicy.Check(ctx, newPassword, password.UserInfo{}); err != nil {
		return err
	}
	_, u, err := a.takeToken(ctx, PurposePasswordReset, token)
	if err != nil {
		return err
	}
	if err := a.setPassword(ctx, u, newPassword); err != nil {
		if errors.Is(err, errHashChanged) {
			return ErrInvalidToken
		}
		return err
	}
	a.emit(ctx, EventPasswordChanged, OutcomeSuccess, "reset", c, u.ID, u.Email)
	return nil
}

// RequestEmailVerification queues a single-use verification mail to the
// account's address, which [Auth.RunMailer] sends unless the address is
// verified by then. Like [Auth.RequestPasswordReset] it answers the same
// whether or not a mail will go out.
func (a *Auth) RequestEmailVerification(ctx context.Context, userID string, c Client) error {
	if a.cfg.Tickets == nil {
		return ErrNotSupported
	}
	var u User
	var found bool
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		u, found, err = a.cfg.Users.UserByID(ctx, userID)
		return err
	}); err != nil || !found {
		return err
	}
	if err := a.mailThrottle(ctx, u.Email, c.IP); err != nil {
		return err
	}
	return a.mail.push(mailJob{purpose: PurposeVerifyEmail, userID: u.ID, client: c})
}

// VerifyEmail records that the account proved control of its address
// (required before OIDC account linking by email). It needs a
// [UserUpdater] store.
func (a *Auth) VerifyEmail(ctx context.Context, token string, c Client) error {
	up, ok := a.cfg.Users.(UserUpdater)
	if a.cfg.Tickets == nil || !ok {
		return ErrNotSupported
	}
	_, u, err := a.takeToken(ctx, PurposeVerifyEmail, token)
	if err != nil {
		return err
	}
	return a.store(ctx, func(ctx context.Context) error {
		return up.UpdateUser(ctx, u.ID, func(x *User) { x.EmailVerified = true })
	})
}
