// Package oauth signs users in with an external OAuth 2.0 / OpenID Connect
// provider ("sign in with Google, GitHub or your IdP") and gets tokens for
// service-to-service calls, secure by construction.
//
// # Sign-in flow
//
// A [Flow] runs the authorization code flow for one [Provider] in two
// HTTP-facing steps:
//
//   - [Flow.Begin] draws a fresh PKCE S256 verifier (RFC 7636; RFC 9700
//     §2.1.1), a state and, for OpenID providers, a nonce (crypto/rand,
//     ≥128 bits), binds them to the browser and redirects to the provider.
//     By default the transaction lives in a short-lived AES-256-GCM
//     encrypted and authenticated __Host- cookie (Secure, HttpOnly,
//     SameSite=Lax, Path=/; a few hundred bytes; never tokens). With
//     [Config.Tickets] it lives server-side and the cookie holds only
//     the state.
//   - [Flow.Callback] clears that cookie, checks the state in constant time
//     and spends it, rejects a mismatched RFC 9207 iss parameter (and a
//     missing one when the provider advertises support), maps error
//     responses to [*ProviderError], exchanges the code with the verifier at
//     the exact registered redirect URI, verifies the id_token (signature
//     against the provider's JWKS through the jwt package's remote key set,
//     algorithm allow-list, iss exact, aud, azp, exp, iat, nonce, auth_time,
//     at_hash; OIDC Core §3.1.3.7), fetches userinfo if configured (its sub
//     must match) and returns an [Identity] keyed by (Issuer, Subject).
//
// Only the code flow exists: no implicit grant, no resource owner password
// grant (RFC 9700 §2.1.2, §2.4).
//
// # Step-up
//
// When another API answers 401 with an RFC 9470 challenge (WWW-Authenticate:
// Bearer error="insufficient_user_authentication", acr_values, max_age),
// [ParseStepUpChallenge] reads it and [Flow.BeginStepUp] sends the user back
// to the provider with that acr_values and max_age (PKCE, state and nonce as
// always). The callback then requires an auth_time within max_age and
// reports the returned acr in [Identity.ACR].
//
// # Single use of the state
//
// With a [TicketStore] the transaction is taken atomically, so a state is
// spent exactly once whatever the client replays. In the default cookie
// mode the server keeps nothing: the callback clears the cookie, so the
// browser cannot complete the same transaction twice, and a transaction
// cannot be completed by another browser (the state must match the
// cookie's sealed copy). The residual risk is an attacker who has stolen
// both the cookie (HttpOnly, Secure) and the callback URL within the TTL
// (10 minutes by default): the replay then reaches the provider, which
// refuses the already redeemed authorization code (RFC 6749 §4.1.2), so
// the attacker gains nothing unless the provider violates that rule. Use a
// TicketStore where even that must be excluded.
//
// # Providers
//
// [Discover] builds a [Provider] for any OpenID provider from its
// /.well-known/openid-configuration (fetched once; the document's issuer
// must equal the configured one; plain http only for loopback issuers).
// [Google] and [GitHub] are preconfigured; GitHub has no OpenID Connect, so
// its identity comes from its user API, and only a primary email GitHub
// marks verified counts as verified. Any other provider is a [Provider]
// literal: set JWKSURL for OpenID Connect, or an [IdentifyFunc].
//
// # Account linking
//
// Key local accounts on (Identity.Issuer, Identity.Subject), never on the
// email. Linking a provider identity to an existing local account because
// the emails match is safe only when both sides proved control of that
// address: if the provider's email is unverified, anyone can claim the
// victim's address there; if the local account's email is unverified, an
// attacker may have pre-registered the victim's address and would share
// the account once the victim signs in through the provider (account
// pre-hijacking, as in the ZITADEL and go-pkgz/auth advisories). [Linker]
// links only when both are verified and otherwise returns
// [ErrAccountExists]; map that to a "sign in with your password, then link
// the provider from your settings" answer (the example server's 409
// account_exists).
//
// # Redirects after login
//
// The return_to destination passed to Begin goes through [SafeReturnTo]:
// only a relative path that cannot become protocol-relative, or an exact
// allow-listed origin; anything else becomes "/" (RFC 9700 §4.11).
//
// # Service-to-service
//
// [NewClientCredentials] returns a cached, concurrency-safe
// [golang.org/x/oauth2.TokenSource] for the client credentials grant that
// refreshes ahead of expiry.
//
// # Testing
//
// Package oauthtest has a fake OpenID provider that can be told to
// misbehave; authkittest holds the conformance suite for [TicketStore]
// implementations.
package oauth
