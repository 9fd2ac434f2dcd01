package oauth

import (
	"fmt"
	"net/url"
	"strings"
)

// SafeReturnTo returns raw when it is a safe post-login redirect target and
// "/" otherwise (OWASP Unvalidated Redirects; RFC 9700 §4.11; ASVS 3.7.2).
// Safe means either
//
//   - a relative path: one leading "/" not followed by "/" or "\", also
//     after percent-decoding, so no layer can turn it into a
//     protocol-relative URL ("//evil.com", "/%2F%2Fevil.com"); or
//   - an absolute http(s) URL whose origin (scheme://host[:port]) equals one
//     of allowedOrigins exactly, with no user info
//     ("https://app.example.com@evil.com" is refused).
//
// Anything with a backslash, a control character (CR, LF…), a space or a
// non-ASCII byte, or longer than 1024 bytes, is refused.
func SafeReturnTo(raw string, allowedOrigins []string) string {
	if raw == "" || len(raw) > maxReturnToLen {
		return "/"
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "/"
		}
	}
	if raw[0] == '/' {
		if safeRelative(raw) {
			return raw
		}
		return "/"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" ||
		(u.Scheme != "https" && u.Scheme != "http") {
		return "/"
	}
	origin := u.Scheme + "://" + strings.ToLower(u.Host)
	for _, o := range allowedOrigins {
		if origin == strings.ToLower(o) {
			return raw
		}
	}
	return "/"
}

func safeRelative(s string) bool {
	// Decode repeatedly: a target may be unescaped by more than one layer.
	for range 4 {
		if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
			return false
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < ' ' || c == 0x7f || c == '\\' {
				return false
			}
		}
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
			return false
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return false
		}
		if d == s {
			return true
		}
		s = d
	}
	return false // still changing after 4 rounds: refuse
}

// checkOrigin validates an AllowedReturnOrigins entry: scheme://host[:port]
// with no path, query or user info.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || o != u.Scheme+"://"+u.Host {
		return fmt.Errorf("%q is not an origin (scheme://host[:port])", o)
	}
	return nil
}
