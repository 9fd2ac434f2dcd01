// Package middleware holds authkit's net/http adapters: CSRF protection,
// rate limiting, client IP resolution, secure response headers for auth
// endpoints and the shared JSON error writer. (The authentication and
// permission guards are added in auth*.go and permission*.go.)
//
// Every adapter follows the shape of [net/http.CrossOriginProtection]: a
// value built once from a validated Config (immutable afterwards, safe for
// concurrent use), a pure Check method that decides without writing a
// response, a Handler adapter of type func(http.Handler) http.Handler, and a
// deny hook through which the host controls the rejection response.
//
// # CSRF
//
// [CSRF] rejects unsafe (non GET/HEAD/OPTIONS) cross-origin browser requests
// with [net/http.CrossOriginProtection] (Fetch Metadata, then Origin versus
// Host) and can additionally require a synchronizer token for clients that
// send no Sec-Fetch-Site header. The token is an HMAC of a random nonce under
// a per-session secret supplied by the host ([CSRFConfig.SessionSecret]), so
// it is bound to the session and changes when the session secret is rotated
// at login (OWASP CSRF Prevention Cheat Sheet; ASVS 3.5.1-3.5.3).
//
// # Rate limiting
//
// [Limiter] is the storage-neutral interface of a per-key limiter; the
// conformance suite in middleware/limitertest checks implementations.
// [MemoryLimiter] is the in-process implementation on golang.org/x/time/rate
// with bounded memory. [RateLimit] adapts any Limiter to a middleware that
// answers 429 with Retry-After (RFC 6585 section 4, RFC 9110 section 10.2.3).
//
// # Client IP
//
// [ClientIPResolver] takes the client address from RemoteAddr unless the
// peer is a configured trusted proxy, and then from the right-most
// X-Forwarded-For entry that is not a trusted proxy (ASVS 15.3.4). Forwarding
// headers from untrusted peers are ignored.
//
// # Errors
//
// Every rejection is written by [WriteError] as {"error": CODE} with a fixed
// code such as "forbidden" or "rate_limited"; internal error text never
// reaches the client.
package middleware
