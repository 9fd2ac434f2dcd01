// Package middleware holds authkit's net/http adapters: authentication and
// permission guards, CSRF protection, rate limiting, client IP resolution,
// secure response headers for auth endpoints and the shared JSON error
// writer.
//
// Every adapter follows the shape of [net/http.CrossOriginProtection]: a
// value built once from a validated Config (immutable afterwards, safe for
// concurrent use), a pure Check method that decides without writing a
// response, a Handler adapter of type func(http.Handler) http.Handler, and a
// deny hook through which the host controls the rejection response.
//
// # Authentication and permissions
//
// [Authenticator.RequireAuth] identifies and enforces in one step, so the
// enforcing step cannot be forgotten: it takes the credential from the
// configured sources ([AuthenticatorConfig.Order]; by default an `Authorization:
// Bearer` access token, then the access_token cookie, then a server-side
// session when [AuthenticatorConfig.Sessions] is set, then custom extractors, see [Extractor]),
// verifies it, and puts a [Principal] (subject, roles, tenant, method, auth
// time, MFA) in the request context for [FromContext]. The first source that
// finds a credential decides. Anything else answers 401
// {"error":"unauthenticated"} with `WWW-Authenticate: Bearer` (RFC 6750 §3),
// and a session whose MFA step is pending is refused (SECURITY.md S3). A
// store failure (not-before, session, roles) answers 5xx and never lets the
// request continue as anonymous. [Authenticator.Identify] is the explicit
// variant that lets anonymous requests through without a Principal.
// [AuthenticatorConfig.OnFailure] audits each 401 with a reason such as "expired" or
// "revoked", never the token. With sessions, [session.Manager.LoadAndSave]
// must wrap the Authenticator:
//
//	sessions.LoadAndSave(authn.RequireAuth(middleware.RequirePermission(authz, "posts:write", audit)(h)))
//
// [RequirePermission] then checks a permission of the Principal in its
// tenant against an [rbac.Authorizer] (403 {"error":"forbidden"}, deny by
// default, each denial passed to an audit hook), and [RequireObject] loads
// the object a request targets and runs the policy's object-level rules on
// it (OWASP API1, ASVS 8.2.2), answering 404 for [ErrObjectNotFound].
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
