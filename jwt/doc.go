// Package jwt issues and verifies short-lived access tokens (RFC 9068 JWT
// profile) and rotates opaque refresh tokens with reuse detection.
//
// # Keys
//
// A [KeySet] holds [Key] values by kid, each bound to exactly one algorithm:
// ES256 (the default), EdDSA, RS256 or PS256 (RSA ≥ 2048 bits), and HS256
// (≥ 32-byte secrets) only with [KeySetConfig].InsecureAllowHS256. Keys are
// generated ([GenerateKey]), loaded from PEM ([ParseKeyPEM]) or JWK
// ([ParseJWK]), rotated ([KeySet.Rotate]: the new key signs, old keys verify
// until [KeySet.Remove]) and published with [KeySet.JWKSHandler] (public keys
// only, Cache-Control max-age). [KeySet.Save] and [LoadKeySet] persist keys
// through a [KeySource]; [FileKeySource] writes 0600 files, optionally sealed
// with AES-256-GCM under a key-encryption key.
//
// # What comes from where
//
// github.com/lestrrat-go/jwx/v3 handles JWK material only: importing keys
// into JWKs, RFC 7638 thumbprints (default kids), [ParseJWK], the published
// JWK Set, [KeySource] persistence, and the fetching and caching of remote
// JWK Sets for [RemoteKeySet] (jwk.Cache over httprc). Signing and
// signature verification call the standard library's crypto/ecdsa,
// crypto/ed25519, crypto/rsa and crypto/hmac directly on keys resolved by
// kid; the package does not use jwx's jws or jwt packages (its tests do, to
// check interoperability). Claim values and the issued
// claims object are encoded and decoded with encoding/json. What is
// hand-written is the compact-JWS splitting and a small validating JSON
// scanner for the header and claims objects: it refuses duplicate member
// names, invalid UTF-8 and unpaired surrogate escapes and bounds nesting,
// which encoding/json does not (it keeps the last duplicate and matches
// member names case-insensitively), and it gives each member to the verifier
// by its exact name.
//
// # Access tokens
//
// [Issuer.Issue] mints tokens with header typ "at+jwt" and kid, and claims
// iss, sub, aud, exp (default 15 minutes), iat, nbf, jti, roles, amr, acr
// and auth_time, plus host claims (reserved names are refused).
//
// [Verifier.Verify] runs a lean compact-JWS path of its own over keys already
// resolved by kid, in this order: size cap (8 KiB) before parsing; exactly two
// dots and the base64url alphabet (no JSON serialization, no JWE); strict
// base64url (non-canonical trailing bits rejected); header as UTF-8 JSON
// without duplicate members and without crit, jku, jwk, x5u, x5c, b64, cty,
// enc or zip; alg in the allow-list and equal to the algorithm bound to the
// key found by kid (a map lookup only: nothing is ever fetched because of a
// header); the signature (crypto/ecdsa refuses r or s outside 1..n-1); only
// then the typ
// and the claims: no duplicates, required iss, sub, aud, exp, iat, jti,
// NumericDates as non-negative integers, exp/nbf/iat with a leeway of at
// most 60 s, exact iss, aud allow-list, and an optional per-user not-before
// ([NotBeforeStore]). Signature errors are therefore reported ahead of
// expiry. Every failure satisfies errors.Is(err, [ErrInvalidToken]) (show
// only that to clients) and also wraps the precise cause for logs.
//
// [Claims] carries Subject, Roles, AMR (RFC 8176 methods, e.g. "otp" after the
// MFA step), AuthTime (last active authentication, for "recent login"
// checks) and ACR (the authentication context class of that sign-in, RFC
// 9068 §2.2.1) for the middleware's principal.
//
// # Resource servers and ID tokens
//
// [RemoteKeySet] verifies another issuer's tokens from its JWKS URL through
// jwx's cache; a redirect to another host or from https to http is refused.
// It does no I/O until [RemoteKeySet.Start]; [RemoteKeySet.Close]
// stops the refresh workers. An unknown kid forces at most one refetch per
// interval, and the last good set keeps serving while the issuer is down.
// [VerifySignature] (or [RemoteKeySet.VerifySignature]) checks only the
// signature and header rules with a caller-given algorithm allow-list and
// returns the payload and typ: the oauth package uses it for OIDC ID tokens
// and then validates iss, aud, azp, exp and nonce itself.
//
// # Refresh tokens
//
// Refresh tokens are opaque ("akrt_" + the user's shard + 256 random bits),
// not JWTs: only this server reads them and it must consult the
// [RefreshStore] on every use anyway, and an opaque token can never pass as
// an access token. The store sees only ids ([RefreshTokenID]: the shard and
// the token's SHA-256). [RefreshManager.Refresh] rotates a token in one
// atomic store operation ([RefreshStore.Rotate]) that marks it used and
// stores its successor together, so a store error, a crash or a lost reply
// never leaves the family half-rotated. Rotation is safe to retry: within
// a short grace window (5 s by default) the same token gets the same
// successor back, sealed in the store under a key only the presented token
// opens; after the window, or once the successor has itself been rotated,
// a second use of any token of a family revokes the family, its newest
// token included, and returns [ErrTokenReused] (RFC 9700 §4.14.2).
//
// A family keeps the facts of the sign-in that started it ([SignIn]:
// auth_time, amr, acr, MFA) and every rotation returns them unchanged.
// Families have an absolute lifetime. The same store keeps the per-user
// not-before: [RefreshManager.RevokeUser] records it and revokes the
// families (logout everywhere), a sign-in that predates it cannot start a
// family, and the [Verifier] refuses access tokens issued before it. The
// verifier caches not-before values for NotBeforeCacheTTL (5 s by default),
// so other instances refuse old access tokens within that time; a cached
// value is never older than the last [Verifier.ForgetNotBefore] on that
// instance.
//
// Store implementations are checked with the jwttest conformance suite.
package jwt
