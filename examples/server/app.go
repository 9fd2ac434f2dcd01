package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/rbac"
	"github.com/authkit-go/authkit/session"
)

// Options configure the example server. The command-line flags fill most of
// them; the rest are seams for tests.
type Options struct {
	Addr             string
	Store            string
	Users            string
	AdminEmail       string
	ImportFile       string
	HIBP             bool
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	TLSCert, TLSKey  string
	KeyDir           string
	// RPID is the WebAuthn relying party id passkeys are scoped to: a
	// domain ("example.com", or "localhost" for development), never an IP
	// address. Empty means "localhost".
	RPID string
	// Origins are the exact origins the UI's passkey ceremonies run from.
	// Empty means one derived from BaseURL with RPID as its host:
	// http://localhost:8080 for the default BaseURL http://127.0.0.1:8080.
	Origins []string

	// BaseURL is the server's own origin (scheme://host:port). It is the
	// access tokens' issuer and the base of the OIDC redirect URI.
	BaseURL string
	// Logger receives audit events and errors; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock of every component; nil means time.Now.
	Now func() time.Time
	// PasswordParams override the argon2id parameters of new hashes (tests
	// use cheap ones); nil means the OWASP defaults.
	PasswordParams *password.Params
	// RedisPrefix is the key prefix of -store redis:URL; empty means
	// redisstore's default ("authkit:"). Tests use a prefix of their own.
	RedisPrefix string
	// PurgeInterval is how often memory mode drops expired records; zero
	// means a minute.
	PurgeInterval time.Duration
	// HTTPClient is used for OIDC discovery and provider calls; nil means
	// a client with a 10 s timeout.
	HTTPClient *http.Client
}

// Audience is the "aud" of the example's access tokens; the resource server
// expects it.
const Audience = "authkit-example"

// App is the wired example server.
type App struct {
	opts      Options
	now       func() time.Time
	log       *slog.Logger
	started   time.Time
	tls       bool
	st        *stores
	accounts  accountStore
	usersDesc string
	keys      *jwt.KeySet
	sec       *authkit.Secrets
	csrfKey   []byte
	hasher    *password.Hasher
	// importedBcryptCost is password.Config.ImportedBcryptCost (0: none).
	importedBcryptCost int
	policy             *password.Policy
	auth               *authkit.Auth
	verifier           *jwt.Verifier
	sessions           *session.Manager
	mfa                *mfa.MFA
	authz              *rbac.Authorizer
	audit              *authkit.Auditor
	clientIP           *middleware.ClientIPResolver
	stepUp             *middleware.StepUp
	passkeys           *passkey.Passkeys
	rpID               string
	origins            []string

	oidc    *oidcLogin
	handler http.Handler
	closers []func() error
}

// NewApp builds the server from opts: stores, keys, the leaf packages, the
// root login flow and the routes. On error, whatever it had opened is closed
// again and the error names the cause.
func NewApp(ctx context.Context, opts Options) (_ *App, err error) {
	if opts.BaseURL == "" {
		return nil, errors.New("BaseURL is required")
	}
	base, err := url.Parse(opts.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("invalid BaseURL %q", opts.BaseURL)
	}
	a := &App{opts: opts, now: opts.Now, log: opts.Logger, tls: base.Scheme == "https"}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.started = a.now()
	defer func() {
		if err != nil {
			// The returned App is nil on error: close the one being built.
			if cerr := a.Close(); cerr != nil {
				a.log.Warn("closing after a start-up failure", "err", cerr)
			}
		}
	}()

	if a.st, err = openStores(ctx, opts.Store, opts.RedisPrefix, opts.PurgeInterval, a.now, a.log); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.st.close)
	if a.accounts, a.usersDesc, err = openAccounts(ctx, opts.Users, a.st.memory); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.accounts.Close)

	keyDir := opts.KeyDir
	if keyDir == "" && !a.st.memory {
		keyDir = "authkit-keys"
	}
	if a.keys, a.sec, err = loadKeys(ctx, keyDir); err != nil {
		return nil, err
	}

	a.csrfKey = a.sec.Key(authkit.LabelCSRF)

	// Imported bcrypt hashes are wrapped in argon2id at import; while they
	// remain, every login also pays one bcrypt at their cost, so a failed
	// login does not tell imported accounts from the others by its time
	// (see the password package's "Imported hashes").
	var imp *importFile
	if opts.ImportFile != "" {
		if imp, err = readImportFile(opts.ImportFile); err != nil {
			return nil, fmt.Errorf("-import %s: %w", opts.ImportFile, err)
		}
	}
	hcfg := password.Config{}
	if imp != nil {
		hcfg.ImportedBcryptCost = imp.bcryptCost
	}
	if opts.PasswordParams != nil {
		hcfg.Params, hcfg.InsecureAllowWeakParams = *opts.PasswordParams, true
	}
	if a.hasher, err = password.New(hcfg); err != nil {
		return nil, err
	}
	a.importedBcryptCost = hcfg.ImportedBcryptCost
	if imp != nil {
		n, err := importUsers(ctx, a.accounts, a.hasher, imp, a.now())
		if err != nil {
			return nil, fmt.Errorf("-import %s: %w", opts.ImportFile, err)
		}
		a.log.Info("imported users", "file", opts.ImportFile, "created", n, "bcrypt_cost", imp.bcryptCost)
	}
	pcfg := password.PolicyConfig{ContextWords: []string{"authkit", "example"}}
	if opts.HIBP {
		hibp, err := password.NewHIBP(password.HIBPConfig{UserAgent: "authkit-example-server"})
		if err != nil {
			return nil, err
		}
		pcfg.Breached = hibp
	}
	if a.policy, err = password.NewPolicy(pcfg); err != nil {
		return nil, err
	}

	if a.clientIP, err = middleware.NewClientIPResolver(middleware.ClientIPResolverConfig{}); err != nil {
		return nil, err
	}
	if a.sessions, err = session.New(session.Config{
		Store:     a.st.sessions,
		Now:       a.now,
		ErrorFunc: a.sessionError,
		ClientIP:  a.clientIP.ClientIP,
	}); err != nil {
		return nil, err
	}

	box, err := a.sec.MFASecretBox()
	if err != nil {
		return nil, err
	}
	if a.mfa, err = mfa.New(mfa.Config{
		Issuer: "authkit example", Store: a.st.mfa, Replay: a.st.replay, Tickets: a.st.tickets,
		Throttle: a.st.attempts, Box: box, BackupKey: a.sec.MFABackupKey(), PreviousBackupKeys: a.sec.MFAPreviousBackupKeys(), Now: a.now,
	}); err != nil {
		return nil, err
	}
	if a.authz, err = newPolicy(); err != nil {
		return nil, err
	}
	a.audit = authkit.NewAuditor(authkit.AuditConfig{Logger: a.log, Now: a.now})
	if a.passkeys, err = a.newPasskeys(base); err != nil {
		return nil, err
	}

	if a.auth, err = authkit.New(authkit.Config{
		Users: a.accounts, Hasher: a.hasher, PasswordPolicy: a.policy, Keys: a.keys,
		Secrets: a.sec, DeviceKey: a.sec.Key(authkit.LabelDeviceCookie),
		TokenIssuer: opts.BaseURL, Audience: []string{Audience}, Leeway: 30 * time.Second,
		RefreshStore: a.st.refresh, NotBefore: a.st.notBefore, Attempts: a.st.attempts,
		MFA: a.mfa, Sessions: a.sessions, Roles: a.rolesFor, NewUserID: newUserID,
		ClientIP: a.clientIP, Audit: a.audit, MaxBodyBytes: 64 << 10, Now: a.now,
		Passkeys: a.passkeys,
	}); err != nil {
		return nil, err
	}
	a.verifier = a.auth.Verifier()
	if a.stepUp, err = a.newStepUp(); err != nil {
		return nil, err
	}
	authHandler := a.auth.Handler()
	if opts.OIDCIssuer != "" {
		if a.oidc, err = a.newOIDC(ctx); err != nil {
			return nil, err
		}
	}
	if a.handler, err = a.routes(authHandler); err != nil {
		return nil, err
	}
	return a, nil
}

// newPasskeys configures WebAuthn: the relying party id and origins from
// Options (see -rp-id and -origin), credentials and ceremony tickets in the
// -store backend.
func (a *App) newPasskeys(base *url.URL) (*passkey.Passkeys, error) {
	a.rpID = a.opts.RPID
	if a.rpID == "" {
		a.rpID = "localhost"
	}
	a.origins = a.opts.Origins
	if len(a.origins) == 0 {
		a.origins = []string{defaultOrigin(base, a.rpID)}
	}
	p, err := passkey.New(passkey.Config{
		RPID: a.rpID, RPDisplayName: "authkit example", Origins: a.origins,
		Credentials: a.st.passkeys, Tickets: a.st.tickets, Now: a.now,
		// From the server secret, so every instance derives the same
		// user handle for a user's first passkey.
		UserHandleKey: a.sec.PasskeyUserHandleKey(),
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys (-rp-id %q, -origin %q): %w", a.rpID, strings.Join(a.origins, ","), err)
	}
	return p, nil
}

// defaultOrigin is the origin a browser shows for the server at base when
// it is opened by the name rpID: same scheme and port (the default port of
// the scheme is left out, as browsers do).
func defaultOrigin(base *url.URL, rpID string) string {
	host := rpID
	if port := base.Port(); port != "" && !(base.Scheme == "http" && port == "80") && !(base.Scheme == "https" && port == "443") {
		host = net.JoinHostPort(rpID, port)
	}
	return base.Scheme + "://" + host
}

// PasskeyOrigins returns the origins passkey ceremonies are accepted from.
func (a *App) PasskeyOrigins() []string { return a.origins }

// sessionError answers a request whose session could not be loaded: a
// revoked session signs in again; a failing session store is 503 with
// Retry-After (JSON under /auth/, a plain page for the UI), never 500.
func (a *App) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, session.ErrRevoked) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	a.log.Error("session store", "path", r.URL.Path, "err", err)
	if strings.HasPrefix(r.URL.Path, "/auth/") && r.URL.Path != signOutPath {
		middleware.WriteUnavailable(w, 0)
		return
	}
	writeUnavailablePage(w)
}

// rolesFor decides the roles of a new local account: admin for -admin-email,
// viewer for everyone else.
func (a *App) rolesFor(login string) []string {
	if a.opts.AdminEmail != "" {
		if admin, ok := authkit.CanonicalLogin(a.opts.AdminEmail); ok && admin == login {
			return []string{roleAdmin}
		}
	}
	return []string{roleViewer}
}

// Handler returns the server's root handler.
func (a *App) Handler() http.Handler { return a.handler }

// KeyID returns the kid of the active signing key.
func (a *App) KeyID() string { return a.keys.Active().ID() }

// KeyAlg returns the algorithm of the active signing key.
func (a *App) KeyAlg() jwt.Algorithm { return a.keys.Active().Algorithm() }

// InMemory reports whether data is lost on exit.
func (a *App) InMemory() bool { return a.st.memory || a.usersDesc == "memory" }

// StoreDesc describes the -store backend.
func (a *App) StoreDesc() string { return a.st.desc }

// UsersDesc describes the -users backend.
func (a *App) UsersDesc() string { return a.usersDesc }

// Close releases the stores and the OIDC key refresher.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}
