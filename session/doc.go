// Package session implements server-side sessions that resist fixation,
// theft and stale logins (OWASP Session Management Cheat Sheet; ASVS 5.0
// chapter 7; NIST SP 800-63B §7).
//
// # Tokens
//
// A session token is "id.secret": a 128-bit id and a 256-bit secret from
// a CSPRNG ([Config.Rand], crypto/rand by default), each base64url without
// padding, 66 characters in all. The [Store] is keyed by the id and keeps only
// SHA-256(secret) in [Record.SecretHash], compared in constant time, so a
// leaked store (backup, replica, SQL injection) yields no usable session.
// Tokens are parsed strictly: any other length or encoding is "no session".
//
// # Middleware
//
// [Manager.LoadAndSave] loads the session into the request context
// ([FromContext]) and saves it only when it changed, before the first byte of
// the response. A read-only request costs exactly one store call (Find):
// LastSeen and the sliding idle expiry are written at most once per
// [Config.TouchInterval] (1 min). The idle timeout (30 min) slides, the
// absolute lifetime (12 h) never does. Store errors go to
// [Config.ErrorFunc] (500 by default) and the handler does not run: a
// failing store never turns a request anonymous.
//
// The wrapped [http.ResponseWriter] keeps Flush, ReadFrom and Unwrap (so
// [http.ResponseController] works), and Hijack when the underlying writer
// has it.
//
// # Transport
//
// By default the token travels in a cookie named "__Host-session" with
// Secure, HttpOnly, SameSite=Lax, Path=/ and no Domain, and no Max-Age (a
// browser-session cookie; see [Config.PersistentCookie]). Ending a session
// sends the cookie back empty with Max-Age=0. [Config.InsecureCookieNoSecure]
// drops Secure (and with it the "__Host-" prefix) for plain-HTTP development
// on a non-loopback host only. [TransportBearer] and
// [TransportCookieOrBearer] accept "Authorization: Bearer <token>" for API
// and mobile clients, which get their token from [Session.Token].
//
// # Authentication state
//
// [Manager.Login] renews the id and secret (the old record is replaced in
// one atomic [Store.Rotate]), sets the user and [Session.AuthTime], and
// starts a new absolute lifetime. When a second factor is required, call
// [Manager.BeginMFA] after the password step: [Session.UserID] stays ""
// (only [Session.PendingUserID] is set) until [Manager.CompleteMFA], which
// renews again and sets [Session.MFATime]. A flow that does not know the
// user until the second factor is verified (the root package's Auth.Login
// returns only an MFA token then) calls [Manager.BeginMFAChallenge] with
// that token, reads it back with [Session.MFAChallenge] on the MFA form,
// and binds the verified user with [Manager.CompleteMFAAs].
//
// [Manager.SignIn] is Login that also records how the user signed in: the
// authentication methods (RFC 8176 amr values such as "pwd", "otp", "hwk",
// "user", "mfa"), which [Session.AMR] returns, so a step-up check (package
// middleware) reads the same strength from a session as from an access
// token's amr; it also ends a pending MFA step, so a flow can finish with it
// once every factor passed. [Manager.RenewSignIn] records a re-authentication
// of the signed-in user (step-up): a new id, AuthTime now and the new
// methods, the rest kept; unlike SignIn it never starts a new session when
// the old one was revoked meanwhile. Call [Manager.Renew] on every other
// privilege change. These fields live in the
// session data, not in extra [Record] columns, so store adapters only
// persist the Record fields.
//
// [Manager.ListUser], [Manager.Revoke] and [Manager.RevokeUser] back a "your
// devices" page and "log out everywhere" in O(that user's sessions) through
// the store's per-user index.
//
// # Revocation is final
//
// A session ended by [Manager.Logout], [Manager.Revoke] or
// [Manager.RevokeUser] (and so by a password change or a disabled account
// that calls it) never comes back: the [Store] writes existing sessions
// update-only, so a request that loaded the session before the revocation
// and saves after it is refused by the store. That request is answered by
// [Config.ErrorFunc] with [ErrRevoked] (401 by default) if it had changed
// the session, and gets no new token in any case; a renewal or MFA
// completion in such a request returns [ErrRevoked].
//
// # Anonymous visitors
//
// Nothing is stored and no cookie is set for a visitor until the handler
// puts a value ([Session.Put]), logs a user in, or renews the session: a
// page view costs no store write. The User-Agent kept for "your devices"
// is cut to [MaxUserAgentLen] bytes.
//
// # Values
//
// [Session.Put], [Session.Get], [Session.Pop] and [Session.Remove] store
// typed values encoded with a [Codec] ([JSONCodec] by default, [GobCodec]
// available). Keys starting with "authkit." are reserved.
package session
