package middleware

import "net/http"

// secureHeaders are the response headers set by [SecureHeaders].
var secureHeaders = [...][2]string{
	// Responses to auth endpoints carry tokens, codes and personal data:
	// no cache may store them (RFC 9111 section 5.2.2.5; OWASP Authentication
	// and Session Management Cheat Sheets, ASVS 14.3.2).
	{"Cache-Control", "no-store"},
	// For HTTP/1.0 caches (RFC 9111 section 5.4).
	{"Pragma", "no-cache"},
	// Never sniff a JSON body into HTML or script.
	{"X-Content-Type-Options", "nosniff"},
	// Do not leak URLs (reset or verification tokens) in Referer.
	{"Referrer-Policy", "no-referrer"},
	// API responses are never meant to be framed or to load anything.
	{"X-Frame-Options", "DENY"},
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
}

// SecureHeaders is a middleware for authentication endpoints that sets, before
// calling next:
//
//	Cache-Control: no-store
//	Pragma: no-cache
//	X-Content-Type-Options: nosniff
//	Referrer-Policy: no-referrer
//	X-Frame-Options: DENY
//	Content-Security-Policy: default-src 'none'; frame-ancestors 'none'
//
// (OWASP HTTP Headers Cheat Sheet; RFC 9111 section 5.2.2.5). next may
// override any of them. The Content-Security-Policy suits JSON endpoints;
// wrap HTML pages with a policy of their own instead.
func SecureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, kv := range secureHeaders {
			h[kv[0]] = []string{kv[1]}
		}
		next.ServeHTTP(w, r)
	})
}
