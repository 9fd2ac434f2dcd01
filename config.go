package authkit

import (
	"io"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/session"
)

// Config configures [New]. Five fields are required: the host's Users, the
// signing Keys, the TokenIssuer and the stores every instance must share
// (RefreshStore, Attempts). Every other zero field takes the
// documented secure default. Stores are never defaulted: a missing store is
// a configuration error, so a production deployment cannot silently run on
// memory.
type Config struct {
	// Users is the host's account table. Required.
	Users UserStore
	// Hasher hashes and verifies passwords; nil means argon2id with the
	// password package's defaults (OWASP parameters).
	Hasher *password.Hasher
	// PasswordPolicy checks new passwords (sign-up, change, reset); nil
	// means the password package's default policy (NIST SP 800-63B section
	// 3.1.1.2: length 8 to 64, blocklist, no composition rules).
	PasswordPolicy *password.Policy

	// Keys sign access tokens (its active key) and verify them; they rotate
	// on their own (jwt.KeySet). Required.
	Keys *jwt.KeySet
	// Secrets derives the symmetric keys authkit needs from one master
	// secret (see [Secrets]). Optional; when set, [Auth.Secrets] returns it.
	Secrets *Secrets
	// TokenIssuer is the "iss" of access tokens, e.g. the service's URL.
	// Required.
	TokenIssuer string
	// Audience is the "aud" of access tokens; nil means []string{TokenIssuer}.
	Audience []string
	// Leeway is the clock-skew allowance when verifying access tokens; zero
	// means none, at most one minute.
	Leeway time.Duration
	// AccessLifetime of access tokens; zero means 15 minutes.
	AccessLifetime time.Duration
	// RefreshLifetime of one refresh token; zero means 7 days.
	RefreshLifetime time.Duration
	// FamilyLifetime is the absolute lifetime of one login's refresh-token
	// family (ASVS 10.4.8); zero means 30 days.
	FamilyLifetime time.Duration
	// RefreshGrace is the retry window of a refresh-token rotation: the
	// same refresh token presented again within it (a client that lost the
	// response) gets the same new tokens instead of a reuse verdict; see
	// jwt.RefreshManagerConfig.GraceWindow for what it costs. Zero means 5 s;
	// jwt.NoGraceWindow turns it off; at most one minute.
	RefreshGrace time.Duration
	// RefreshStore keeps refresh tokens (rotation, reuse detection).
	// Required.
	RefreshStore jwt.RefreshStore
	// NotBefore keeps the per-user not-before written by log out everywhere,
	// password change and account disabling (ASVS 7.4.1); nil means
	// RefreshStore, which holds it (the one refresh contract).
	NotBefore jwt.NotBeforeStore

	// Attempts counts failures for the lockout, the sign-up limit and the
	// mail throttles. Required. (The same store may serve as the mfa
	// package's AttemptCounter: the key spaces do not overlap.)
	Attempts AttemptStore
	// Lockout tunes the login throttle; its Store and Now fields are
	// ignored (Attempts and Now are used).
	Lockout LockoutConfig
	// SignupLimit bounds sign-ups per client IP; zero means 30 per 10
	// minutes.
	SignupLimit Tier

	// MFA enables the TOTP step and the /auth/mfa endpoints. Optional: nil
	// means no account is ever asked for a second factor and those
	// endpoints answer 404. Its Tickets store is required when set.
	MFA *mfa.MFA
	// Passkeys enables passkey (WebAuthn) sign-in, passkeys as the second
	// factor, passkey re-authentication and the /auth passkey endpoints
	// (see [Auth.BeginPasskeySignIn]). Optional: nil means those methods
	// give [ErrPasskeysNotConfigured] and the endpoints answer 404. Give it
	// the same clock as Now.
	Passkeys *passkey.Passkeys
	// Sessions, if set, has every session of a user ended on log out
	// everywhere, password change, reset and disabling.
	Sessions *session.Manager

	// Tickets and Mailer enable password reset and email verification
	// (both or neither); the host then runs [Auth.RunMailer]. The tokens
	// are kept in Tickets under the purposes [PurposePasswordReset] and
	// [PurposeVerifyEmail]; the store may be the one MFA, OAuth and
	// passkeys use.
	Tickets TicketStore
	Mailer  Mailer
	// ResetLifetime of reset and verification tokens; zero means 30 minutes.
	ResetLifetime time.Duration

	// RecentAuth is how long after an interactive sign-in sensitive changes
	// (MFA enrollment and removal, new backup codes) are allowed; zero means
	// 10 minutes (ASVS 7.5.1).
	RecentAuth time.Duration
	// Roles gives a new account its roles; nil means []string{"viewer"}.
	Roles func(login string) []string
	// NewUserID returns the ID of a new account; nil means 128 random bits
	// in hex.
	NewUserID func() (string, error)
	// ClientIP finds the client address for throttling and audit; nil means
	// the host part of RemoteAddr (no proxy headers trusted).
	ClientIP *middleware.ClientIPResolver
	// TrustedOrigins are extra origins allowed to POST to the handlers
	// (net/http.CrossOriginProtection; same-origin requests always pass).
	TrustedOrigins []string
	// Audit receives audit events; nil means slog.Default.
	Audit *Auditor
	// MaxBodyBytes caps request bodies of the handlers; zero means 64 KiB.
	MaxBodyBytes int64
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the CSPRNG for tokens and ids; nil means crypto/rand.Reader.
	Rand io.Reader

	// Login-flow settings.

	// DeviceKey signs device tokens (HMAC-SHA-256, at least 32 bytes; see
	// [Auth.IssueDeviceToken]). Nil means the key Config.Secrets derives for
	// [LabelDeviceCookie] when Secrets is set, else a random key per Auth: devices are
	// then trusted by this process only, until it restarts (they fall back
	// to the normal throttling, never to less); set it when several
	// instances serve one user base.
	DeviceKey []byte
	// HashWait bounds how long a request waits for a password-hashing slot
	// (password.Config.MaxConcurrent) before it gets [ErrBusy]; zero means
	// one second.
	HashWait time.Duration
	// StoreTimeout bounds each store step the flow makes for a request,
	// never beyond the request's own deadline; zero means 2 seconds. A step
	// that runs out gets [ErrStoreTimeout].
	StoreTimeout time.Duration
	// MailQueue is the capacity of the queue of reset and verification
	// mails that [Auth.RunMailer] sends; zero means 1000. A full queue
	// answers [ErrBusy].
	MailQueue int
	// MailAttempts is how often one mail is tried before it is dropped
	// (and audited as EventMailFailed); zero means 3.
	MailAttempts int
	// MailRetryDelay is the wait before the first retry of a failed mail,
	// doubling after each; zero means 30 seconds.
	MailRetryDelay time.Duration
	// UnsafeMFAWithoutUserFlag lets Config.MFA run on a Users store that is
	// no [UserUpdater]. User.MFAEnabled is then never set, and an MFA
	// enrollment lost from the MFA store turns the second factor off for
	// that account.
	UnsafeMFAWithoutUserFlag bool
}
