package authkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/session"
)

// Config configures [New]. Five fields are required: the host's Users, the
// signing Keys, the TokenIssuer and the stores every instance must share
// (RefreshStore, Attempts). Every other zero field takes the
// documented secure default. Stores are never defaulted: a missing store is
// a configuration error, so a production deployment cannot silently run on
// memory.
type Config struct {
	// Users is the host's account table. Required.
	Users UserStore
	// Hasher hashes and verifies passwords; nil means argon2id with the
	// password package's defaults (OWASP parameters).
	Hasher *password.Hasher
	// PasswordPolicy checks new passwords (sign-up, change, reset); nil
	// means the password package's default policy (NIST SP 800-63B section
	// 3.1.1.2: length 8 to 64, blocklist, no composition rules).
	PasswordPolicy *password.Policy

	// Keys sign access tokens (its active key) and verify them; they rotate
	// on their own (jwt.KeySet). Required.
	Keys *jwt.KeySet
	// Secrets derives the symmetric keys authkit needs from one master
	// secret (see [Secrets]). Optional; when set, [Auth.Secrets] returns it.
	Secrets *Secrets
	// TokenIssuer is the "iss" of access tokens, e.g. the service's URL.
	// Required.
	TokenIssuer string
	// Audience is the "aud" of access tokens; nil means []string{TokenIssuer}.
	Audience []string
	// Leeway is the clock-skew allowance when verifying access tokens; zero
	// means none, at most one minute.
	Leeway time.Duration
	// AccessLifetime of access tokens; zero means 15 minutes.
	AccessLifetime time.Duration
	// RefreshLifetime of one refresh token; zero means 7 days.
	RefreshLifetime time.Duration
	// FamilyLifetime is the absolute lifetime of one login's refresh-token
	// family (ASVS 10.4.8); zero means 30 days.
	FamilyLifetime time.Duration
	// RefreshGrace is the retry window of a refresh-token rotation: the
	// same refresh token presented again within it (a client that lost the
	// response) gets the same new tokens instead of a reuse verdict; see
	// jwt.RefreshConfig.GraceWindow for what it costs. Zero means 5 s;
	// jwt.NoGraceWindow turns it off; at most one minute.
	RefreshGrace time.Duration
	// RefreshStore keeps refresh tokens (rotation, reuse detection).
	// Required.
	RefreshStore jwt.RefreshStore
	// NotBefore keeps the per-user not-before written by log out everywhere,
	// password change and account disabling (ASVS 7.4.1); nil means
	// RefreshStore, which holds it (the one refresh contract).
	NotBefore jwt.NotBeforeStore

	// Attempts counts failures for the lockout, the sign-up limit and the
	// mail throttles. Required. (The same store may serve as the mfa
	// package's AttemptCounter: the key spaces do not overlap.)
	Attempts AttemptStore
	// Lockout tunes the login throttle; its Store and Now fields are
	// ignored (Attempts and Now are used).
	Lockout LockoutConfig
	// SignupLimit bounds sign-ups per client IP; zero means 30 per 10
	// minutes.
	SignupLimit Tier

	// MFA enables the TOTP step and the /auth/mfa endpoints. Optional: nil
	// means no account is ever asked for a second factor and those
	// endpoints answer 404. Its Challenges store is required when set.
	MFA *mfa.MFA
	// Sessions, if set, has every session of a user ended on log out
	// everywhere, password change, reset and disabling.
	Sessions *session.Manager

	// OneTimeTokens and Mailer enable password reset and email verification
	// (both or neither); the host then runs [Auth.RunMailer].
	OneTimeTokens OneTimeTokenStore
	Mailer        Mailer
	// ResetLifetime of reset and verification tokens; zero means 30 minutes.
	ResetLifetime time.Duration

	// RecentAuth is how long after an interactive sign-in sensitive changes
	// (MFA enrollment and removal, new backup codes) are allowed; zero means
	// 10 minutes (ASVS 7.5.1).
	RecentAuth time.Duration
	// Roles gives a new account its roles; nil means []string{"viewer"}.
	Roles func(login string) []string
	// NewUserID returns the ID of a new account; nil means 128 random bits
	// in hex.
	NewUserID func() (string, error)
	// ClientIP finds the client address for throttling and audit; nil means
	// the host part of RemoteAddr (no proxy headers trusted).
	ClientIP *middleware.ClientIPResolver
	// TrustedOrigins are extra origins allowed to POST to the handlers
	// (net/http.CrossOriginProtection; same-origin requests always pass).
	TrustedOrigins []string
	// Audit receives audit events; nil means slog.Default.
	Audit *Auditor
	// MaxBodyBytes caps request bodies of the handlers; zero means 64 KiB.
	MaxBodyBytes int64
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the CSPRNG for tokens and ids; nil means crypto/rand.Reader.
	Rand io.Reader

	// Login-flow settings.

	// DeviceKey signs device tokens (HMAC-SHA-256, at least 32 bytes; see
	// [Auth.IssueDeviceToken]). Nil means the key Config.Secrets derives for
	// [LabelDeviceCookie] when Secrets is set, else a random key per Auth: devices are
	// then trusted by this process only, until it restarts (they fall back
	// to the normal throttling, never to less); set it when several
	// instances serve one user base.
	DeviceKey []byte
	// HashWait bounds how long a request waits for a password-hashing slot
	// (password.Config.MaxConcurrent) before it gets [ErrBusy]; zero means
	// one second.
	HashWait time.Duration
	// StoreTimeout bounds each store step the flow makes for a request,
	// never beyond the request's own deadline; zero means 2 seconds. A step
	// that runs out gets [ErrStoreTimeout].
	StoreTimeout time.Duration
	// MailQueue is the capacity of the queue of reset and verification
	// mails that [Auth.RunMailer] sends; zero means 1000. A full queue
	// answers [ErrBusy].
	MailQueue int
	// MailAttempts is how often one mail is tried before it is dropped
	// (and audited as EventMailFailed); zero means 3.
	MailAttempts int
	// MailRetryDelay is the wait before the first retry of a failed mail,
	// doubling after each; zero means 30 seconds.
	MailRetryDelay time.Duration
	// UnsafeMFAWithoutUserFlag lets Config.MFA run on a Users store that is
	// no [UserUpdater]. User.MFAEnabled is then never set, and an MFA
	// enrollment lost from the MFA store turns the second factor off for
	// that account.
	UnsafeMFAWithoutUserFlag bool
}

// Mailer delivers password-reset and email-verification links. The host
// implements it over its mail system; Token must reach only the mailbox.
type Mailer interface {
	// Send delivers one mail. It runs off the request path, in
	// [Auth.RunMailer]; an error makes the mail be retried
	// (Config.MailAttempts).
	Send(ctx context.Context, m Mail) error
}

// Mail is one message for a [Mailer].
type Mail struct {
	To      string // the account's email address
	Purpose string // PurposePasswordReset or PurposeVerifyEmail
	Token   string // the single-use token to put in the link
	Expiry  time.Time
}

// UserUpdater is implemented by user stores that can change an account in
// place (memstore.Users and sqlstore.Users do). It is needed for email
// verification and [Auth.DisableUser].
type UserUpdater interface {
	// UpdateUser applies fn to the stored user atomically; fn must not
	// change ID or Email.
	UpdateUser(ctx context.Context, userID string, fn func(*User)) error
}

// Errors returned by [Auth] methods. Handlers map them to the HTTP
// contract's codes; any other error is a system failure (5xx, fail closed).
var (
	// ErrInvalidCredentials is the one answer for an unknown login, a wrong
	// password and a disabled account (ASVS 6.3.8).
	ErrInvalidCredentials = errors.New("authkit: invalid credentials")
	// ErrInvalidCode is a wrong, replayed or expired MFA code or challenge.
	// It matches mfa.ErrInvalidCode too.
	ErrInvalidCode error = &leafError{"authkit: invalid code", mfa.ErrInvalidCode}
	// ErrInvalidEmail is a sign-up address that is not an email address.
	ErrInvalidEmail = errors.New("authkit: invalid email")
	// ErrReauthRequired means the sign-in is older than Config.RecentAuth.
	ErrReauthRequired = errors.New("authkit: recent sign-in required")
	// ErrInvalidToken is a missing, unknown, expired or spent token. It
	// matches jwt.ErrInvalidToken too.
	ErrInvalidToken error = &leafError{"authkit: invalid token", jwt.ErrInvalidToken}
	// ErrTokenReused is a refresh token presented again: its whole family
	// has been revoked (RFC 9700 §4.14.2). It matches jwt.ErrTokenReused
	// too.
	ErrTokenReused error = &leafError{"authkit: refresh token reused", jwt.ErrTokenReused}
	// ErrMFANotConfigured means Config.MFA is nil.
	ErrMFANotConfigured = errors.New("authkit: MFA is not configured")
	// ErrNotSupported means the configured store lacks an optional method
	// (for example [UserUpdater]).
	ErrNotSupported = errors.New("authkit: not supported by the configured store")
)

// Auth is the login flow: password, optional MFA step, token pair, lockout,
// audit. Create it with [New]; it is safe for concurrent use.
type Auth struct {
	cfg        Config
	users      UserStore
	hasher     *password.Hasher
	policy     *password.Policy
	keys       *jwt.KeySet
	issuer     *jwt.Issuer
	verifier   *jwt.Verifier
	refresh    *jwt.RefreshManager
	notBefore  jwt.NotBeforeStore
	attempts   AttemptStore
	lockout    *Lockout
	mfa        *mfa.MFA
	sessions   *session.Manager
	authn      *middleware.Authenticator
	audit      *Auditor
	now        func() time.Time
	rand       io.Reader
	signup     Tier
	recentAuth time.Duration
	familyLife time.Duration
	accessLife time.Duration
	refreshLif time.Duration
	resetLife  time.Duration
	flow       *flowState
}

// New validates cfg and returns an [Auth]. A rejected cfg gives an error
// wrapping [ErrInvalidConfig] that names every problem at once.
func New(cfg Config) (*Auth, error) {
	var bad []error
	for _, f := range []struct {
		missing bool
		name    string
	}{
		{cfg.Users == nil, "Users"},
		{cfg.Keys == nil, "Keys"},
		{cfg.TokenIssuer == "", "TokenIssuer"},
		{cfg.RefreshStore == nil, "RefreshStore"},
		{cfg.Attempts == nil, "Attempts"},
	} {
		if f.missing {
			bad = append(bad, fmt.Errorf("missing required Config.%s", f.name))
		}
	}
	if (cfg.OneTimeTokens == nil) != (cfg.Mailer == nil) {
		bad = append(bad, errors.New("only one of Config.OneTimeTokens and Config.Mailer is set (both or neither)"))
	}
	if cfg.SignupLimit != (Tier{}) && (cfg.SignupLimit.Max < 1 || cfg.SignupLimit.Window <= 0) {
		bad = append(bad, errors.New("invalid Config.SignupLimit: Max and Window must be positive"))
	}
	if cfg.RecentAuth < 0 || cfg.ResetLifetime < 0 || cfg.ResetLifetime > 24*time.Hour {
		bad = append(bad, errors.New("invalid Config.RecentAuth or Config.ResetLifetime: must be positive (reset at most 24 h)"))
	}
	if len(bad) > 0 {
		return nil, invalidConfig(bad...)
	}
	if cfg.NotBefore == nil {
		cfg.NotBefore = cfg.RefreshStore
	}
	if cfg.Hasher == nil {
		h, err := password.New(password.Config{})
		if err != nil {
			return nil, invalidConfig(err)
		}
		cfg.Hasher = h
	}
	if cfg.PasswordPolicy == nil {
		p, err := password.NewPolicy(password.PolicyConfig{})
		if err != nil {
			return nil, invalidConfig(err)
		}
		cfg.PasswordPolicy = p
	}
	a := &Auth{
		cfg: cfg, users: cfg.Users, hasher: cfg.Hasher, policy: cfg.PasswordPolicy, keys: cfg.Keys,
		notBefore: cfg.NotBefore, attempts: cfg.Attempts, mfa: cfg.MFA, sessions: cfg.Sessions,
		audit: cfg.Audit, now: cfg.Now, rand: cfg.Rand, signup: cfg.SignupLimit,
		recentAuth: cfg.RecentAuth, familyLife: cfg.FamilyLifetime, accessLife: cfg.AccessLifetime,
		refreshLif: cfg.RefreshLifetime, resetLife: cfg.ResetLifetime,
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	if a.audit == nil {
		a.audit = NewAuditor(AuditConfig{Now: a.now})
	}
	if a.signup == (Tier{}) {
		a.signup = Tier{Max: 30, Window: 10 * time.Minute}
	}
	if a.recentAuth == 0 {
		a.recentAuth = 10 * time.Minute
	}
	if a.familyLife == 0 {
		a.familyLife = jwt.DefaultFamilyLifetime
	}
	if a.accessLife == 0 {
		a.accessLife = jwt.DefaultAccessTokenLifetime
	}
	if a.refreshLif == 0 {
		a.refreshLif = jwt.DefaultRefreshLifetime
	}
	if a.resetLife == 0 {
		a.resetLife = 30 * time.Minute
	}
	aud := cfg.Audience
	if len(aud) == 0 {
		aud = []string{cfg.TokenIssuer}
	}
	var err error
	if a.issuer, err = jwt.NewIssuer(jwt.IssuerConfig{Keys: cfg.Keys, Issuer: cfg.TokenIssuer, Audience: aud,
		Lifetime: a.accessLife, Now: a.now, Rand: a.rand}); err != nil {
		return nil, invalidConfig(err)
	}
	if a.verifier, err = jwt.NewVerifier(jwt.VerifierConfig{Keys: cfg.Keys, Issuer: cfg.TokenIssuer, Audience: aud,
		Leeway: cfg.Leeway, NotBefore: cfg.NotBefore, Now: a.now}); err != nil {
		return nil, invalidConfig(err)
	}
	if a.refresh, err = jwt.NewRefreshManager(jwt.RefreshConfig{Store: seenRefreshStore{cfg.RefreshStore}, Lifetime: a.refreshLif,
		FamilyLifetime: a.familyLife, GraceWindow: cfg.RefreshGrace, Now: a.now, Rand: a.rand}); err != nil {
		return nil, invalidConfig(err)
	}
	lc := cfg.Lockout
	lc.Store, lc.Now = cfg.Attempts, a.now
	if a.lockout, err = NewLockout(lc); err != nil {
		return nil, invalidConfig(err)
	}
	if a.authn, err = middleware.NewAuthenticator(middleware.AuthenticatorConfig{
		Verifier: a.verifier,
		// Every refused credential is audited with its reason, never the
		// token (ASVS 16.3.2).
		OnFailure: func(r *http.Request, err error) {
			var reason string
			if ae, ok := errors.AsType[*middleware.AuthError](err); ok {
				reason = ae.Reason
			}
			a.emit(r.Context(), EventAccessDenied, OutcomeFailure, reason, a.ClientOf(r), "", "")
		},
	}); err != nil {
		return nil, invalidConfig(err)
	}
	if err := a.initFlow(); err != nil {
		return nil, err
	}
	return a, nil
}

// Verifier returns the access-token verifier (with the per-user not-before
// check), for the host's own middleware.
func (a *Auth) Verifier() *jwt.Verifier { return a.verifier }

// Authenticator returns middleware that identifies requests by the access
// token in `Authorization: Bearer` or the [AccessCookie] cookie.
func (a *Auth) Authenticator() *middleware.Authenticator { return a.authn }

// Secrets returns Config.Secrets (nil when not set).
func (a *Auth) Secrets() *Secrets { return a.cfg.Secrets }

// KeySet returns the signing keys, e.g. to serve their JWKS.
func (a *Auth) KeySet() *jwt.KeySet { return a.keys }

// Lockout returns the login throttle (for an admin "unlock").
func (a *Auth) Lockout() *Lockout { return a.lockout }

// Client describes the caller of an operation, for throttling and audit.
type Client struct {
	IP        string
	UserAgent string
	// DeviceToken is the device token the client presented (the
	// DeviceCookie), if any; see [Auth.IssueDeviceToken].
	DeviceToken string
}

// ClientOf returns the [Client] of r, using Config.ClientIP when set.
func (a *Auth) ClientOf(r *http.Request) Client {
	c := Client{UserAgent: r.UserAgent(), DeviceToken: DeviceTokenOf(r)}
	if a.cfg.ClientIP != nil {
		if ip, ok := a.cfg.ClientIP.ClientIP(r); ok {
			c.IP = ip.String()
		}
		return c
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	c.IP = host
	return c
}

func (a *Auth) emit(ctx context.Context, t EventType, outcome, reason string, c Client, userID, login string) {
	a.audit.Emit(ctx, Event{Type: t, Outcome: outcome, Reason: reason, UserID: userID, Login: login,
		IP: c.IP, UserAgent: c.UserAgent})
}

func (a *Auth) randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(a.rand, b); err != nil {
		return "", fmt.Errorf("authkit: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (a *Auth) newUserID() (string, error) {
	if a.cfg.NewUserID != nil {
		return a.cfg.NewUserID()
	}
	return a.randomHex(16)
}

func (a *Auth) rolesFor(login string) []string {
	if a.cfg.Roles != nil {
		return a.cfg.Roles(login)
	}
	return []string{"viewer"}
}
