package authkit

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
)

// Passkeys (WebAuthn) in the login flow, on Config.Passkeys.
//
// Policy:
//
//   - A passkey sign-in ([Auth.FinishPasskeySignIn]) needs no password and
//     is never blocked by the password lockout of the login name (an
//     attacker who locks the password out cannot lock the owner out of a
//     passkey). With user verification it is multi-factor (amr "hwk" or
//     "swk", "user", "mfa") and skips TOTP. When the passkey package is
//     configured to count user-verified passkeys as a single factor
//     (passkey.Config.UserVerifiedSingleFactor) and the account has a second
//     factor enrolled (TOTP), the passkey sign-in is refused with
//     [ErrMFARequired]: such an account signs in with its password and then
//     a second factor, which may be the passkey ([Auth.BeginPasskeyMFA]).
//   - The second-factor step of a password login is due exactly when the
//     account has MFA enabled (TOTP enrolled; see [Auth.Login]); a passkey of
//     the account answers it instead of a code ([Auth.VerifyPasskeyMFA]).
//     Having a passkey alone adds no step to a password login.
//   - Adding a passkey needs a recent sign-in; removing one needs a recent
//     sign-in and, when the account has TOTP enrolled or the passkey is its
//     last one, the current factor: a sign-in of this request that used a
//     second factor (amr "otp", "mfa", "hwk" or "swk") or a TOTP or backup
//     code. An account without a password cannot remove its last passkey
//     ([ErrLastSignInMethod]; the check and the removal are one atomic store
//     step).
//   - A passkey whose signature counter went backwards (a cloned
//     authenticator) is refused and audited as [EventPasskeyCloned].

// passkeySignInMax refused username-less passkey sign-ins per client
// network (the lockout's per-IP key) within passkeySignInWindow throttle
// that network's passkey sign-ins. A passkey cannot be guessed, so this
// only caps the verification work and audit noise one network can cause;
// it is a budget of its own, never the password lockout's.
const (
	passkeySignInMax    = 100
	passkeySignInWindow = 10 * time.Minute
)

// passkeys returns Config.Passkeys or ErrPasskeysNotConfigured.
func (a *Auth) passkeys() (*passkey.Passkeys, error) {
	if a.cfg.Passkeys == nil {
		return nil, ErrPasskeysNotConfigured
	}
	return a.cfg.Passkeys, nil
}

// passkeyRefusals are the passkey package's errors for a response that is
// refused (as opposed to a store failure).
var passkeyRefusals = []error{
	passkey.ErrMalformed, passkey.ErrChallenge, passkey.ErrBindingMismatch, passkey.ErrWrongOrigin,
	passkey.ErrWrongRPID, passkey.ErrWrongType, passkey.ErrUserVerification, passkey.ErrSignature,
	passkey.ErrUnknownCredential, passkey.ErrWrongUser, passkey.ErrClonedAuthenticator, passkey.ErrNoBinding,
	passkey.ErrNotFound,
}

// passkeyRefusal reports whether err is a refused passkey response, and a
// short audit reason for it.
func passkeyRefusal(err error) (reason string, ok bool) {
	for _, target := range passkeyRefusals {
		if errors.Is(err, target) {
			switch target {
			case passkey.ErrChallenge:
				switch {
				case errors.Is(err, passkey.ErrChallengeExpired):
					return "challenge_expired", true
				case errors.Is(err, passkey.ErrReplay):
					return "replay", true
				}
				return "challenge", true
			case passkey.ErrMalformed:
				return "malformed", true
			case passkey.ErrBindingMismatch:
				return "binding_mismatch", true
			case passkey.ErrWrongOrigin:
				return "wrong_origin", true
			case passkey.ErrWrongRPID:
				return "wrong_rp_id", true
			case passkey.ErrWrongType:
				return "wrong_type", true
			case passkey.ErrUserVerification:
				return "user_verification", true
			case passkey.ErrUnknownCredential:
				return "unknown_credential", true
			case passkey.ErrWrongUser:
				return "wrong_user", true
			case passkey.ErrClonedAuthenticator:
				return "cloned", true
			case passkey.ErrNoBinding:
				return "no_binding", true
			case passkey.ErrNotFound:
				return "no_passkey", true
			}
			return "signature", true
		}
	}
	return "", false
}

// finishAssertion runs the passkey package's FinishLogin and turns its
// refusals into ErrInvalidCredentials (still matching the passkey error, so
// errors.As finds a *passkey.ChallengeExpiredError or
// *passkey.UnknownCredentialError), with an audit event; a cloned
// authenticator is audited as EventPasskeyCloned. ceremony names the flow in
// the audit reason; userID is the account the ceremony is for, if known.
func (a *Auth) finishAssertion(ctx context.Context, p *passkey.Passkeys, binding string, response []byte, c Client, ceremony, userID string) (*passkey.Result, error) {
	var res *passkey.Result
	err := a.store(ctx, func(ctx context.Context) (err error) {
		res, err = p.FinishLogin(ctx, binding, response)
		return err
	})
	if err == nil {
		return res, nil
	}
	reason, refused := passkeyRefusal(err)
	if !refused {
		return nil, err
	}
	if ce, ok := errors.AsType[*passkey.ClonedError](err); ok {
		a.emit(ctx, EventPasskeyCloned, OutcomeFailure, ceremony, c, ce.UserID, "")
		userID = ce.UserID
	}
	a.emit(ctx, EventPasskeySignIn, OutcomeFailure, ceremony+":"+reason, c, userID, "")
	return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
}

// userByID reads a user under the store deadline.
func (a *Auth) userByID(ctx context.Context, id string) (u User, found bool, err error) {
	err = a.store(ctx, func(ctx context.Context) (err error) {
		u, found, err = a.cfg.Users.UserByID(ctx, id)
		return err
	})
	return u, found, err
}

// passkeyAMR is the amr of a passkey assertion used after a password as
// the second factor: "pwd", the passkey's methods and "mfa".
func passkeyAMR(first string, r *passkey.Result) []string {
	amr := []string{first}
	for _, m := range r.AMR {
		if m != "mfa" {
			amr = append(amr, m)
		}
	}
	return append(amr, "mfa")
}

// BeginPasskeySignIn starts a username-less passkey sign-in (discoverable
// credentials): conditional is true for the autofill offer on the sign-in
// form (mediation "conditional"), false for a "Sign in with a passkey"
// button. binding is a secret only the browser that begins the ceremony
// holds (the handler sets a random HttpOnly cookie for it); the challenge
// can only be finished with it, once, before Options.Expires.
func (a *Auth) BeginPasskeySignIn(ctx context.Context, binding string, conditional bool) (passkey.Options, error) {
	p, err := a.passkeys()
	if err != nil {
		return passkey.Options{}, err
	}
	var o passkey.Options
	err = a.store(ctx, func(ctx context.Context) (err error) {
		o, err = p.BeginLogin(ctx, binding, conditional)
		return err
	})
	return o, err
}

// FinishPasskeySignIn verifies the assertion response (the JSON of
// PublicKeyCredential.toJSON()) of a sign-in begun with
// [Auth.BeginPasskeySignIn] and the same binding, and returns the signed-in
// user and the amr of the sign-in (passkey.Result.AMR: "hwk" or "swk",
// "user" for user verification, "mfa" when it counts as multi-factor). The
// caller then issues tokens ([Auth.IssueTokens]) or starts a session. The
// password lockout of the account's login name does not apply.
//
// Errors: [ErrInvalidCredentials] for a refused response (it also matches
// the passkey error: a replayed or foreign challenge, wrong origin or RP id,
// bad signature, unknown credential — a *passkey.UnknownCredentialError
// carries the signalUnknownCredential payload —, a cloned authenticator)
// and for a disabled account; a *passkey.ChallengeExpiredError (also
// ErrInvalidCredentials) when the challenge expired while the page sat
// open, carrying a fresh challenge for the same binding; [ErrMFARequired]
// when passkeys count as a single factor and the account has TOTP enrolled
// (see the policy above); a [*ThrottledError] once the client's network
// had 100 refused passkey sign-ins within 10 minutes (nothing is verified
// then; a challenge that merely expired does not count); [ErrMFAStateLost];
// or a system failure.
func (a *Auth) FinishPasskeySignIn(ctx context.Context, binding string, response []byte, c Client) (User, []string, error) {
	p, err := a.passkeys()
	if err != nil {
		return User{}, nil, err
	}
	key := ""
	if k := a.lockout.ipKey(c.IP); k != "" {
		key = "passkey:" + k
		var n int
		var end time.Time
		if err := a.store(ctx, func(ctx context.Context) (err error) {
			n, end, err = a.cfg.Attempts.Count(ctx, key)
			return err
		}); err != nil {
			return User{}, nil, err
		}
		if n >= passkeySignInMax {
			a.emit(ctx, EventPasskeySignIn, OutcomeFailure, "signin:throttled", c, "", "")
			return User{}, nil, &ThrottledError{RetryAfter: retryAfter(end, a.cfg.Now()), Scope: "ip"}
		}
	}
	res, err := a.finishAssertion(ctx, p, binding, response, c, "signin", "")
	if err != nil {
		if key != "" && errors.Is(err, ErrInvalidCredentials) && !errors.Is(err, passkey.ErrChallengeExpired) {
			if ierr := a.store(ctx, func(ctx context.Context) error {
				_, _, err := a.cfg.Attempts.Incr(ctx, key, passkeySignInWindow)
				return err
			}); ierr != nil {
				return User{}, nil, errors.Join(err, ierr)
			}
		}
		return User{}, nil, err
	}
	u, found, err := a.userByID(ctx, res.UserID)
	if err != nil {
		return User{}, nil, err
	}
	if !found || u.Disabled {
		a.emit(ctx, EventPasskeySignIn, OutcomeFailure, "signin:disabled", c, res.UserID, "")
		return User{}, nil, ErrInvalidCredentials
	}
	if !res.MultiFactor {
		due := false
		switch {
		case a.cfg.MFA != nil:
			if due, err = a.mfaDue(ctx, u, c); err != nil {
				return User{}, nil, err
			}
		case u.MFAEnabled:
			a.emit(ctx, EventMFAStateLost, OutcomeFailure, "mfa_not_configured", c, u.ID, u.Email)
			return User{}, nil, ErrMFAStateLost
		}
		if due {
			a.emit(ctx, EventPasskeySignIn, OutcomeFailure, "signin:second_factor_due", c, u.ID, u.Email)
			return User{}, nil, ErrMFARequired
		}
	}
	a.emit(ctx, EventPasskeySignIn, OutcomeSuccess, "signin", c, u.ID, u.Email)
	a.emit(ctx, EventLoginSuccess, OutcomeSuccess, "passkey", c, u.ID, u.Email)
	return u, slices.Clone(res.AMR), nil
}

// mfaTokenUser returns the user an MFA token from [Auth.Login] was issued
// for (its signed tag), and the challenge part; "" when the token is not
// one of this Auth's.
func (a *Auth) mfaTokenUser(mfaToken string) (inner, userID string) {
	inner, tag, _ := strings.Cut(mfaToken, ".")
	return inner, a.mfaTagUser(inner, tag)
}

// BeginPasskeyMFA starts the second-factor step of a password login with a
// passkey instead of a TOTP code: mfaToken is LoginResult.MFAToken. The
// ceremony is bound to that token and offers only the account's own
// passkeys. Errors: [ErrInvalidCode] for a token that is not one of this
// Auth's, passkey.ErrNotFound when the account has no passkey (the page
// asks for a code instead), [ErrMFANotConfigured],
// [ErrPasskeysNotConfigured], or a system failure. Whether the token is
// still live is checked by [Auth.VerifyPasskeyMFA].
func (a *Auth) BeginPasskeyMFA(ctx context.Context, mfaToken string) (passkey.Options, error) {
	if a.cfg.MFA == nil {
		return passkey.Options{}, ErrMFANotConfigured
	}
	p, err := a.passkeys()
	if err != nil {
		return passkey.Options{}, err
	}
	_, uid := a.mfaTokenUser(mfaToken)
	if uid == "" {
		return passkey.Options{}, ErrInvalidCode
	}
	var o passkey.Options
	err = a.store(ctx, func(ctx context.Context) (err error) {
		o, err = p.BeginLoginFor(ctx, mfaToken, uid)
		return err
	})
	return o, err
}

// VerifyPasskeyMFA finishes a password login with a passkey as the second
// factor: the assertion of a ceremony begun by [Auth.BeginPasskeyMFA] with
// the same mfaToken, by a passkey of the account that passed the password
// step. The MFA challenge is then spent (single use, as with
// [Auth.VerifyMFA]), and refused if it expired or its password has been
// replaced since. It returns the user and the amr ("pwd", the passkey's
// methods, "mfa"); the caller issues tokens and a device token. Errors:
// [ErrInvalidCredentials] for a refused assertion (another account's
// passkey, a replay, a ceremony begun with another token, ...: it also
// matches the passkey error), [ErrInvalidCode] for a spent, expired or
// foreign MFA token or a disabled account, [ErrMFANotConfigured],
// [ErrPasskeysNotConfigured], or a system failure.
func (a *Auth) VerifyPasskeyMFA(ctx context.Context, mfaToken string, response []byte, c Client) (User, []string, error) {
	if a.cfg.MFA == nil {
		return User{}, nil, ErrMFANotConfigured
	}
	p, err := a.passkeys()
	if err != nil {
		return User{}, nil, err
	}
	inner, uid := a.mfaTokenUser(mfaToken)
	if uid == "" {
		a.emit(ctx, EventMFAFailure, OutcomeFailure, "invalid_token", c, "", "")
		return User{}, nil, ErrInvalidCode
	}
	res, err := a.finishAssertion(ctx, p, mfaToken, response, c, "mfa", uid)
	if err != nil {
		a.emit(ctx, EventMFAFailure, OutcomeFailure, "passkey_refused", c, uid, "")
		return User{}, nil, err
	}
	var ch mfa.Challenge
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		ch, err = a.cfg.MFA.TakeChallenge(ctx, inner)
		return err
	}); err != nil {
		if mapped := a.mfaError(err); mapped == ErrInvalidCode {
			a.emit(ctx, EventMFAFailure, OutcomeFailure, "invalid_token", c, uid, "")
			return User{}, nil, ErrInvalidCode
		}
		return User{}, nil, err
	}
	if ch.UserID != res.UserID {
		// The tag and the challenge are both this Auth's, so this needs a
		// forged tag: refuse.
		a.emit(ctx, EventMFAFailure, OutcomeFailure, "wrong_user", c, ch.UserID, "")
		return User{}, nil, ErrInvalidCode
	}
	login, device, stamp := parseChallengeData(ch.Data)
	u, found, err := a.userByID(ctx, ch.UserID)
	if err != nil {
		return User{}, nil, err
	}
	if !found || u.Disabled {
		a.emit(ctx, EventMFAFailure, OutcomeFailure, "disabled", c, ch.UserID, login)
		return User{}, nil, ErrInvalidCode
	}
	if subtle.ConstantTimeCompare([]byte(stamp), []byte(resetStamp(u.PasswordHash))) != 1 {
		a.emit(ctx, EventMFAFailure, OutcomeFailure, "password_changed", c, u.ID, login)
		return User{}, nil, ErrInvalidCode
	}
	if err := a.store(ctx, func(ctx context.Context) error { return a.lockout.Succeed(ctx, login, device) }); err != nil {
		return User{}, nil, err
	}
	a.emit(ctx, EventPasskeySignIn, OutcomeSuccess, "mfa", c, u.ID, login)
	a.emit(ctx, EventMFASuccess, OutcomeSuccess, "passkey", c, u.ID, login)
	a.emit(ctx, EventLoginSuccess, OutcomeSuccess, "", c, u.ID, login)
	return u, passkeyAMR(AMRPassword, res), nil
}

// BeginPasskeyRegistration starts adding a passkey to userID's account,
// whose last interactive sign-in was at authTime (the access token's or
// session's auth_time): it needs a recent sign-in ([ErrReauthRequired]).
// The ceremony is bound to binding (a secret of the signed-in browser, such
// as its session) and to userID; the user handle sent to the authenticator
// is the same for every passkey of the account and never the user id.
// Errors also: [ErrInvalidCredentials] for an unknown or disabled account,
// [ErrPasskeysNotConfigured], or a system failure.
func (a *Auth) BeginPasskeyRegistration(ctx context.Context, binding, userID string, authTime time.Time) (passkey.Options, error) {
	p, err := a.passkeys()
	if err != nil {
		return passkey.Options{}, err
	}
	if !a.Recent(authTime) {
		return passkey.Options{}, ErrReauthRequired
	}
	u, found, err := a.userByID(ctx, userID)
	if err != nil {
		return passkey.Options{}, err
	}
	if !found || u.Disabled {
		return passkey.Options{}, ErrInvalidCredentials
	}
	var o passkey.Options
	err = a.store(ctx, func(ctx context.Context) (err error) {
		o, err = p.BeginRegistration(ctx, binding, passkey.User{ID: u.ID, Name: u.Email})
		return err
	})
	return o, err
}

// FinishPasskeyRegistration verifies the attestation response (the JSON of
// PublicKeyCredential.toJSON()) of a registration begun by
// [Auth.BeginPasskeyRegistration] with the same binding and userID, and
// stores the passkey under name. The account is checked again before and
// after the passkey is stored: one disabled or deleted since the ceremony
// began (or while it finished) gets [ErrInvalidCredentials] and keeps no
// passkey. Errors: passkey.ErrInvalidName,
// passkey.ErrCredentialExists, another passkey error for a refused
// response (wrong origin, challenge, binding or user, ...),
// [ErrPasskeysNotConfigured], or a system failure.
func (a *Auth) FinishPasskeyRegistration(ctx context.Context, binding, userID, name string, response []byte, c Client) (passkey.Credential, error) {
	p, err := a.passkeys()
	if err != nil {
		return passkey.Credential{}, err
	}
	u, found, err := a.userByID(ctx, userID)
	if err != nil {
		return passkey.Credential{}, err
	}
	if !found || u.Disabled {
		a.emit(ctx, EventPasskeyAdded, OutcomeFailure, "account_disabled", c, userID, "")
		return passkey.Credential{}, ErrInvalidCredentials
	}
	var cred passkey.Credential
	err = a.store(ctx, func(ctx context.Context) (err error) {
		cred, err = p.FinishRegistration(ctx, binding, userID, name, response)
		return err
	})
	if err != nil {
		if reason, ok := passkeyRefusal(err); ok || errors.Is(err, passkey.ErrInvalidName) || errors.Is(err, passkey.ErrCredentialExists) {
			if !ok {
				reason = "invalid"
			}
			a.emit(ctx, EventPasskeyAdded, OutcomeFailure, reason, c, userID, "")
		}
		return passkey.Credential{}, err
	}
	// A disable (or deletion) that landed while the passkey was verified
	// and stored: take it back out, so re-enabling the account cannot
	// bring a passkey added after the disable to life.
	cur, found, err := a.userByID(ctx, userID)
	if err != nil || !found || cur.Disabled {
		if rmErr := a.store(ctx, func(ctx context.Context) error {
			_, err := p.Remove(ctx, userID, cred.ID, false)
			return err
		}); rmErr != nil && !errors.Is(rmErr, passkey.ErrNotFound) {
			return passkey.Credential{}, rmErr
		}
		if err != nil {
			return passkey.Credential{}, err
		}
		a.emit(ctx, EventPasskeyAdded, OutcomeFailure, "account_disabled", c, userID, "")
		return passkey.Credential{}, ErrInvalidCredentials
	}
	a.emit(ctx, EventPasskeyAdded, OutcomeSuccess, "", c, userID, "")
	return cred, nil
}

// ListPasskeys returns userID's passkeys, oldest first.
func (a *Auth) ListPasskeys(ctx context.Context, userID string) ([]passkey.Credential, error) {
	p, err := a.passkeys()
	if err != nil {
		return nil, err
	}
	var list []passkey.Credential
	err = a.store(ctx, func(ctx context.Context) (err error) {
		list, err = p.List(ctx, userID)
		return err
	})
	return list, err
}

// RenamePasskey sets the name of one of userID's passkeys. Errors:
// passkey.ErrNotFound when the user has no such passkey,
// passkey.ErrInvalidName, [ErrPasskeysNotConfigured], or a system failure.
func (a *Auth) RenamePasskey(ctx context.Context, userID string, credentialID []byte, name string, c Client) error {
	p, err := a.passkeys()
	if err != nil {
		return err
	}
	return a.store(ctx, func(ctx context.Context) error { return p.Rename(ctx, userID, credentialID, name) })
}

// RemovePasskey removes one of userID's passkeys. authTime and amr are the
// caller's sign-in (the access token's or session's auth_time and amr); it
// needs a recent sign-in ([ErrReauthRequired]). When the account has TOTP
// enrolled, or this is its last passkey, it also needs the current factor,
// as replacing TOTP does ([Auth.EnrollMFA]): amr showing a second factor
// ("otp", "mfa", "hwk", "swk"), or code (a current TOTP or unused backup
// code, spent here); otherwise [ErrMFARequired] (no code given) or
// [ErrInvalidCode]. An account without a password cannot remove its last
// passkey: [ErrLastSignInMethod], decided atomically by the store. On
// success it returns the WebAuthn Signal API payloads the page hands to
// PublicKeyCredential.signalUnknownCredential and
// signalAllAcceptedCredentials. Errors also: passkey.ErrNotFound,
// [ErrPasskeysNotConfigured], or a system failure.
func (a *Auth) RemovePasskey(ctx context.Context, userID string, credentialID []byte, authTime time.Time, amr []string, code string, c Client) (passkey.Removal, error) {
	p, err := a.passkeys()
	if err != nil {
		return passkey.Removal{}, err
	}
	if !a.Recent(authTime) {
		return passkey.Removal{}, ErrReauthRequired
	}
	u, found, err := a.userByID(ctx, userID)
	if err != nil {
		return passkey.Removal{}, err
	}
	if !found || u.Disabled {
		return passkey.Removal{}, ErrInvalidCredentials
	}
	list, err := a.ListPasskeys(ctx, userID)
	if err != nil {
		return passkey.Removal{}, err
	}
	if !slices.ContainsFunc(list, func(cr passkey.Credential) bool { return string(cr.ID) == string(credentialID) }) {
		return passkey.Removal{}, passkey.ErrNotFound
	}
	enrolled := false
	if a.cfg.MFA != nil {
		if enrolled, err = a.mfaDue(ctx, u, c); err != nil {
			return passkey.Removal{}, err
		}
	}
	// The factor is asked for up front when the list shows the last
	// passkey; concurrent removals can both see two, so without a proven
	// factor the store also keeps the last one atomically (keepLast), and a
	// refusal then asks for the factor.
	proved := usedSecondFactor(amr)
	if (enrolled || len(list) == 1) && !proved {
		switch {
		case strings.TrimSpace(code) == "" || !enrolled:
			a.emit(ctx, EventPasskeyRemoved, OutcomeFailure, "factor_required", c, userID, u.Email)
			return passkey.Removal{}, ErrMFARequired
		default:
			if err := a.store(ctx, func(ctx context.Context) error {
				_, err := a.cfg.MFA.Verify(ctx, userID, code)
				return err
			}); err != nil {
				if mapped := a.mfaError(err); mapped == ErrInvalidCode || errors.Is(mapped, ErrThrottled) {
					a.emit(ctx, EventPasskeyRemoved, OutcomeFailure, "invalid_code", c, userID, u.Email)
					return passkey.Removal{}, mapped
				}
				return passkey.Removal{}, err
			}
			proved = true
		}
	}
	var rm passkey.Removal
	err = a.store(ctx, func(ctx context.Context) (err error) {
		rm, err = p.Remove(ctx, userID, credentialID, u.PasswordHash == "" || !proved)
		return err
	})
	if errors.Is(err, passkey.ErrLastCredential) {
		if u.PasswordHash != "" && !proved {
			a.emit(ctx, EventPasskeyRemoved, OutcomeFailure, "factor_required", c, userID, u.Email)
			return passkey.Removal{}, ErrMFARequired
		}
		a.emit(ctx, EventPasskeyRemoved, OutcomeFailure, "last_sign_in_method", c, userID, u.Email)
		return passkey.Removal{}, ErrLastSignInMethod
	}
	if err != nil {
		return passkey.Removal{}, err
	}
	a.emit(ctx, EventPasskeyRemoved, OutcomeSuccess, "", c, userID, u.Email)
	return rm, nil
}

// BeginPasskeyReauth starts a passkey re-authentication of the signed-in
// userID (step-up, see [Auth.ReauthenticatePasskey]): only the account's
// own passkeys are offered and accepted, and the ceremony is bound to
// binding (a secret of the signed-in browser). Errors: passkey.ErrNotFound
// when the account has no passkey, [ErrPasskeysNotConfigured], or a system
// failure.
//
// A host on server-side sessions (package session) finishes the ceremony
// with [Auth.ReauthenticateSessionPasskey] and the same binding, passing
// the session's user as userID here.
func (a *Auth) BeginPasskeyReauth(ctx context.Context, binding, userID string) (passkey.Options, error) {
	p, err := a.passkeys()
	if err != nil {
		return passkey.Options{}, err
	}
	var o passkey.Options
	err = a.store(ctx, func(ctx context.Context) (err error) {
		o, err = p.BeginLoginFor(ctx, binding, userID)
		return err
	})
	return o, err
}

// reachableByPasskey reports whether a passkey re-authentication can meet
// want's ACR: every default level, a passkey being the strongest.
func reachableByPasskey(want middleware.Requirement) bool {
	return want.ACR == "" || slices.Contains(middleware.DefaultACRLevels, want.ACR)
}

// ReauthenticatePasskey is [Auth.Reauthenticate] with a passkey: the
// signed-in userID answers a ceremony begun by [Auth.BeginPasskeyReauth]
// with the same binding, with one of the account's own passkeys. On success
// the refresh family of refreshToken (which must be userID's) records the
// new sign-in atomically, and the result holds a new access token with a
// fresh auth_time, the passkey's amr ("hwk" or "swk", "user", "mfa") and
// acr [middleware.ACRPasskey], next to the same, unchanged refresh token.
// want is what the challenge asked for: a level outside the default levels
// gives [ErrStepUpUnavailable] before anything is checked. The password
// lockout does not apply. Errors: [ErrInvalidCredentials] for a refused
// assertion (another account's passkey, a replay, another browser's
// ceremony, ...; it also matches the passkey error) or a disabled account,
// [ErrMFARequired] when passkeys count as a single factor and the account
// has TOTP enrolled (re-authenticate with the password and code instead),
// [ErrInvalidToken] for a missing, spent or foreign refresh token,
// [ErrPasskeysNotConfigured], or a system failure.
func (a *Auth) ReauthenticatePasskey(ctx context.Context, binding, userID, refreshToken string, response []byte, want middleware.Requirement, c Client) (Tokens, User, error) {
	if _, err := a.passkeys(); err != nil {
		return Tokens{}, User{}, err
	}
	if !reachableByPasskey(want) {
		return Tokens{}, User{}, ErrStepUpUnavailable
	}
	if refreshToken == "" {
		return Tokens{}, User{}, ErrInvalidToken
	}
	var t Tokens
	u, err := a.reauthenticatePasskey(ctx, binding, userID, response, want, c, a.renewFamily(refreshToken, want, c, &t))
	if err != nil {
		return Tokens{}, User{}, err
	}
	return t, u, nil
}

// ReauthenticateSessionPasskey is [Auth.ReauthenticatePasskey] for a host
// on server-side sessions ([Config.Sessions]): the user signed in to the
// session in ctx answers a ceremony begun by [Auth.BeginPasskeyReauth]
// (with that user and the same binding) with one of the account's own
// passkeys. On success the session is renewed with the new sign-in
// (session.Manager.RenewSignIn): a new id, a fresh AuthTime and the
// passkey's methods ("hwk" or "swk", "user", "mfa"), so the session meets
// [middleware.ACRPasskey]; the user, the values and the absolute lifetime
// are kept. Call it before the response is written. Errors are
// ReauthenticatePasskey's, with [ErrNotSignedIn] as
// [Auth.ReauthenticateSession] describes it in place of [ErrInvalidToken].
func (a *Auth) ReauthenticateSessionPasskey(ctx context.Context, binding string, response []byte, want middleware.Requirement, c Client) (User, error) {
	if _, err := a.passkeys(); err != nil {
		return User{}, err
	}
	if !reachableByPasskey(want) {
		return User{}, ErrStepUpUnavailable
	}
	userID, err := a.sessionUser(ctx)
	if err != nil {
		return User{}, err
	}
	return a.reauthenticatePasskey(ctx, binding, userID, response, want, c, a.renewSession(want, c))
}

// reauthenticatePasskey checks userID's passkey assertion for a
// re-authentication that must meet want, then hands the sign-in to record.
func (a *Auth) reauthenticatePasskey(ctx context.Context, binding, userID string, response []byte, want middleware.Requirement, c Client, record recordSignIn) (User, error) {
	p, err := a.passkeys()
	if err != nil {
		return User{}, err
	}
	if !reachableByPasskey(want) {
		return User{}, ErrStepUpUnavailable
	}
	u, found, err := a.userByID(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if !found || u.Disabled {
		return User{}, ErrInvalidCredentials
	}
	// Dated before the check, so a log out everywhere during it wins.
	authTime := a.cfg.Now()
	res, err := a.finishAssertion(ctx, p, binding, response, c, "reauth", u.ID)
	if err != nil {
		return User{}, err
	}
	if res.UserID != u.ID {
		a.emit(ctx, EventPasskeySignIn, OutcomeFailure, "reauth:wrong_user", c, u.ID, u.Email)
		return User{}, fmt.Errorf("%w: %w", ErrInvalidCredentials, passkey.ErrWrongUser)
	}
	if !res.MultiFactor && a.cfg.MFA != nil {
		due, err := a.mfaDue(ctx, u, c)
		if err != nil {
			return User{}, err
		}
		if due {
			return User{}, ErrMFARequired
		}
	}
	if err := record(ctx, u, authTime, res.AMR); err != nil {
		return User{}, err
	}
	a.emit(ctx, EventPasskeySignIn, OutcomeSuccess, "reauth", c, u.ID, u.Email)
	a.emit(ctx, EventLoginSuccess, OutcomeSuccess, "reauth_passkey", c, u.ID, u.Email)
	return u, nil
}

// isPasskeyRefusal reports whether err is a refused passkey response.
func isPasskeyRefusal(err error) bool {
	_, ok := passkeyRefusal(err)
	return ok
}
