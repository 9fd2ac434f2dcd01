package middleware

import (
	"errors"
	"net/http"
)

// Error codes written by this package's default deny handlers. They are part
// of authkit's HTTP contract (DESIGN.md): clients may match on them.
const (
	CodeForbidden   = "forbidden"    // 403: CSRF rejection
	CodeRateLimited = "rate_limited" // 429: a Limiter denied the request
	CodeUnavailable = "unavailable"  // 503: a Limiter failed; the request is refused (fail closed)
)

// Errors returned by [CSRF.Check]. They are for logs and deny hooks; the
// default response never reveals which check failed.
var (
	// ErrCrossOrigin reports an unsafe request that
	// [net/http.CrossOriginProtection] rejected (Sec-Fetch-Site cross-site or
	// same-site, or an Origin that does not match Host).
	ErrCrossOrigin = errors.New("middleware: cross-origin request")
	// ErrCSRFTokenMissing reports an unsafe request without a CSRF token where
	// the token mode requires one.
	ErrCSRFTokenMissing = errors.New("middleware: csrf token missing")
	// ErrCSRFTokenInvalid reports a malformed CSRF token, or one that was not
	// issued for the current session secret.
	ErrCSRFTokenInvalid = errors.New("middleware: csrf token invalid")
	// ErrCSRFNoSession reports that a token was required but the request has
	// no session secret to check it against.
	ErrCSRFNoSession = errors.New("middleware: csrf token requires a session")
)

// WriteError writes the JSON error body {"error": code} with the given status,
// Content-Type application/json and X-Content-Type-Options nosniff. code must
// be a fixed, client-safe code such as [CodeForbidden]; never pass
// err.Error() (OWASP Error Handling Cheat Sheet: no internal details to
// clients). Characters outside the printable ASCII range and JSON-special
// characters are escaped, so the body is always valid JSON.
func WriteError(w http.ResponseWriter, status int, code string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	buf := make([]byte, 0, len(code)+16)
	buf = append(buf, `{"error":"`...)
	buf = appendJSONString(buf, code)
	buf = append(buf, "\"}\n"...)
	_, _ = w.Write(buf)
}

// appendJSONString appends s escaped for a JSON string body (without quotes).
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&':
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return buf
}
