package authkit

import (
	"net/http"
	"time"
)

// Cookie names of the HTTP contract. Browsers accept a cookie whose name
// starts with "__Host-" only from the host itself over HTTPS, with Path=/
// and no Domain, and one starting with "__Secure-" only over HTTPS (RFC
// 6265bis section 4.1.3): a sibling subdomain or a plain-HTTP response
// cannot set the access cookie, and cannot set the refresh cookie without
// HTTPS.
//
// The refresh cookie keeps Path=<prefix> (the /auth endpoints only, so the
// long-lived token never travels with ordinary requests), which "__Host-"
// forbids; a sibling HTTPS subdomain can therefore still plant a cookie of
// that name for the parent domain. The endpoints that read a token
// (refresh, logout and the authenticated ones) refuse a request that
// carries two cookies of one token name (401 invalid_token, cookies
// cleared), so a planted cookie is never used in place of the real one.
const (
	AccessCookie  = "__Host-access_token"
	RefreshCookie = "__Secure-refresh_token"
)

// DefaultPrefix is the path [Auth.Handler] serves at unless [WithPrefix]
// says otherwise.
const DefaultPrefix = "/auth"

// SetTokenCookies sets the token cookies for handlers at [DefaultPrefix]:
// __Host-access_token (HttpOnly, Secure, SameSite=Lax, Path=/) and
// __Secure-refresh_token (HttpOnly, Secure, SameSite=Strict, Path=/auth).
// Secure is always set: browsers treat http://127.0.0.1 and localhost as
// secure contexts.
func SetTokenCookies(w http.ResponseWriter, t Tokens, now time.Time) {
	setTokenCookies(w, t, now, DefaultPrefix)
}

// ClearTokenCookies expires both token cookies of handlers at
// [DefaultPrefix] (Max-Age=0).
func ClearTokenCookies(w http.ResponseWriter) { clearTokenCookies(w, DefaultPrefix) }

func setTokenCookies(w http.ResponseWriter, t Tokens, now time.Time, prefix string) {
	http.SetCookie(w, &http.Cookie{Name: AccessCookie, Value: t.Access, Path: "/", MaxAge: maxAge(t.AccessExpiry, now),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: t.Refresh, Path: prefix, MaxAge: maxAge(t.RefreshExpiry, now),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

func clearTokenCookies(w http.ResponseWriter, prefix string) {
	http.SetCookie(w, &http.Cookie{Name: AccessCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Path: prefix, MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// maxAge is the whole seconds until exp, rounded up (token expiries have
// one-second granularity, the clock does not).
func maxAge(exp, now time.Time) int {
	s := int((exp.Sub(now) + time.Second - 1) / time.Second)
	if s < 1 {
		return -1
	}
	return s
}

// duplicateTokenCookie reports whether r carries a token cookie name twice:
// the sign of a cookie planted for a parent domain or a narrower path.
func duplicateTokenCookie(r *http.Request) bool {
	return len(r.CookiesNamed(AccessCookie)) > 1 || len(r.CookiesNamed(RefreshCookie)) > 1
}
