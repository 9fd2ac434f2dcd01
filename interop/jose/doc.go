// Package jose holds interoperability tests between authkit/jwt and two
// independent JOSE implementations, golang-jwt/jwt/v5 and go-jose/v4: tokens
// authkit issues verify with them given authkit's JWKS, tokens they sign with
// a key authkit's KeySet loads verify with authkit, and the same forgeries
// fail in all three. It is a separate module so the library's go.mod stays
// lean.
package jose
