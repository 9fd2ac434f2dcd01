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
//   - [Auth.Handler], the /auth JSON endpoints of the published HTTP
//     contract, with the access_token and refresh_token cookies;
//   - [Auth.Authenticator], middleware for the host's own routes.
//
// Every outcome is an audit [Event] (to slog by default, and to a hook),
// never with a secret in it.
//
// Stores are always passed explicitly, never defaulted: store/memstore,
// store/redisstore and store/sqlstore provide implementations, and
// authkittest holds the conformance suites a host can run against its own.
package authkit
