package authkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/session"
)

// Step-up authentication (RFC 9470): a resource server guarded by
// [middleware.StepUp] answers a request whose sign-in is too old or too
// weak with an insufficient_user_authentication challenge naming acr_values
// and/or max_age; the signed-in user re-authenticates with
// [Auth.Reauthenticate] (POST <prefix>/reauth) and retries with the new
// access token. A host on server-side sessions uses
// [Auth.ReauthenticateSession] and [Auth.ReauthenticateSessionPasskey],
// which renew the session instead; the session records the methods, so
// StepUp reads the same acr from it.
//
// acr always states the strength of the sign-in that auth_time dates: a
// re-authentication replaces both in the refresh family, so a later refresh
// carries them too. A re-authentication with the password alone after a
// sign-in with a second factor therefore sets acr back to "pwd" with the
// fresh auth_time: the older, stronger sign-in no longer dates the token.
// (For an account with a second factor enrolled, Reauthenticate always asks
// for it, so this happens only for accounts signed in with a second factor
// the flow does not hold, such as an external provider's.)

var (
	// ErrMFARequired means the re-authentication needs a second-factor
	// code (the account has one enrolled, or the requested level needs
	// one) and none was given; nothing was checked or counted. The HTTP
	// answer is 401 {"error":"mfa_required"}.
	ErrMFARequired = errors.New("authkit: second factor required")
	// ErrStepUpUnavailable means the requested authentication level cannot
	// be reached by re-authenticating with a password and a second factor:
	// a level the flow does not offer (a passkey, an unknown acr value), or
	// a second factor for an account that has none enrolled. The HTTP
	// answer is 403 {"error":"insufficient_user_authentication"}.
	ErrStepUpUnavailable = errors.New("authkit: requested authentication level not available")
)

// stepUp returns the [middleware.StepUp] whose rule [Auth.Recent] and
// [Auth.Reauthenticate] apply: the default levels and leeway on the Auth's
// clock. It is built per call (a few small allocations) so that Auth needs
// no extra state; nil only if the middleware refused its own defaults.
func (a *Auth) stepUp() *middleware.StepUp {
	s, err := middleware.NewStepUp(middleware.StepUpConfig{Now: a.cfg.Now})
	if err != nil {
		return nil
	}
	return s
}

// checkStepUp is [middleware.StepUp.Check] on the Auth's clock; it fails
// closed.
func (a *Auth) checkStepUp(p middleware.Principal, want middleware.Requirement) error {
	s := a.stepUp()
	if s == nil {
		return ErrStepUpUnavailable
	}
	return s.Check(p, want)
}

// reachable reports whether a re-authentication can meet want's ACR (the
// default levels up to [middleware.ACRMFA]) and whether that needs a second
// factor.
func reachable(want middleware.Requirement) (ok, needMFA bool) {
	switch want.ACR {
	case "", middleware.ACRPassword:
		return true, false
	case middleware.ACRMFA:
		return true, true
	}
	return false, false
}

// Reauthenticate is step-up authentication for a signed-in user: userID
// (the subject of the caller's access token) proves the password again, and
// a second-factor code (TOTP or backup code) when the account has one
// enrolled or want.ACR needs one ([middleware.ACRMFA]). On success the
// refresh family of refreshToken (the client's current refresh token, which
// must be the same user's) records the new sign-in atomically
// ([jwt.RefreshManager.UpdateSignIn]), and the result holds a new access
// token with a fresh auth_time, the amr of this re-authentication and its
// acr, next to the same refresh token, unchanged (it rotates as before;
// reuse detection is unaffected; RefreshExpiry is its unchanged expiry).
//
// want is what the challenge asked for (acr_values, max_age): a level the
// flow cannot reach gives [ErrStepUpUnavailable] before anything is
// checked; any max_age is met, the sign-in being now. A password-only
// re-authentication sets acr to "pwd" even after a sign-in with a second
// factor: acr states the strength of the sign-in auth_time dates.
//
// The password is checked like a login's (see [Auth.Login]): the attempt
// is reserved against the login name and the client's network first, a
// wrong password counts as a failed login and gives
// [ErrInvalidCredentials], and a throttled client gets a [*ThrottledError]
// whatever the password, so this endpoint cannot be used to guess
// passwords faster than the login. Other errors: [ErrMFARequired] when a
// code is due and code is empty (nothing checked), [ErrInvalidCode] or a
// [*ThrottledError] for the code, [ErrInvalidToken] when refreshToken is
// missing, unknown, already rotated, expired, revoked or another user's,
// [ErrMFAStateLost], [ErrBusy], or a system failure.
func (a *Auth) Reauthenticate(ctx context.Context, userID, refreshToken, pw, code string, want middleware.Requirement, c Client) (Tokens, User, error) {
	if ok, _ := reachable(want); !ok {
		return Tokens{}, User{}, ErrStepUpUnavailable
	}
	if refreshToken == "" {
		return Tokens{}, User{}, ErrInvalidToken
	}
	var t Tokens
	u, err := a.reauthenticate(ctx, userID, pw, code, want, c, a.renewFamily(refreshToken, want, c, &t))
	if err != nil {
		return Tokens{}, User{}, err
	}
	return t, u, nil
}

// ReauthenticateSession is [Auth.Reauthenticate] for a host on server-side
// sessions ([Config.Sessions]): the user signed in to the session in ctx
// (the request's context inside session.Manager.LoadAndSave) proves the
// password again, and a second-factor code when one is enrolled or want
// needs one, under the same lockout and checks. On success the session is
// renewed with the new sign-in (session.Manager.RenewSignIn): a new id, a
// fresh AuthTime and the methods of this re-authentication, so the
// session's acr (as [middleware.StepUp] reads it) is the strength of this
// sign-in; the user, the values and the absolute lifetime are kept. Call it
// before the response is written.
//
// Errors are Reauthenticate's, with [ErrNotSignedIn] in place of
// [ErrInvalidToken]: Config.Sessions is nil, ctx carries no session of it,
// the session has no fully signed-in user, or it was ended while the
// password was checked (log out everywhere, a disabled account; the error
// then also matches session.ErrRevoked, and the session is anonymous).
func (a *Auth) ReauthenticateSession(ctx context.Context, pw, code string, want middleware.Requirement, c Client) (User, error) {
	if ok, _ := reachable(want); !ok {
		return User{}, ErrStepUpUnavailable
	}
	userID, err := a.sessionUser(ctx)
	if err != nil {
		return User{}, err
	}
	return a.reauthenticate(ctx, userID, pw, code, want, c, a.renewSession(want, c))
}

// recordSignIn records a checked re-authentication of u (dated authTime,
// methods amr) where the caller keeps its sign-in: a refresh family
// ([Auth.renewFamily]) or a session ([Auth.renewSession]).
type recordSignIn func(ctx context.Context, u User, authTime time.Time, amr []string) error

// reauthenticate checks userID's password (and code) for a
// re-authentication that must meet want, then hands the sign-in to record.
func (a *Auth) reauthenticate(ctx context.Context, userID, pw, code string, want middleware.Requirement, c Client, record recordSignIn) (User, error) {
	ok, needMFA := reachable(want)
	if !ok {
		return User{}, ErrStepUpUnavailable
	}
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
	enrolled := false
	switch {
	case a.cfg.MFA != nil:
		var err error
		if enrolled, err = a.mfaDue(ctx, u, c); err != nil {
			return User{}, err
		}
	case u.MFAEnabled:
		a.emit(ctx, EventMFAStateLost, OutcomeFailure, "mfa_not_configured", c, u.ID, u.Email)
		return User{}, ErrMFAStateLost
	}
	if needMFA && !enrolled {
		return User{}, ErrStepUpUnavailable
	}
	if enrolled && strings.TrimSpace(code) == "" {
		return User{}, ErrMFARequired
	}
	// The sign-in is dated before the password is checked, so a "log out
	// everywhere" that lands during the check wins (UpdateSignIn refuses a
	// sign-in before the not-before; a session it ended cannot be renewed).
	authTime := a.cfg.Now()
	at, err := a.reauthPassword(ctx, u, pw, c)
	if err != nil {
		return User{}, err
	}
	amr := []string{AMRPassword}
	if enrolled {
		if err := a.store(ctx, func(ctx context.Context) error {
			_, err := a.cfg.MFA.Verify(ctx, u.ID, code)
			return err
		}); err != nil {
			err = a.mfaError(err)
			if err == ErrInvalidCode || errors.Is(err, ErrThrottled) {
				reason := "invalid_code"
				if err != ErrInvalidCode {
					reason = "throttled"
				}
				a.emit(ctx, EventMFAFailure, OutcomeFailure, reason, c, u.ID, u.Email)
			}
			return User{}, err
		}
		amr = append(amr, AMROTP)
	}
	if err := record(ctx, u, authTime, amr); err != nil {
		return User{}, err
	}
	if err := a.store(ctx, func(ctx context.Context) error { return a.lockout.Succeed(ctx, u.Email, at.Device()) }); err != nil {
		return User{}, err
	}
	if enrolled {
		a.emit(ctx, EventMFASuccess, OutcomeSuccess, "reauth", c, u.ID, u.Email)
	}
	a.emit(ctx, EventLoginSuccess, OutcomeSuccess, "reauth", c, u.ID, u.Email)
	return u, nil
}

// renewFamily records a re-authentication on the refresh family of
// refreshToken and puts the new access token (next to the unchanged
// refresh token) in *t.
func (a *Auth) renewFamily(refreshToken string, want middleware.Requirement, c Client, t *Tokens) recordSignIn {
	return func(ctx context.Context, u User, authTime time.Time, amr []string) error {
		in, rec, err := a.renewSignIn(ctx, u, authTime, amr, refreshToken, want, c)
		if err != nil {
			return err
		}
		*t, err = a.accessFor(ctx, u, in, refreshToken, rec)
		return err
	}
}

// sessionUser returns the fully signed-in user of ctx's session of
// Config.Sessions, or ErrNotSignedIn.
func (a *Auth) sessionUser(ctx context.Context) (string, error) {
	if a.cfg.Sessions == nil {
		return "", fmt.Errorf("%w: Config.Sessions is not set", ErrNotSignedIn)
	}
	s, ok := a.cfg.Sessions.FromContext(ctx)
	if !ok {
		return "", fmt.Errorf("%w: no session of Config.Sessions in the context", ErrNotSignedIn)
	}
	uid := s.UserID()
	if uid == "" {
		return "", ErrNotSignedIn
	}
	return uid, nil
}

// renewSession records a re-authentication on the session in ctx: the new
// sign-in must meet want, and the session must still be u's and live.
func (a *Auth) renewSession(want middleware.Requirement, c Client) recordSignIn {
	return func(ctx context.Context, u User, authTime time.Time, amr []string) error {
		in := a.signIn(authTime, amr)
		if err := a.checkStepUp(middleware.Principal{AuthTime: in.AuthTime, AMR: in.AMR, ACR: in.ACR}, want); err != nil {
			return fmt.Errorf("%w: %w", ErrStepUpUnavailable, err)
		}
		err := a.store(ctx, func(ctx context.Context) error { return a.cfg.Sessions.RenewSignIn(ctx, u.ID, amr) })
		if errors.Is(err, session.ErrRevoked) || errors.Is(err, session.ErrNotSignedIn) || errors.Is(err, session.ErrNoSession) {
			a.emit(ctx, EventLoginFailure, OutcomeFailure, "reauth_session_ended", c, u.ID, u.Email)
			return fmt.Errorf("%w: %w", ErrNotSignedIn, err)
		}
		return err
	}
}

// reauthPassword checks pw for u under the login's lockout (see
// [Auth.lockedPasswordCheck]) and also refuses a password whose hash was
// replaced (or an account disabled) while it was checked.
func (a *Auth) reauthPassword(ctx context.Context, u User, pw string, c Client) (*Attempt, error) {
	at, err := a.lockedPasswordCheck(ctx, u, pw, c, EventLoginFailure, "reauth_bad_password")
	if err != nil {
		return nil, err
	}
	var cur User
	var found bool
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		cur, found, err = a.cfg.Users.UserByID(ctx, u.ID)
		return err
	}); err != nil {
		return nil, err
	}
	if !found || cur.Disabled || cur.PasswordHash != u.PasswordHash {
		a.emit(ctx, EventLoginFailure, OutcomeFailure, "changed_during_check", c, u.ID, u.Email)
		return nil, ErrInvalidCredentials
	}
	return at, nil
}

// lockedPasswordCheck checks pw for the known account u under the login's
// lockout: reserved with [Lockout.Begin], a failure counted with
// [Attempt.Fail] and audited as failEvent with failReason, the per-IP
// reservation released on success. Re-authentication and password change
// share it, so neither can be used to guess a password past the lockout.
func (a *Auth) lockedPasswordCheck(ctx context.Context, u User, pw string, c Client, failEvent EventType, failReason string) (*Attempt, error) {
	dev := a.deviceID(c.DeviceToken, u.Email)
	var at *Attempt
	if err := a.store(ctx, func(ctx context.Context) (err error) {
		at, err = a.lockout.Begin(ctx, u.Email, c.IP, dev)
		return err
	}); err != nil {
		if errors.Is(err, ErrThrottled) {
			a.emit(ctx, failEvent, OutcomeFailure, "throttled", c, u.ID, u.Email)
		}
		return nil, err
	}
	ok := false
	var err error
	if u.PasswordHash != "" {
		ok, _, err = a.verify(ctx, pw, u.PasswordHash)
	} else {
		err = a.verifyDummy(ctx, pw)
	}
	if err != nil && !errors.Is(err, password.ErrInvalidHash) && !errors.Is(err, password.ErrUnknownPepper) {
		return nil, a.refuse(ctx, at, err)
	}
	if !ok {
		lockErr := a.store(ctx, func(ctx context.Context) error { return at.Fail(ctx) })
		a.emit(ctx, failEvent, OutcomeFailure, failReason, c, u.ID, u.Email)
		if errors.Is(lockErr, ErrThrottled) {
			a.emit(ctx, EventLockout, OutcomeFailure, "too_many_failures", c, u.ID, u.Email)
		} else if lockErr != nil {
			return nil, lockErr
		}
		return nil, ErrInvalidCredentials
	}
	if err := a.release(ctx, at); err != nil {
		return nil, err
	}
	return at, nil
}

// RequirementFromChallenge turns the acr_values and max_age of an RFC 9470
// challenge, as a client hands them to the re-authentication, into the
// [middleware.Requirement] they state. acrValues is a space-separated list
// of acceptable levels; the weakest of them that is one of
// [middleware.DefaultACRLevels] is required (values outside the levels are
// ignored; a list of only such values gives [ErrStepUpUnavailable]). maxAge
// is in seconds, nil when the challenge had none; 0 is
// [middleware.AlwaysReauthenticate]; a huge one is clamped to about 146
// years. A negative max_age is an error.
func RequirementFromChallenge(acrValues string, maxAge *int64) (middleware.Requirement, error) {
	var req middleware.Requirement
	if vals := strings.Fields(acrValues); len(vals) > 0 {
		best := -1
		for _, v := range vals {
			if i := slices.Index(middleware.DefaultACRLevels, v); i >= 0 && (best < 0 || i < best) {
				best = i
			}
		}
		if best < 0 {
			return middleware.Requirement{}, ErrStepUpUnavailable
		}
		req.ACR = middleware.DefaultACRLevels[best]
	}
	if maxAge != nil {
		switch {
		case *maxAge < 0:
			return middleware.Requirement{}, errBadMaxAge
		case *maxAge == 0:
			req.MaxAge = middleware.AlwaysReauthenticate
		case *maxAge > int64(maxMaxAge/time.Second):
			// Clamped well below the largest Duration: the check adds
			// its leeway to MaxAge, and an overflow there would make
			// every sign-in, even one made now, look stale.
			req.MaxAge = maxMaxAge
		default:
			req.MaxAge = time.Duration(*maxAge) * time.Second
		}
	}
	return req, nil
}

// maxMaxAge bounds a challenge's max_age (about 146 years): longer than
// any sign-in's age, and far enough from the largest Duration that adding
// a leeway cannot overflow.
const maxMaxAge = time.Duration(math.MaxInt64 / 2)

var errBadMaxAge = errors.New("authkit: max_age must be a non-negative number of seconds")

// reauth serves POST <prefix>/reauth for a request with a valid access
// token (p): {password, code?, acr_values?, max_age?} or {credential,
// acr_values?, max_age?} (a passkey assertion of a ceremony begun with
// POST <prefix>/reauth/passkey/options; see [Auth.ReauthenticatePasskey]) plus the refresh
// token (the refresh cookie, or {"refresh_token"} with body delivery) →
// 200 with the tokens, as a login answers. Errors: 400 invalid_request
// (a malformed body or max_age), 401 invalid_credentials, mfa_required,
// invalid_code or invalid_token, 403 insufficient_user_authentication (a
// level the flow cannot reach), 429 rate_limited.
func (h *handlers) reauth(w http.ResponseWriter, r *http.Request, p middleware.Principal) {
	var in struct {
		Password     string          `json:"password"`
		Code         string          `json:"code"`
		Credential   json.RawMessage `json:"credential"`
		ACRValues    string          `json:"acr_values"`
		MaxAge       *int64          `json:"max_age"`
		RefreshToken string          `json:"refresh_token"`
	}
	if !decode(w, r, &in) {
		return
	}
	want, err := RequirementFromChallenge(in.ACRValues, in.MaxAge)
	if err != nil {
		h.reauthFail(w, r, err)
		return
	}
	tok := ""
	switch {
	case h.delivery.body() && in.RefreshToken != "":
		tok = in.RefreshToken
	case h.delivery.cookies():
		if c, err := r.Cookie(RefreshCookie); err == nil {
			tok = c.Value
			if !boundRefreshCookie(r, tok) {
				// Not the cookie this host set (see /refresh).
				h.a.emit(r.Context(), EventAccessDenied, OutcomeFailure, "unbound_refresh_cookie", h.a.ClientOf(r), p.Subject, "")
				writeError(w, http.StatusUnauthorized, middleware.CodeInvalidToken)
				return
			}
		}
	}
	var t Tokens
	var u User
	if len(in.Credential) > 0 && string(in.Credential) != "null" {
		t, u, err = h.a.ReauthenticatePasskey(r.Context(), tokenBinding(p), p.Subject, tok, in.Credential, want, h.a.ClientOf(r))
		if err != nil {
			h.passkeyFail(w, r, err)
			return
		}
		h.deliver(w, u, t)
		return
	}
	t, u, err = h.a.Reauthenticate(r.Context(), p.Subject, tok, in.Password, in.Code, want, h.a.ClientOf(r))
	if err != nil {
		h.reauthFail(w, r, err)
		return
	}
	h.deliver(w, u, t)
}

// Error codes of POST <prefix>/reauth beyond the shared ones.
const codeMFARequired = middleware.CodeMFARequired

func (h *handlers) reauthFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrMFARequired):
		writeError(w, http.StatusUnauthorized, codeMFARequired)
	case errors.Is(err, ErrStepUpUnavailable):
		writeError(w, http.StatusForbidden, middleware.CodeInsufficientUserAuthentication)
	case errors.Is(err, errBadMaxAge):
		writeError(w, http.StatusBadRequest, middleware.CodeInvalidRequest)
	default:
		h.fail(w, r, err)
	}
}

// renewSignIn records a re-authentication on the refresh family of
// refreshToken: the new sign-in (auth_time, amr, acr) must meet want, and
// the family must still be live and u's. It is the common end of the
// password and passkey re-authentications.
func (a *Auth) renewSignIn(ctx context.Context, u User, authTime time.Time, amr []string, refreshToken string, want middleware.Requirement, c Client) (jwt.SignIn, jwt.RefreshToken, error) {
	in := a.signIn(authTime, amr)
	if err := a.checkStepUp(middleware.Principal{AuthTime: in.AuthTime, AMR: in.AMR, ACR: in.ACR}, want); err != nil {
		return jwt.SignIn{}, jwt.RefreshToken{}, fmt.Errorf("%w: %w", ErrStepUpUnavailable, err)
	}
	var rec jwt.RefreshToken
	err := a.store(ctx, func(ctx context.Context) (err error) {
		rec, err = a.refresh.UpdateSignIn(ctx, refreshToken, u.ID, in)
		return err
	})
	switch {
	case errors.Is(err, jwt.ErrInvalidToken):
		a.emit(ctx, EventLoginFailure, OutcomeFailure, "reauth_invalid_refresh_token", c, u.ID, u.Email)
		return jwt.SignIn{}, jwt.RefreshToken{}, ErrInvalidToken
	case err != nil:
		return jwt.SignIn{}, jwt.RefreshToken{}, err
	}
	return in, rec, nil
}
