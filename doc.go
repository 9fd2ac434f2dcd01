// Package authkit is the ready login flow of the authkit library, built on
// its leaf packages (password, jwt, session, rbac, mfa, oauth) and the
// middleware package.
//
// [New] takes a [Config] with the host's [UserStore] and the stores the flow
// needs, and returns an [Auth] with:
//
//   - a programmatic API: [Auth.Signup], [Auth.Login] (password step, with
//     lockout counted before the check and a dummy verification for unknown
//     logins), [Auth.VerifyMFA], [Auth.IssueTokens], [Auth.Refresh] (rotation
//     with reuse detection), [Auth.Logout], [Auth.LogoutAll] (per-user
//     not-before), [Auth.ChangePassword], MFA enrollment and removal,
//     password reset and email verification through a [Mailer], and the
//     administrator's [Auth.DisableUser] and [Auth.EndSessions];
//   - passkeys (WebAuthn, package passkey) when Config.Passkeys is set:
//     username-less sign-in with autofill ([Auth.BeginPasskeySignIn]), the
//     second factor after a password ([Auth.BeginPasskeyMFA]), adding,
//     renaming and removing them ([Auth.BeginPasskeyRegistration],
//     [Auth.RemovePasskey]) and step-up re-authentication
//     ([Auth.ReauthenticatePasskey]);
//   - [Auth.Handler], the JSON endpoints of the HTTP contract at any
//     prefix ([WithPrefix]), handing tokens to browsers in the
//     __Host-access_token and __Secure-refresh_token cookies or to native
//     clients in the JSON body ([WithDelivery]);
//   - [Auth.Authenticator], middleware for the host's own routes.
//
// [New] needs only the user store, the signing keys, the issuer and the
// stores every instance must share; a rejected [Config] gives one error
// naming every problem, matching [ErrInvalidConfig]. [Secrets] derives every
// symmetric key from one master secret ([LoadOrCreateSecret]) with HKDF, and
// rotates it.
//
// Errors the methods return match the leaf packages' sentinels too
// (errors.Is(err, jwt.ErrTokenReused) holds for [ErrTokenReused]). Over
// HTTP, a failing store answers 503 unavailable with Retry-After; 500 is
// only for bugs.
//
// Every outcome is an audit [Event] (to slog by default, and to a hook),
// never with a secret in it.
//
// Stores are always passed explicitly, never defaulted: store/memstore,
// store/redisstore and store/sqlstore provide implementations, and
// authkittest holds the conformance suites a host can run against its own.
package authkit
