package middleware

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// CodeUnauthenticated is the JSON error code of a 401 from [Authenticator.RequireAuth].
const CodeUnauthenticated = "unauthenticated"

// Principal is the authenticated caller of a request.
type Principal struct {
	Subject  string      // user id
	Roles    []string    // global rbac roles from the token
	Method   string      // "bearer" or "cookie"
	AuthTime time.Time   // last interactive authentication (auth_time); zero if unknown
	MFA      bool        // the MFA step was completed (amr contains "otp" or "mfa")
	Claims   *jwt.Claims // the verified access-token claims
}

type principalKey struct{}

// NewContext returns a copy of ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, &principalKeyVal, p)
}

var principalKeyVal principalKey

// FromContext returns the Principal stored by [Authenticator.RequireAuth] or
// [Authenticator.Identify], if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(&principalKeyVal).(Principal)
	return p, ok
}

// AuthConfig configures [NewAuthenticator].
type AuthConfig struct {
	// Verifier verifies access tokens. Required.
	Verifier *jwt.Verifier
	// CookieName is the access-token cookie; empty means "access_token".
	CookieName string
}

// Authenticator identifies requests from an `Authorization: Bearer` access
// token (RFC 6750 §2.1), or else the access-token cookie.
type Authenticator struct {
	v      *jwt.Verifier
	cookie string
}

// NewAuthenticator validates cfg and returns an Authenticator.
func NewAuthenticator(cfg AuthConfig) (*Authenticator, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("middleware: AuthConfig.Verifier is required")
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "access_token"
	}
	return &Authenticator{v: cfg.Verifier, cookie: cfg.CookieName}, nil
}

// authenticate returns (principal, presentedBearer, err). err wrapping
// jwt.ErrInvalidToken or errNoCredentials is a client problem; any other
// error is a system failure (fail closed with 5xx).
func (a *Authenticator) authenticate(r *http.Request) (Principal, bool, error) {
	tok, method := "", ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || rest == "" {
			return Principal{}, true, jwt.ErrInvalidToken
		}
		tok, method = strings.TrimSpace(rest), "bearer"
	} else if c, err := r.Cookie(a.cookie); err == nil && c.Value != "" {
		tok, method = c.Value, "cookie"
	} else {
		return Principal{}, false, errNoCredentials
	}
	cl, err := a.v.Verify(r.Context(), tok)
	if err != nil {
		return Principal{}, method == "bearer", err
	}
	return Principal{Subject: cl.Subject, Roles: cl.Roles, Method: method, AuthTime: cl.AuthTime,
		MFA: cl.HasAMR("otp") || cl.HasAMR("mfa"), Claims: &cl}, method == "bearer", nil
}

var errNoCredentials = errors.New("middleware: no credentials")

// RequireAuth identifies and enforces in one step: without a valid access
// token it answers 401 {"error":"unauthenticated"} with `WWW-Authenticate:
// Bearer` (plus error="invalid_token" when a bearer token was presented, RFC
// 6750 §3.1); a verifier system failure (not-before store) answers 503 and
// never passes the request as anonymous.
func (a *Authenticator) RequireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, bearer, err := a.authenticate(r)
		if err != nil {
			a.fail(w, bearer, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}

// Identify puts a Principal in the context when valid credentials are
// presented and passes anonymous requests (no credentials) through
// explicitly. Invalid credentials still get 401, and a system failure 503.
func (a *Authenticator) Identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, bearer, err := a.authenticate(r)
		if errors.Is(err, errNoCredentials) {
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			a.fail(w, bearer, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}

func (a *Authenticator) fail(w http.ResponseWriter, bearer bool, err error) {
	if !errors.Is(err, jwt.ErrInvalidToken) && !errors.Is(err, errNoCredentials) {
		WriteError(w, http.StatusServiceUnavailable, CodeUnavailable)
		return
	}
	if bearer {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	} else {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	WriteError(w, http.StatusUnauthorized, CodeUnauthenticated)
}
