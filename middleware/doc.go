// Package middleware holds authkit's net/http adapters: authentication,
// step-up and permission guards, CSRF protection, rate limiting, client IP
// resolution, secure response headers for auth endpoints, and the JSON
// error writer with the module's one list of error codes.
//
// # Shape
//
// Every adapter follows the shape of [net/http.CrossOriginProtection]: a
// value built once by NewT(TConfig) (validated, immutable afterwards, safe
// for concurrent use; configuration errors wrap [ErrInvalidConfig]), a pure
// Check or Authenticate method that decides without writing a response, a
// Handler adapter of type func(http.Handler) http.Handler, and hooks of two
// shapes only, named the same everywhere: Deny, a [DenyFunc] func(w, r,
// err) that writes the refusal in place of the default; OnDeny, an
// [AuditFunc] func(r, err) that is told about it first; and, where a system
// failure can stop a request, ErrorFunc, a DenyFunc for that answer
// (session.Config.ErrorFunc has the same name and shape).
// err names the failure: errors.Is with a sentinel ([ErrUnauthenticated],
// [ErrForbidden], [ErrInsufficientAuthentication], [ErrCrossOrigin], ...),
// errors.As for the details ([*AuthError], [*PermissionError],
// [*StepUpError]).
//
// # Authentication and permissions
//
// [Authenticator.RequireAuth] identifies and enforces in one step, so the
// enforcing step cannot be forgotten: it takes the credential from the
// configured sources ([AuthenticatorConfig.Order]; by default an
// `Authorization: Bearer` access token, then the access-token cookie, then
// a server-side session when [AuthenticatorConfig.Sessions] is set, then
// custom extractors, see [Extractor]), verifies it, and puts a [Principal]
// (subject, roles, tenant, method, auth time, amr, acr, MFA) in the request
// context for [FromContext]. The first source that finds a credential
// decides. Anything else answers 401 {"error":"unauthenticated"} with
// `WWW-Authenticate: Bearer` (RFC 6750 §3), and a session whose MFA step is
// pending is refused. A store failure (not-before, session, roles) answers
// 5xx and never lets the request continue as anonymous.
// [Authenticator.Identify] is the explicit variant that lets anonymous
// requests through without a Principal. [AuthenticatorConfig.OnDeny]
// audits each 401 with a reason such as "expired" or "revoked", never the
// token. With sessions, [session.Manager.LoadAndSave] must wrap the
// Authenticator:
//
//	sessions.LoadAndSave(authn.RequireAuth(middleware.RequirePermission(authz, "posts:write", audit)(h)))
//
// [RequirePermission] then checks a permission of the Principal in its
// tenant against an [rbac.Authorizer] (403 {"error":"forbidden"}, deny by
// default, each denial passed to an audit hook), and [RequireObject] loads
// the object a request targets, with the tenant the loader states for it,
// and runs the tenant check and the policy's object-level rules on it
// (OWASP API1, ASVS 8.2.2, 8.4.1), answering 404 for [ErrObjectNotFound].
//
// # Token cookies
//
// The access token travels in [AccessCookie] ("__Host-access_token": only
// this host, over HTTPS, can set it); [LegacyAccessCookie], which a sibling
// subdomain can plant, is read only when CookieNames lists it. A request that carries one token cookie
// name twice (a sibling subdomain planted a second one: cookie tossing) is
// refused with 401 and the name is cleared ([TokenCookie],
// [ClearTokenCookies]; the refresh endpoint uses the same helpers with
// [RefreshCookie]).
//
// # Step-up
//
// [StepUp] demands, per route, a recent sign-in ([Requirement.MaxAge])
// and/or a minimum authentication context class ([Requirement.ACR], from
// levels the host defines, mapped from amr by default: password < TOTP or
// backup code < passkey). A request that falls short gets the OAuth 2.0
// Step Up Authentication Challenge of RFC 9470 §3:
//
//	WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="...", acr_values="mfa passkey", max_age=300
//
// or, for a session, a redirect to the host's re-authentication page.
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
// [WindowLimiter] is the implementation: a fixed-window limit on a
// [Counter], the attempt counter every authkit store already has, so one
// store serves lockouts and rate limits alike and a shared store gives one
// limit across instances. [RateLimit] adapts any Limiter to a middleware
// that answers 429 with Retry-After (RFC 6585 section 4, RFC 9110 section
// 10.2.3).
//
// # Client IP
//
// [ClientIPResolver] takes the client address (a [net/netip.Addr]) from
// RemoteAddr unless the peer is a configured trusted proxy, and then from
// the right-most X-Forwarded-For entry that is not a trusted proxy (ASVS
// 15.3.4). Forwarding headers from untrusted peers are ignored. [IPKey] is
// the one function that turns an address into a per-IP limit key: IPv4 by
// address, IPv6 by its /64 (configurable).
//
// # Errors
//
// Every rejection is written by [WriteError] as {"error": CODE} with one of
// the Code constants, `Content-Type: application/json`, and Retry-After on
// 503; internal error text never reaches the client.
package middleware
