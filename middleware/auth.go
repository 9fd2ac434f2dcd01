package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/rbac"
	"github.com/authkit-go/authkit/session"
)

// Source names where a credential comes from. The built-in sources are
// [SourceBearer], [SourceCookie] and [SourceSession]; an [Extractor] adds
// a source of its own name. The source that authenticated a request is
// recorded as [Principal.Method].
type Source string

// Built-in credential sources, in their default order.
const (
	// SourceBearer is an access token in `Authorization: Bearer <token>`
	// (RFC 6750 §2.1).
	SourceBearer Source = "bearer"
	// SourceCookie is an access token in an access-token cookie
	// ([AuthenticatorConfig.CookieNames], default [AccessCookie]).
	SourceCookie Source = "cookie"
	// SourceSession is a server-side session loaded by
	// [session.Manager.LoadAndSave], which must run before the
	// Authenticator's middleware.
	SourceSession Source = "session"
)

// Reasons carried by [AuthError] (and so seen by
// [AuthenticatorConfig.OnDeny] and [AuthenticatorConfig.Deny]). They
// name the kind of failure only: never the token.
const (
	ReasonMissing         = "missing"          // no source found a credential
	ReasonMalformedHeader = "malformed_header" // Authorization present but not "Bearer <token>"
	ReasonInvalidToken    = "invalid_token"    // bad signature, issuer, audience, type, format...
	ReasonExpired         = "expired"          // the access token's exp has passed
	ReasonRevoked         = "revoked"          // issued before the user's not-before (logout-all, password change)
	ReasonMFAPending      = "mfa_pending"      // the session passed the password step only
	ReasonDuplicateCookie = "duplicate_cookie" // one access-token cookie name with two values (a planted cookie)
)

// Errors returned by [Authenticator.Authenticate].
var (
	// ErrUnauthenticated is satisfied by every client-side authentication
	// failure: no credential, or one that is invalid, expired, revoked or
	// incomplete. The concrete error is an [*AuthError].
	ErrUnauthenticated = errors.New("middleware: unauthenticated")
	// ErrNoCredentials is satisfied (with ErrUnauthenticated) when no
	// source found any credential: the request is anonymous.
	ErrNoCredentials = errors.New("middleware: no credentials")
	// ErrNoSessionMiddleware reports that [SourceSession] is configured but
	// the request carries no session: [session.Manager.LoadAndSave] did not
	// run first. It is a server misconfiguration (500), never anonymous.
	ErrNoSessionMiddleware = errors.New("middleware: session middleware did not run before the authenticator")
)

// AuthError is a client-side authentication failure. Reason is one of the
// Reason constants; Source is the source that presented the failing
// credential ("" for [ReasonMissing]); Err is the underlying cause (for
// example a jwt error) for logs. errors.Is(err, ErrUnauthenticated) holds.
// Never send Error() to a client.
type AuthError struct {
	Reason string
	Source Source
	Err    error
}

// Error implements error.
func (e *AuthError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("middleware: unauthenticated (%s, source %q): %v", e.Reason, e.Source, e.Err)
	}
	return fmt.Sprintf("middleware: unauthenticated (%s, source %q)", e.Reason, e.Source)
}

// Unwrap returns ErrUnauthenticated, ErrNoCredentials for a missing
// credential, and the cause.
func (e *AuthError) Unwrap() []error {
	errs := []error{ErrUnauthenticated}
	if e.Reason == ReasonMissing {
		errs = append(errs, ErrNoCredentials)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Principal is the authenticated caller of a request.
type Principal struct {
	Subject string // user id
	// Roles are the global rbac roles: from the access token for token
	// sources, from [AuthenticatorConfig.Roles] for sessions.
	Roles []string
	// Tenant is the tenant the request acts in, from
	// [AuthenticatorConfig.Tenant]; "" for none. [RequirePermission] and [RequireObject] check in it.
	Tenant string
	// TenantRoles are the roles Subject holds in Tenant only, from
	// [AuthenticatorConfig.TenantRoles]; empty when Tenant is "".
	TenantRoles []string
	// Method is the [Source] that authenticated the request: "bearer",
	// "cookie", "session", or a custom [Extractor]'s name.
	Method   string
	AuthTime time.Time // last interactive authentication (auth_time); zero if unknown
	// AMR lists the authentication methods of that sign-in (amr, RFC
	// 8176): the token's amr claim; for sessions "pwd", plus "mfa" once
	// the session's MFA step is done.
	AMR []string
	// ACR is the authentication context class of that sign-in (acr, RFC
	// 9068 §2.2.1) when the credential states one (the token's acr
	// claim); "" otherwise, and [StepUp] derives it from AMR. Refreshing
	// a token changes neither AuthTime nor ACR.
	ACR string
	// MFA reports that the MFA step was completed (amr contains "otp" or
	// "mfa", or the session's MFA time is set).
	MFA bool
	// Claims are the verified access-token claims; nil for sessions.
	Claims *jwt.Claims
}

// ctxKey is the context key type; a non-zero-size struct so that pointers to
// distinct keys never compare equal (net/http's contextKey pattern).
type ctxKey struct{ name string }

var principalKey = &ctxKey{"principal"}

// principalCtx carries the Principal, its claims and the rbac subject in a
// single allocation (instead of a context.WithValue node plus a boxed
// Principal plus the claims).
type principalCtx struct {
	context.Context
	p         Principal
	claims    jwt.Claims
	tenantMap map[string][]string // rbac.Subject.TenantRoles, built once; nil without tenant roles
}

// subject returns the rbac subject of the Principal (no allocation).
func (c *principalCtx) subject() rbac.Subject {
	return rbac.Subject{ID: c.p.Subject, Roles: c.p.Roles, TenantRoles: c.tenantMap}
}

func (c *principalCtx) Value(key any) any {
	if key == principalKey {
		return c
	}
	return c.Context.Value(key)
}

func (c *principalCtx) String() string { return "middleware.principalCtx" }

func newPrincipalCtx(parent context.Context, p Principal, claims *jwt.Claims) *principalCtx {
	pc := &principalCtx{Context: parent, p: p}
	if claims != nil {
		pc.claims = *claims
		pc.p.Claims = &pc.claims
	}
	if p.Tenant != "" && len(p.TenantRoles) > 0 {
		pc.tenantMap = map[string][]string{p.Tenant: p.TenantRoles}
	}
	return pc
}

// NewContext returns a copy of ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return newPrincipalCtx(ctx, p, nil)
}

// FromContext returns the Principal stored by [Authenticator.RequireAuth],
// [Authenticator.Identify] or [NewContext], if any.
func FromContext(ctx context.Context) (Principal, bool) {
	if pc := principalFrom(ctx); pc != nil {
		return pc.p, true
	}
	return Principal{}, false
}

func principalFrom(ctx context.Context) *principalCtx {
	pc, _ := ctx.Value(principalKey).(*principalCtx)
	return pc
}

// Extractor is a custom access-token source, for tokens carried somewhere
// other than the bearer header or the access-token cookie (for example a
// query parameter of a WebSocket upgrade). Its token is verified by
// [AuthenticatorConfig.Verifier] like the built-in token sources.
type Extractor struct {
	// Source names the extractor in [AuthenticatorConfig.Order] and becomes
	// [Principal.Method]. Required; must differ from the built-in names.
	Source Source
	// Extract returns the token the request carries for this source.
	// ok false means "no credential here": the next source is tried.
	// ok true means the request presented a credential, which then
	// decides; an empty token with ok true is an invalid credential.
	Extract func(r *http.Request) (token string, ok bool)
}

// AuthenticatorConfig configures [NewAuthenticator]. Zero fields take the
// documented defaults. The functions are called concurrently, once per request, and
// must be safe for concurrent use.
type AuthenticatorConfig struct {
	// Verifier verifies access tokens. Required when Order contains a token
	// source ([SourceBearer], [SourceCookie] or an Extractor), which is
	// always the case for the default order.
	Verifier *jwt.Verifier
	// CookieNames are the access-token cookie names of [SourceCookie], in
	// order of preference: the first name the request carries decides, and
	// a name carried twice with different values is refused with 401
	// ([ReasonDuplicateCookie]; the default Deny then clears it, see
	// [ClearTokenCookies]). Default [AccessCookie] only: a plain cookie
	// can be planted by a sibling subdomain and would be the one sent
	// whenever the __Host- cookie is absent (signed out, or expired with
	// the access token), signing the user into the planter's account. A
	// host that still issues [LegacyAccessCookie] lists it after
	// AccessCookie, which then still outranks it.
	CookieNames []string

	// Sessions enables [SourceSession]. The Authenticator reads the session
	// that Sessions.LoadAndSave put in the request context, so that
	// middleware must wrap the Authenticator's:
	//
	//	sessions.LoadAndSave(authn.RequireAuth(h))
	//
	// A request reaching the Authenticator without a session answers 500
	// ([ErrNoSessionMiddleware]), never anonymous. A session with a user
	// (Session.UserID) yields a Principal with Method "session", AuthTime
	// from Session.AuthTime, AMR from Session.AMR (for a sign-in that
	// recorded no methods: "pwd", plus "mfa" after the MFA step) and MFA
	// from Session.MFATime; a session whose
	// MFA step is pending (Manager.BeginMFA) is refused with 401
	// (ReasonMFAPending).
	Sessions *session.Manager
	// Roles returns the global roles of a session's user, read per request
	// so that a role change applies at once (ASVS 8.3.2). nil means session
	// principals have no roles. An error fails the request closed with
	// [AuthenticatorConfig.ErrorFunc] (default 503), never anonymous.
	// Token principals take their roles from the token.
	Roles func(ctx context.Context, subject string) ([]string, error)

	// Order is the order in which sources are tried. The first source that
	// finds a credential decides: a present but invalid credential is
	// refused even if a later source would succeed, so a request is never
	// authenticated as someone other than what its first credential says.
	// Default: [SourceBearer], [SourceCookie], then [SourceSession] when
	// Sessions is set, then the Extractors in their order. Every name must
	// be known and appear once; every Extractor must be listed when Order
	// is set. With the session package's bearer transport, list
	// SourceSession before SourceBearer (or leave SourceBearer out): a
	// session token in the Authorization header is not a JWT.
	Order []Source
	// Extractors are custom token sources (see [Extractor]).
	Extractors []Extractor

	// Tenant returns the tenant the request acts in (from the host name,
	// a path segment, a header...), recorded as [Principal.Tenant]; nil
	// or "" means none. The tenant is a selector, not a grant: permissions
	// in it come only from TenantRoles (and global roles).
	Tenant func(r *http.Request) string
	// TenantRoles returns the roles subject holds in tenant only (ASVS
	// 8.4.1); [rbac.Store.RolesOf] fits. Called when Tenant returns a
	// non-empty tenant; nil means no tenant roles. An error fails closed
	// like Roles.
	TenantRoles func(ctx context.Context, subject, tenant string) ([]string, error)

	// OnDeny is the audit hook called for every 401 written, with the
	// [*AuthError] (its Reason says what failed; ASVS 16.3.1). It never
	// receives the credential. An anonymous request passed by Identify is
	// not a failure.
	OnDeny AuditFunc
	// Deny writes the 401 response; err is the [*AuthError]. The default
	// writes {"error":"unauthenticated"} with `WWW-Authenticate: Bearer`,
	// plus error="invalid_token" when a bearer token was presented (RFC
	// 6750 §3.1), and clears planted token cookies (see [AccessCookie]). A
	// browser UI might redirect to its login page instead. When a bearer
	// token was refused, the `WWW-Authenticate: Bearer
	// error="invalid_token"` header is already set when Deny runs, and
	// so are the Set-Cookie headers that clear duplicated token cookies.
	Deny DenyFunc
	// ErrorFunc answers a request whose authentication could not be decided
	// because of a system failure: a not-before store, session store or
	// roles lookup error, or [ErrNoSessionMiddleware]. The request is never
	// passed on. The default writes 500 {"error":"internal_error"} for
	// ErrNoSessionMiddleware and 503 {"error":"unavailable"} (with
	// Retry-After) otherwise.
	ErrorFunc DenyFunc
}

// tokenVerifier is what the Authenticator needs of a [*jwt.Verifier].
type tokenVerifier interface {
	Verify(ctx context.Context, token string) (jwt.Claims, error)
}

type source struct {
	name    Source
	kind    Source // SourceBearer, SourceCookie, SourceSession, or "" for an extractor
	extract func(*http.Request) (string, bool)
}

// Authenticator identifies requests from the configured sources (by
// default an `Authorization: Bearer` access token, RFC 6750 §2.1, then the
// access-token cookie, then the session) and puts a [Principal] in the
// request context. It is immutable after [NewAuthenticator] and safe for
// concurrent use.
type Authenticator struct {
	v           tokenVerifier // nil when no token source is configured
	cookies     []string
	sources     []source
	roles       func(context.Context, string) ([]string, error)
	tenant      func(*http.Request) string
	tenantRoles func(context.Context, string, string) ([]string, error)
	onDeny      AuditFunc
	deny        DenyFunc
	errorFunc   DenyFunc
}

// NewAuthenticator validates cfg and returns an Authenticator. Its errors
// satisfy errors.Is(err, [ErrInvalidConfig]).
func NewAuthenticator(cfg AuthenticatorConfig) (*Authenticator, error) {
	v, err := newAuthenticator(cfg)
	if err != nil {
		return nil, invalidConfig(err)
	}
	return v, nil
}

func newAuthenticator(cfg AuthenticatorConfig) (*Authenticator, error) {
	a := &Authenticator{cookies: slices.Clone(cfg.CookieNames), roles: cfg.Roles, tenant: cfg.Tenant,
		tenantRoles: cfg.TenantRoles, onDeny: cfg.OnDeny, deny: cfg.Deny, errorFunc: cfg.ErrorFunc}
	if len(a.cookies) == 0 {
		a.cookies = []string{AccessCookie}
	}
	for _, c := range a.cookies {
		if !validCookieName(c) {
			return nil, fmt.Errorf("middleware: AuthenticatorConfig.CookieNames: %q is not a valid cookie name", c)
		}
	}
	custom := make(map[Source]Extractor, len(cfg.Extractors))
	for _, e := range cfg.Extractors {
		switch {
		case e.Source == "":
			return nil, errors.New("middleware: Extractor.Source is required")
		case e.Source == SourceBearer || e.Source == SourceCookie || e.Source == SourceSession:
			return nil, fmt.Errorf("middleware: Extractor.Source %q is a built-in source name", e.Source)
		case e.Extract == nil:
			return nil, fmt.Errorf("middleware: Extractor %q has no Extract func", e.Source)
		}
		if _, dup := custom[e.Source]; dup {
			return nil, fmt.Errorf("middleware: duplicate Extractor %q", e.Source)
		}
		custom[e.Source] = e
	}
	order := cfg.Order
	if len(order) == 0 {
		order = []Source{SourceBearer, SourceCookie}
		if cfg.Sessions != nil {
			order = append(order, SourceSession)
		}
		for _, e := range cfg.Extractors {
			order = append(order, e.Source)
		}
	}
	seen := make(map[Source]bool, len(order))
	needVerifier := false
	for _, s := range order {
		if seen[s] {
			return nil, fmt.Errorf("middleware: AuthenticatorConfig.Order lists %q twice", s)
		}
		seen[s] = true
		switch s {
		case SourceBearer, SourceCookie:
			needVerifier = true
			a.sources = append(a.sources, source{name: s, kind: s})
		case SourceSession:
			if cfg.Sessions == nil {
				return nil, errors.New("middleware: AuthenticatorConfig.Order lists the session source but Sessions is nil")
			}
			a.sources = append(a.sources, source{name: s, kind: s})
		default:
			e, ok := custom[s]
			if !ok {
				return nil, fmt.Errorf("middleware: AuthenticatorConfig.Order lists unknown source %q", s)
			}
			needVerifier = true
			a.sources = append(a.sources, source{name: s, extract: e.Extract})
		}
	}
	for name := range custom {
		if !seen[name] {
			return nil, fmt.Errorf("middleware: Extractor %q is not listed in AuthenticatorConfig.Order", name)
		}
	}
	if cfg.Verifier != nil {
		a.v = cfg.Verifier
	}
	if needVerifier && a.v == nil {
		return nil, errors.New("middleware: AuthenticatorConfig.Verifier is required")
	}
	if a.deny == nil {
		a.deny = defaultAuthDeny
	}
	if a.errorFunc == nil {
		a.errorFunc = defaultAuthError
	}
	return a, nil
}

// Authenticate is the pure check behind the middleware: it identifies r
// without writing a response. On success it returns the Principal. An error
// satisfying [ErrUnauthenticated] is an [*AuthError] (a 401; additionally
// [ErrNoCredentials] when the request is anonymous); any other error is a
// system failure (fail closed).
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	var res authResult
	if err := a.authenticate(r, &res); err != nil {
		return Principal{}, err
	}
	p := res.p
	if res.hasClaims {
		cl := res.claims
		p.Claims = &cl
	}
	return p, nil
}

type authResult struct {
	p         Principal
	claims    jwt.Claims
	hasClaims bool
}

func (a *Authenticator) authenticate(r *http.Request, res *authResult) error {
	ctx := r.Context()
	for i := range a.sources {
		s := &a.sources[i]
		var tok string
		switch s.kind {
		case SourceBearer:
			h := r.Header.Get("Authorization")
			if h == "" {
				continue
			}
			scheme, rest, ok := strings.Cut(h, " ")
			rest = strings.TrimSpace(rest)
			if !ok || !strings.EqualFold(scheme, "Bearer") || rest == "" {
				return &AuthError{Reason: ReasonMalformedHeader, Source: SourceBearer}
			}
			tok = rest
		case SourceCookie:
			v, _, err := TokenCookie(r, a.cookies...)
			if err != nil {
				return &AuthError{Reason: ReasonDuplicateCookie, Source: SourceCookie, Err: err}
			}
			if v == "" {
				continue
			}
			tok = v
		case SourceSession:
			done, err := a.fromSession(ctx, res)
			if err != nil {
				return err
			}
			if !done {
				continue
			}
			return a.finish(r, res)
		default:
			t, ok := s.extract(r)
			if !ok {
				continue
			}
			if t == "" {
				return &AuthError{Reason: ReasonInvalidToken, Source: s.name}
			}
			tok = t
		}
		cl, err := a.v.Verify(ctx, tok)
		if err != nil {
			if !errors.Is(err, jwt.ErrInvalidToken) {
				return err // not-before store failure: fail closed
			}
			reason := ReasonInvalidToken
			switch {
			case errors.Is(err, jwt.ErrRevoked):
				reason = ReasonRevoked
			case errors.Is(err, jwt.ErrExpired):
				reason = ReasonExpired
			}
			return &AuthError{Reason: reason, Source: s.name, Err: err}
		}
		res.claims, res.hasClaims = cl, true
		res.p = Principal{Subject: cl.Subject, Roles: cl.Roles, Method: string(s.name), AuthTime: cl.AuthTime,
			AMR: cl.AMR, ACR: cl.ACR, MFA: cl.HasAMR("otp") || cl.HasAMR("mfa")}
		return a.finish(r, res)
	}
	return &AuthError{Reason: ReasonMissing}
}

// sessionAMR is the amr of a session's sign-in: the methods it recorded
// (session.Manager.SignIn or RenewSignIn), else, for a sign-in that
// recorded none (session.Manager.Login, CompleteMFA), a password plus "mfa"
// when the MFA step was done.
func sessionAMR(s *session.Session, mfa bool) []string {
	if amr := s.AMR(); len(amr) > 0 {
		return amr
	}
	if mfa {
		return []string{"pwd", "mfa"}
	}
	return []string{"pwd"}
}

// fromSession fills res from the request's session. done is false when the
// session is anonymous (no credential from this source).
func (a *Authenticator) fromSession(ctx context.Context, res *authResult) (done bool, err error) {
	s, ok := session.FromContext(ctx)
	if !ok {
		return false, ErrNoSessionMiddleware
	}
	uid := s.UserID()
	if uid == "" {
		if s.PendingUserID() != "" {
			return false, &AuthError{Reason: ReasonMFAPending, Source: SourceSession}
		}
		return false, nil
	}
	mfa := !s.MFATime().IsZero()
	res.p = Principal{Subject: uid, Method: string(SourceSession), AuthTime: s.AuthTime(), AMR: sessionAMR(s, mfa), MFA: mfa}
	if a.roles != nil {
		roles, err := a.roles(ctx, uid)
		if err != nil {
			return false, fmt.Errorf("middleware: roles of session user: %w", err)
		}
		res.p.Roles = roles
	}
	return true, nil
}

// finish adds the tenant and its roles.
func (a *Authenticator) finish(r *http.Request, res *authResult) error {
	if a.tenant == nil {
		return nil
	}
	t := a.tenant(r)
	if t == "" {
		return nil
	}
	res.p.Tenant = t
	if a.tenantRoles != nil {
		roles, err := a.tenantRoles(r.Context(), res.p.Subject, t)
		if err != nil {
			return fmt.Errorf("middleware: tenant roles: %w", err)
		}
		res.p.TenantRoles = roles
	}
	return nil
}

func (a *Authenticator) serve(w http.ResponseWriter, r *http.Request, next http.Handler, allowAnonymous bool) {
	var res authResult
	err := a.authenticate(r, &res)
	if err == nil {
		var cl *jwt.Claims
		if res.hasClaims {
			cl = &res.claims
		}
		next.ServeHTTP(w, r.WithContext(newPrincipalCtx(r.Context(), res.p, cl)))
		return
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		a.errorFunc(w, r, err)
		return
	}
	if allowAnonymous && (ae.Reason == ReasonMissing || ae.Reason == ReasonMFAPending) {
		next.ServeHTTP(w, r)
		return
	}
	if a.onDeny != nil {
		a.onDeny(r, ae)
	}
	if ae.Source == SourceBearer {
		// RFC 6750 §3.1: tell the client that its bearer token was refused.
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	if ae.Reason == ReasonDuplicateCookie {
		ClearTokenCookies(w, r, "/", a.cookies...)
	}
	a.deny(w, r, ae)
}

// RequireAuth identifies and enforces in one step: without valid
// credentials it answers 401 {"error":"unauthenticated"} with
// `WWW-Authenticate: Bearer` (plus error="invalid_token" when a bearer token
// was presented, RFC 6750 §3.1), or the [AuthenticatorConfig.Deny] response; a system
// failure (not-before store, session store, roles lookup) goes to
// [AuthenticatorConfig.ErrorFunc] (503 by default) and never passes the request as
// anonymous. A session whose MFA step is pending is refused.
func (a *Authenticator) RequireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.serve(w, r, next, false)
	})
}

// Identify puts a Principal in the context when valid credentials are
// presented and passes anonymous requests (no credentials, or a session
// whose MFA step is pending) through explicitly, without a Principal.
// Invalid credentials still get 401, and a system failure the ErrorFunc
// response (503 by default).
func (a *Authenticator) Identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.serve(w, r, next, true)
	})
}

func defaultAuthDeny(w http.ResponseWriter, _ *http.Request, _ error) {
	if w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	WriteError(w, http.StatusUnauthorized, CodeUnauthenticated)
}

func defaultAuthError(w http.ResponseWriter, _ *http.Request, err error) {
	if errors.Is(err, ErrNoSessionMiddleware) {
		WriteError(w, http.StatusInternalServerError, CodeInternal)
		return
	}
	WriteError(w, http.StatusServiceUnavailable, CodeUnavailable)
}

// validCookieName reports whether s is an RFC 7230 token (RFC 6265 §4.1.1
// cookie-name).
func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b <= 0x20 || b >= 0x7f || strings.IndexByte(`()<>@,;:\\"/[]?={}`, b) >= 0 {
			return false
		}
	}
	return true
}
