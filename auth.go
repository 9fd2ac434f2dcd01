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
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/password"
)

// Auth is the login flow: password, optional MFA step, token pair, lockout,
// audit. Create it with [New]; it is safe for concurrent use.
type Auth struct {
	cfg      Config // as given, with every default applied; never copied elsewhere
	issuer   *jwt.Issuer
	verifier *jwt.Verifier
	refresh  *jwt.RefreshManager
	lockout  *Lockout
	authn    *middleware.Authenticator
	mail     *mailQueue
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
	if (cfg.Tickets == nil) != (cfg.Mailer == nil) {
		bad = append(bad, errors.New("only one of Config.Tickets and Config.Mailer is set (both or neither)"))
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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Audit == nil {
		cfg.Audit = NewAuditor(AuditConfig{Now: cfg.Now})
	}
	if cfg.SignupLimit == (Tier{}) {
		cfg.SignupLimit = Tier{Max: 30, Window: 10 * time.Minute}
	}
	if cfg.RecentAuth == 0 {
		cfg.RecentAuth = 10 * time.Minute
	}
	if cfg.FamilyLifetime == 0 {
		cfg.FamilyLifetime = jwt.DefaultFamilyLifetime
	}
	if cfg.AccessLifetime == 0 {
		cfg.AccessLifetime = jwt.DefaultAccessTokenLifetime
	}
	if cfg.RefreshLifetime == 0 {
		cfg.RefreshLifetime = jwt.DefaultRefreshLifetime
	}
	if cfg.ResetLifetime == 0 {
		cfg.ResetLifetime = 30 * time.Minute
	}
	a := &Auth{cfg: cfg}
	aud := cfg.Audience
	if len(aud) == 0 {
		aud = []string{cfg.TokenIssuer}
	}
	var err error
	if a.issuer, err = jwt.NewIssuer(jwt.IssuerConfig{Keys: cfg.Keys, Issuer: cfg.TokenIssuer, Audience: aud,
		Lifetime: a.cfg.AccessLifetime, Now: a.cfg.Now, Rand: a.cfg.Rand}); err != nil {
		return nil, invalidConfig(err)
	}
	if a.verifier, err = jwt.NewVerifier(jwt.VerifierConfig{Keys: cfg.Keys, Issuer: cfg.TokenIssuer, Audience: aud,
		Leeway: cfg.Leeway, NotBefore: cfg.NotBefore, Now: a.cfg.Now}); err != nil {
		return nil, invalidConfig(err)
	}
	if a.refresh, err = jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: seenRefreshStore{cfg.RefreshStore}, Lifetime: a.cfg.RefreshLifetime,
		FamilyLifetime: a.cfg.FamilyLifetime, GraceWindow: cfg.RefreshGrace, Now: a.cfg.Now, Rand: a.cfg.Rand}); err != nil {
		return nil, invalidConfig(err)
	}
	lc := cfg.Lockout
	lc.Store, lc.Now = cfg.Attempts, a.cfg.Now
	if a.lockout, err = NewLockout(lc); err != nil {
		return nil, err // already wraps ErrInvalidConfig
	}
	if a.authn, err = middleware.NewAuthenticator(middleware.AuthenticatorConfig{
		Verifier: a.verifier,
		// Every refused credential is audited with its reason, never the
		// token (ASVS 16.3.2).
		OnDeny: func(r *http.Request, err error) {
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
func (a *Auth) KeySet() *jwt.KeySet { return a.cfg.Keys }

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
	a.cfg.Audit.Emit(ctx, Event{Type: t, Outcome: outcome, Reason: reason, UserID: userID, Login: login,
		IP: c.IP, UserAgent: c.UserAgent})
}

func (a *Auth) randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(a.cfg.Rand, b); err != nil {
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
