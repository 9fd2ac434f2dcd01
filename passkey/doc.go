// Package passkey adds WebAuthn passkeys (registration, username-less and
// known-user sign-in, second factor) on top of
// github.com/go-webauthn/webauthn, which performs every protocol check:
// client data, RP id hash, flags, attestation and signatures. This package
// never verifies WebAuthn by hand; it adds what the library leaves to the
// relying party:
//
//   - ceremony state: challenges are single-use, expire within
//     [MaxCeremonyTimeout], and are bound to the browser session that began
//     them (the caller passes a binding value, such as a hash of its session
//     cookie); they live in a [TicketStore], the shared single-use store;
//   - credential records in a [CredentialStore] with a conformance suite in
//     passkey/passkeytest;
//   - one WebAuthn user handle per user: a user's first passkey gets
//     HMAC-SHA-256 of the user id under [Config.UserHandleKey] (32 opaque
//     bytes, no personal data), so first registrations running at once
//     agree on it, and later ones reuse the stored handle. Instances of a
//     deployment share the guarantee only when they set the same key;
//   - the sign counter policy (a cloned authenticator is refused, synced
//     passkeys reporting 0 are not), backup-flag updates, user resolution
//     by credential id when a phone sends no userHandle;
//   - typed errors for every refusal, the amr values of RFC 8176 §2 for a
//     sign-in, and the WebAuthn Signal API payloads when a credential goes.
//
// passkey/passkeytest also ships a software authenticator so host
// applications can test their passkey flows without a browser.
package passkey
