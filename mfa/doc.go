// Package mfa implements a second authentication factor: TOTP (RFC 6238)
// that cannot be replayed, single-use backup codes, secrets sealed at rest,
// per-account throttling of wrong codes, and the short-lived challenge that
// links the password step of a login to the second step.
//
// # TOTP
//
// [MFA.Enroll] creates a key of at least 160 bits from the CSPRNG (RFC 4226
// §4 R6, ASVS 6.5.3) with github.com/pquerna/otp, returns it as base32, as
// an otpauth:// Key URI (issuer and account percent-encoded) and as a QR
// code PNG, and stores it sealed as pending. [MFA.Confirm] activates it only
// after the user proves one valid code within Config.PendingTTL (default
// 15 minutes; an abandoned pending key is void after it); that code's time
// step is spent like any other, so it cannot be replayed at the next login.
//
// # Replacing or removing a factor
//
// A session alone never changes an active factor. Starting a replacement
// while a TOTP key is active needs a [Proof]: a current TOTP or backup code
// (verified and spent) or the caller's statement that the sign-in itself
// used the second factor recently; without one Enroll returns
// [ErrFactorRequired]. Confirm replaces an active key only with a pending
// key whose Enroll was so authorized. [MFA.Disable] and
// [MFA.RegenerateBackupCodes] take a current code. Enrolling when no
// factor is active needs no proof.
//
// Every write is a compare-and-set on [Enrollment.Version] (a fresh random
// value per write), so a Confirm, Enroll, regeneration or Reseal that read
// the enrollment before a Delete (MFA disabled, account reset) or another
// change writes nothing and returns [ErrStateChanged]: deleted state never
// comes back.
//
// # Missing state fails closed
//
// The login flow keeps a durable fact that MFA is on (on the user record)
// and asks [MFA.Required] with it: when the enrollment is then absent or
// unreadable (data lost from the store, a restore from an older backup)
// the answer is [ErrStateMissing], and the login is refused rather than
// downgraded to one factor.
//
// [MFA.VerifyTOTP] computes the codes (crypto/hmac) for steps T, T−1 and
// T+1 of the server clock (RFC 6238 §5.2, ASVS 6.5.8; 30 s steps, ASVS 6.5.5),
// compares them in constant time and then claims the matched step in a
// [ReplayStore] with an atomic "set if greater". The same step, or any
// earlier one, never passes twice (RFC 6238 §5.2: the verifier "MUST NOT
// accept the second attempt of the OTP after the successful validation"),
// even when many requests race. SHA1 (the default, the one every
// authenticator app supports), SHA256 and SHA512 keys with 6 or 8 digits
// are supported.
//
// # Backup codes
//
// Confirm returns 10 backup codes (configurable) of 120 bits each (ASVS
// 6.5.2 asks for ≥112 bits), shown once in groups like
// "ABCD-EFGH-IJKL-MNOP-QRST-UVWX". The store keeps only HMAC-SHA256 values
// under a server key ([Config.BackupKey]), so a code is found by value and
// spent atomically ([Store.UseBackupCode], ASVS 6.5.1). Input is normalized
// (case, spaces, dashes) before the MAC. [MFA.RegenerateBackupCodes]
// replaces the whole set; it and [MFA.Disable] require a current code.
//
// # Secrets at rest
//
// [SecretBox] seals TOTP keys with AES-256-GCM. Each blob names its key id
// and uses the user id as associated data, so a sealed secret copied to
// another user does not open. New seals use the active key; blobs under
// older keys still open, and [MFA.Reseal] rewrites them under the active
// key.
//
// # Throttling
//
// Every code check counts toward a per-account budget (default 5 per 15
// minutes) in an [AttemptCounter] before it runs, so parallel sessions
// together cannot exceed it (RFC 4226 §7.3, "across login sessions"); a
// success resets it. [AttemptCounter] is only the two methods mfa calls
// (Incr, Reset) of the one attempt counter a host already has (the root
// package's AttemptStore; every store adapter's Attempts); mfa uses keys
// starting with "mfa:".
//
// # Two-step login
//
// After the password step, the login flow calls [MFA.NewChallenge] for the
// user and returns the token as mfa_token instead of tokens or cookies. It
// is 256 random bits, prefixed "mfa_", stored only as its SHA-256 in a
// [TicketStore], valid for 5 minutes and for one successful
// [MFA.VerifyChallenge]; it is not a JWT and no access-token verifier
// accepts it.
//
// # Stores
//
// Stores see sealed secrets, MACs and hashes only. mfa/mfatest holds the
// conformance suites for [Store] and [ReplayStore], authkittest the one for
// the ticket store behind [TicketStore]; store/memstore, store/redisstore
// and store/sqlstore implement all three.
// Enrollments and backup codes are long-lived user state (no expiry);
// replay records and challenges expire, and a store whose server has its
// own clock (Redis) sets their lifetime relative to that clock.
package mfa
