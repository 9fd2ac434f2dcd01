package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Authentication context classes ("acr", RFC 9068 §2.2.1, OIDC Core §2)
// of [DefaultACRLevels], weakest first. A host may define its own
// ([StepUpConfig.Levels]).
const (
	// ACRPassword is a sign-in with one factor: a password (amr "pwd"), or
	// a passkey that does not count as multi-factor (amr "hwk" or "swk"
	// without "mfa": no user verification, or passkeys configured as one
	// factor).
	ACRPassword = "pwd"
	// ACRMFA is a sign-in with two factors: a password plus TOTP or a
	// backup code (amr "otp" or "mfa"), or a password plus a passkey.
	ACRMFA = "mfa"
	// ACRPasskey is a multi-factor sign-in with a passkey or security key
	// (amr "hwk" or "swk" together with "mfa"): phishing-resistant.
	ACRPasskey = "passkey"
)

// DefaultACRLevels is the default [StepUpConfig.Levels], weakest first.
var DefaultACRLevels = []string{ACRPassword, ACRMFA, ACRPasskey}

// DefaultStepUpLeeway is the default [StepUpConfig.Leeway].
const DefaultStepUpLeeway = 30 * time.Second

// AlwaysReauthenticate as [Requirement.MaxAge] is max_age=0 (RFC 9470
// §3): the route needs a sign-in made just now (within the leeway), so
// every use asks the user again.
const AlwaysReauthenticate time.Duration = -1

// ErrInsufficientAuthentication is satisfied by every refusal of
// [StepUp.Require]; the concrete error is a [*StepUpError].
var ErrInsufficientAuthentication = errors.New("middleware: insufficient user authentication")

// DefaultACRFromAMR maps the authentication methods of a sign-in (amr,
// RFC 8176) to the strongest of [DefaultACRLevels] they reach: "hwk" or
// "swk" (a passkey or security key) with "mfa" (it counted as
// multi-factor, or answered the second-factor step) is [ACRPasskey]; "otp"
// or "mfa" (TOTP or a backup code after the password), or "pwd" with "hwk"
// or "swk", is [ACRMFA]; "pwd", or "hwk" or "swk" alone (a passkey that is
// one factor: no user verification, or configured so), is [ACRPassword];
// anything else is "" (unknown, weaker than every level). A passkey never
// reaches a level by itself that its sign-in did not count as: a
// possession-only security key is not a second factor.
func DefaultACRFromAMR(amr []string) string {
	key := slices.Contains(amr, "hwk") || slices.Contains(amr, "swk")
	mfa := slices.Contains(amr, "mfa")
	pwd := slices.Contains(amr, "pwd")
	switch {
	case key && mfa:
		return ACRPasskey
	case mfa || slices.Contains(amr, "otp") || (pwd && key):
		return ACRMFA
	case pwd || key:
		return ACRPassword
	}
	return ""
}

// Requirement is what a route demands of the sign-in behind a request.
// The zero Requirement demands nothing and is refused by [StepUp.Require].
type Requirement struct {
	// ACR is the weakest acceptable authentication context class, one of
	// [StepUpConfig.Levels]; stronger levels satisfy it too. "" sets no
	// strength requirement.
	ACR string
	// MaxAge is the longest time since the sign-in ([Principal.AuthTime])
	// that the route accepts; it is sent as max_age in whole seconds
	// (rounded down). 0 sets no age requirement; [AlwaysReauthenticate] is
	// max_age=0. With both ACR and MaxAge, the strength of a sign-in older
	// than MaxAge no longer counts: it falls back to nothing, and a new
	// sign-in of the required strength is asked for.
	MaxAge time.Duration
}

// StepUpConfig configures [NewStepUp]. Zero fields take the documented
// defaults.
type StepUpConfig struct {
	// Levels are the acr values the host defines, weakest first. Default
	// [DefaultACRLevels]. Values are non-empty printable ASCII without
	// spaces, quotes or backslashes.
	Levels []string
	// ACRFromAMR maps a Principal's amr to one of Levels when the
	// Principal carries no acr of its own ([Principal.ACR] empty, as for
	// sessions and tokens without an acr claim). Default
	// [DefaultACRFromAMR]. An acr outside Levels is weaker than all.
	ACRFromAMR func(amr []string) string
	// Leeway absorbs clock skew between the server that dated the sign-in
	// and this one: an auth_time up to Leeway in the future counts as now,
	// and a sign-in up to MaxAge+Leeway old is accepted. Default
	// [DefaultStepUpLeeway]; at most one minute.
	Leeway time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// ReauthURL is where a session-based request (Principal.Method
	// "session") that falls short is sent: 303 See Other to ReauthURL with
	// the query parameters acr_values and max_age added, for a
	// re-authentication page that asks for them. Empty: session requests
	// get the same 401 challenge as token requests.
	ReauthURL string
	// Deny writes the refusal in place of the default (the RFC 9470
	// challenge, or the redirect to ReauthURL); err is the [*StepUpError],
	// whose Challenge method gives the WWW-Authenticate value.
	Deny DenyFunc
	// OnDeny is the audit hook for each refusal, with the [*StepUpError].
	OnDeny AuditFunc
}

// StepUp demands a recent and/or strong enough sign-in per route (OAuth 2.0
// Step Up Authentication Challenge, RFC 9470). It reads the [Principal]
// that [Authenticator.RequireAuth] put in the context, so it works alike
// for bearer tokens, token cookies and sessions. It is immutable after
// [NewStepUp] and safe for concurrent use.
type StepUp struct {
	levels    []string
	fromAMR   func([]string) string
	leeway    time.Duration
	now       func() time.Time
	reauthURL *url.URL
	deny      DenyFunc
	onDeny    AuditFunc
}

// NewStepUp validates cfg and returns a StepUp. Its errors satisfy
// errors.Is(err, [ErrInvalidConfig]).
func NewStepUp(cfg StepUpConfig) (*StepUp, error) {
	s, err := newStepUp(cfg)
	if err != nil {
		return nil, invalidConfig(err)
	}
	return s, nil
}

func newStepUp(cfg StepUpConfig) (*StepUp, error) {
	s := &StepUp{levels: slices.Clone(cfg.Levels), fromAMR: cfg.ACRFromAMR, leeway: cfg.Leeway, now: cfg.Now,
		deny: cfg.Deny, onDeny: cfg.OnDeny}
	if len(s.levels) == 0 {
		s.levels = slices.Clone(DefaultACRLevels)
	}
	var errs []error
	for i, l := range s.levels {
		if !validACR(l) {
			errs = append(errs, fmt.Errorf("middleware: StepUpConfig.Levels: %q is not a valid acr value", l))
		} else if slices.Contains(s.levels[:i], l) {
			errs = append(errs, fmt.Errorf("middleware: StepUpConfig.Levels lists %q twice", l))
		}
	}
	if s.fromAMR == nil {
		s.fromAMR = DefaultACRFromAMR
	}
	switch {
	case s.leeway == 0:
		s.leeway = DefaultStepUpLeeway
	case s.leeway < 0 || s.leeway > time.Minute:
		errs = append(errs, fmt.Errorf("middleware: StepUpConfig.Leeway %v out of range 0..1m", cfg.Leeway))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.ReauthURL != "" {
		u, err := url.Parse(cfg.ReauthURL)
		if err != nil || u.Fragment != "" || (u.Scheme != "" && u.Scheme != "https" && u.Scheme != "http") || (u.Scheme == "" && !strings.HasPrefix(u.Path, "/")) {
			errs = append(errs, fmt.Errorf("middleware: StepUpConfig.ReauthURL %q must be an absolute path or http(s) URL without a fragment", cfg.ReauthURL))
		}
		s.reauthURL = u
	}
	if s.deny == nil {
		s.deny = s.defaultDeny
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// validACR reports whether v can travel in acr_values: a non-empty run of
// printable ASCII without space, quote or backslash (so the quoted-string
// needs no escaping and the space-separated list splits back exactly).
func validACR(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ACR returns the authentication context class of p's sign-in:
// [Principal.ACR] when set, else ACRFromAMR(p.AMR). It is the strength of
// the sign-in that p.AuthTime dates; refreshing a token changes neither.
func (s *StepUp) ACR(p Principal) string {
	if p.ACR != "" {
		return p.ACR
	}
	return s.fromAMR(p.AMR)
}

// rank is the position of acr in the levels, -1 when unknown.
func (s *StepUp) rank(acr string) int {
	return slices.Index(s.levels, acr)
}

// Check is the pure decision behind [StepUp.Require]: nil when p's sign-in
// meets req, else a [*StepUpError]. It writes nothing. Unlike Require it
// does not validate req, but an ACR outside the levels is met by no
// sign-in.
func (s *StepUp) Check(p Principal, req Requirement) error {
	now := s.now()
	e := &StepUpError{Requirement: req, ACR: s.ACR(p), AuthTime: p.AuthTime}
	if req.MaxAge != 0 {
		maxAge := max(req.MaxAge, 0)
		switch {
		case p.AuthTime.IsZero():
			e.Stale = true // the sign-in is undated: it cannot be recent
		case p.AuthTime.After(now.Add(s.leeway)):
			e.Stale = true // dated in the future beyond any skew: fail closed
		case now.Sub(p.AuthTime)-s.leeway > maxAge: // never maxAge+leeway: it could overflow
			e.Stale = true
		}
	}
	if req.ACR != "" {
		need := s.rank(req.ACR)
		// A stale sign-in's strength no longer counts for this route; a
		// requirement outside the levels is met by nothing (fail closed).
		if e.Stale || need < 0 || s.rank(e.ACR) < need {
			e.Weak = true
		}
		if need >= 0 {
			e.ACRValues = slices.Clone(s.levels[need:])
		} else if validACR(req.ACR) {
			e.ACRValues = []string{req.ACR}
		}
	}
	if !e.Stale && !e.Weak {
		return nil
	}
	return e
}

// Require returns middleware that lets a request through only when its
// sign-in meets req; the Principal must be in the context
// ([Authenticator.RequireAuth] runs first), else 401
// {"error":"unauthenticated"}. A request that falls short is refused with
// the RFC 9470 §3 challenge:
//
//	HTTP/1.1 401 Unauthorized
//	WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", acr_values="mfa passkey", max_age=300
//	{"error":"insufficient_user_authentication"}
//
// acr_values lists the acceptable levels (req.ACR and the stronger ones),
// max_age is req.MaxAge in seconds; each appears when req sets it. A
// session-based request is redirected to [StepUpConfig.ReauthURL] instead
// when one is set. [StepUpConfig.Deny] replaces either response.
//
// Require returns an error (wrapping [ErrInvalidConfig]) when req demands
// nothing, names an acr outside the levels, or has a negative MaxAge other
// than [AlwaysReauthenticate].
func (s *StepUp) Require(req Requirement) (func(http.Handler) http.Handler, error) {
	switch {
	case req.ACR == "" && req.MaxAge == 0:
		return nil, invalidConfig(errors.New("middleware: step-up Requirement demands nothing"))
	case req.ACR != "" && s.rank(req.ACR) < 0:
		return nil, invalidConfig(fmt.Errorf("middleware: step-up Requirement.ACR %q is not one of the levels %q", req.ACR, s.levels))
	case req.MaxAge < 0 && req.MaxAge != AlwaysReauthenticate:
		return nil, invalidConfig(fmt.Errorf("middleware: step-up Requirement.MaxAge %v is negative", req.MaxAge))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pc := principalFrom(r.Context())
			if pc == nil {
				writeNoPrincipal(w)
				return
			}
			if err := s.Check(pc.p, req); err != nil {
				e := err.(*StepUpError)
				e.Session = pc.p.Method == string(SourceSession)
				if s.onDeny != nil {
					s.onDeny(r, e)
				}
				s.deny(w, r, e)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

func (s *StepUp) defaultDeny(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := errors.AsType[*StepUpError](err)
	if !ok {
		WriteError(w, http.StatusInternalServerError, CodeInternal)
		return
	}
	if e.Session && s.reauthURL != nil {
		u := *s.reauthURL
		q := u.Query()
		if len(e.ACRValues) > 0 {
			q.Set("acr_values", strings.Join(e.ACRValues, " "))
		}
		if ma, ok := e.MaxAgeSeconds(); ok {
			q.Set("max_age", strconv.FormatInt(ma, 10))
		}
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", e.Challenge())
	WriteError(w, http.StatusUnauthorized, CodeInsufficientUserAuthentication)
}

// StepUpError is a refusal by [StepUp]: the sign-in behind the request is
// too old (Stale) and/or too weak (Weak) for the route's Requirement.
// errors.Is(err, ErrInsufficientAuthentication) holds.
type StepUpError struct {
	Requirement Requirement
	// ACR is the level of the sign-in ([StepUp.ACR]); AuthTime dates it.
	ACR      string
	AuthTime time.Time
	// Stale: the route sets MaxAge and the sign-in is older (or undated,
	// or dated in the future beyond the leeway).
	Stale bool
	// Weak: the route sets ACR and the sign-in's level is lower, or the
	// sign-in is stale so its level no longer counts.
	Weak bool
	// ACRValues are the acceptable levels, in order of preference (the
	// required one first); empty when the route sets no ACR.
	ACRValues []string
	// Session reports a session-based request (Principal.Method
	// "session").
	Session bool
}

// Error implements error.
func (e *StepUpError) Error() string {
	return fmt.Sprintf("middleware: insufficient user authentication (acr %q, auth_time %s, stale %v, weak %v)",
		e.ACR, e.AuthTime.UTC().Format(time.RFC3339), e.Stale, e.Weak)
}

// Unwrap returns [ErrInsufficientAuthentication].
func (e *StepUpError) Unwrap() error { return ErrInsufficientAuthentication }

// MaxAgeSeconds returns the route's max_age in whole seconds; ok is false
// when the route sets no MaxAge.
func (e *StepUpError) MaxAgeSeconds() (seconds int64, ok bool) {
	switch {
	case e.Requirement.MaxAge == 0:
		return 0, false
	case e.Requirement.MaxAge < 0:
		return 0, true
	}
	return int64(e.Requirement.MaxAge / time.Second), true
}

// Challenge returns the WWW-Authenticate value of RFC 9470 §3: the Bearer
// scheme with error="insufficient_user_authentication", an
// error_description, then acr_values (a quoted, space-separated list) and
// max_age (a non-negative integer) for what the route requires.
func (e *StepUpError) Challenge() string {
	var desc string
	switch {
	case e.Stale && e.Requirement.ACR != "":
		desc = "A more recent authentication of the required level is required"
	case e.Stale:
		desc = "A more recent authentication is required"
	default:
		desc = "A different authentication level is required"
	}
	var b strings.Builder
	b.WriteString(`Bearer error="insufficient_user_authentication", error_description="`)
	b.WriteString(desc)
	b.WriteByte('"')
	if len(e.ACRValues) > 0 {
		b.WriteString(`, acr_values="`)
		b.WriteString(strings.Join(e.ACRValues, " "))
		b.WriteByte('"')
	}
	if ma, ok := e.MaxAgeSeconds(); ok {
		b.WriteString(", max_age=")
		b.WriteString(strconv.FormatInt(ma, 10))
	}
	return b.String()
}
