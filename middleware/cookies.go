package middleware

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Token cookie names of authkit's HTTP contract.
//
// A cookie set by a sibling subdomain (Domain=example.com from
// evil.example.com) or by a plain-http response reaches this host next to
// the real one, under the same name ("cookie tossing"). The __Host- prefix
// (RFC 6265bis §4.1.3.2) makes the browser refuse such a cookie: it must be
// Secure, Path=/ and host-only. Where a prefix cannot be used or a plain
// name is still accepted, a name sent twice is refused ([ErrDuplicateCookie],
// [ReasonDuplicateCookie]) instead of trusting whichever comes first.
const (
	// AccessCookie is the access-token cookie: Secure, Path=/, no Domain.
	// It is the [Authenticator]'s default and only cookie name.
	AccessCookie = "__Host-access_token"
	// LegacyAccessCookie is the unprefixed access-token name of older
	// deployments and plain http during development. A sibling subdomain
	// can plant it, so the [Authenticator] reads it only when
	// [AuthenticatorConfig.CookieNames] lists it (after AccessCookie, when
	// no AccessCookie is present); two of them are refused.
	LegacyAccessCookie = "access_token"
	// RefreshCookie is the refresh-token cookie. It is scoped to the
	// refresh path, which the __Host- prefix forbids, so it uses
	// __Secure- (never set over plain http) and relies on duplicate
	// refusal against sibling subdomains.
	RefreshCookie = "__Secure-refresh_token"
	// LegacyRefreshCookie is the unprefixed refresh-token name, accepted
	// when no RefreshCookie is present.
	LegacyRefreshCookie = "refresh_token"
)

// ErrDuplicateCookie reports that a request carries one token cookie name
// more than once with different values: a cookie was planted next to the
// real one. Refuse the
// request (401) and clear the name with [ClearTokenCookies].
var ErrDuplicateCookie = errors.New("middleware: duplicate token cookie")

// TokenCookie returns the value of the first of names (in order of
// preference) that r carries, and that name; value and name are "" when
// none is present. Parsing is net/http's ([net/http.Request.CookiesNamed]:
// quotes stripped, invalid values skipped); empty values count as absent.
// If the chosen name is carried more than once with different values it
// returns [ErrDuplicateCookie] and no value (the same value twice, as a
// client that sends its jar and a header may, is no ambiguity). Names after the chosen one are not
// consulted, so a plain cookie planted next to a __Host- one changes
// nothing.
func TokenCookie(r *http.Request, names ...string) (value, name string, err error) {
	for _, n := range names {
		value = ""
		for _, c := range r.CookiesNamed(n) {
			switch {
			case c.Value == "" || c.Value == value:
			case value == "":
				value = c.Value
			default:
				return "", n, ErrDuplicateCookie
			}
		}
		if value != "" {
			return value, n, nil
		}
	}
	return "", "", nil
}

// maxClearDomains bounds the parent domains [ClearTokenCookies] expires a
// cookie for.
const maxClearDomains = 4

// ClearTokenCookies adds Set-Cookie headers to w that expire each of names
// at path: host-only, and for names without the __Host- prefix also with
// Domain set to each parent domain of r's host (at most four; the browser
// ignores a public suffix), where a sibling subdomain may have planted it.
// A cookie planted with another path survives; it is refused again on the
// next request. Cookies named __Host- or __Secure- are cleared with Secure,
// as the browser requires.
func ClearTokenCookies(w http.ResponseWriter, r *http.Request, path string, names ...string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, n := range names {
		secure := strings.HasPrefix(n, "__Host-") || strings.HasPrefix(n, "__Secure-")
		p := path
		if strings.HasPrefix(n, "__Host-") {
			p = "/"
		}
		http.SetCookie(w, &http.Cookie{Name: n, Path: p, MaxAge: -1, Secure: secure, HttpOnly: true})
		if strings.HasPrefix(n, "__Host-") || isIP(host) || !plainHostname(host) || strings.Count(host, ".") < 2 {
			continue
		}
		d := host
		for range maxClearDomains {
			_, parent, ok := strings.Cut(d, ".")
			if !ok || !strings.Contains(parent, ".") {
				break
			}
			http.SetCookie(w, &http.Cookie{Name: n, Path: p, Domain: parent, MaxAge: -1, Secure: secure, HttpOnly: true})
			d = parent
		}
	}
}

func isIP(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

// plainHostname reports whether host is an ASCII DNS name (letters,
// digits, '-' and '.'), so that its parents are valid cookie domains.
// Host comes from the request; anything else gets host-only clearing.
func plainHostname(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
