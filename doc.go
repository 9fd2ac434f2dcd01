// Package authkit is the root of the authkit library: it holds the login
// flow built on the leaf packages (password, jwt, session, rbac, mfa, oauth)
// and the middleware package, the [User] and [UserStore] types the host
// application implements, the lockout counter [AttemptStore], audit events,
// and the HTTP handlers that mount the /auth endpoints.
//
// Stores are always passed explicitly; store/memstore, store/redisstore and
// store/sqlstore provide implementations, and authkittest holds the
// conformance suites a host can run against its own stores.
package authkit
