package mfa

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Defaults for zero Config fields.
const (
	DefaultDigits         = 6
	DefaultBackupCodes    = 10
	DefaultMaxFailures    = 5
	DefaultFailureWindow  = 15 * time.Minute
	DefaultChallengeTTL   = 5 * time.Minute
	DefaultChallengeTries = 5
	DefaultPendingTTL     = 15 * time.Minute
	DefaultQRSize         = 256
	// MinSecretSize is the minimum TOTP key length in bytes (160 bits;
	// RFC 4226 §4 R6 recommends 160, requires 128).
	MinSecretSize = 20
	// MinBackupKeySize is the minimum length of Config.BackupKey.
	MinBackupKeySize = 32
)

// Config configures an [MFA]. Zero fields take the documented defaults;
// Issuer, Store, Replay, Box, Throttle and BackupKey are required.
type Config struct {
	// Issuer names the service in authenticator apps (otpauth "issuer").
	// It must not contain ':' (Key URI format).
	Issuer string
	// Store keeps enrollments and backup-code MACs.
	Store Store
	// Replay remembers each user's last accepted TOTP step (RFC 6238 §5.2).
	Replay ReplayStore
	// Tickets keeps two-step login challenges (purpose
	// [ChallengePurpose]). Optional: without it NewChallenge and
	// VerifyChallenge return an error.
	Tickets TicketStore
	// Throttle counts wrong codes per account (RFC 4226 §7.3).
	Throttle AttemptCounter
	// Box seals TOTP keys at rest.
	Box *SecretBox
	// BackupKey is the server key (≥32 bytes) under which backup codes are
	// stored as HMAC-SHA256. New codes are always stored under it.
	BackupKey []byte
	// PreviousBackupKeys are keys BackupKey replaced (each ≥32 bytes): codes
	// issued under them still work until spent or regenerated, so rotating
	// the key voids no code. Optional.
	PreviousBackupKeys [][]byte

	// Algorithm for new enrollments; zero is SHA1.
	Algorithm Algorithm
	// Digits for new enrollments: 6 (default) or 8.
	Digits int
	// SecretSize in bytes for new keys; default 20 for SHA1, 32 for SHA256,
	// 64 for SHA512 (the RFC 6238 Appendix B seed sizes); minimum 20.
	SecretSize int
	// BackupCodes is how many codes a set holds; default 10, at most 100.
	BackupCodes int
	// MaxFailures is how many code checks an account gets per
	// FailureWindow before ErrThrottled; default 5.
	MaxFailures int
	// FailureWindow is the throttle window; default 15 minutes.
	FailureWindow time.Duration
	// ChallengeTTL is the lifetime of a login challenge; default 5 minutes.
	ChallengeTTL time.Duration
	// ChallengeAttempts is how many wrong codes one challenge survives;
	// default 5.
	ChallengeAttempts int
	// QRSize is the width and height of the QR PNG; default 256.
	QRSize int
	// PendingTTL is how long an enrollment started by [MFA.Enroll] can be
	// confirmed; default 15 minutes. An abandoned pending key, above all
	// one authorized to replace the active factor, must not stay usable
	// for whoever later learns it.
	PendingTTL time.Duration

	// Now returns the server time (ASVS 6.5.8); nil means time.Now.
	Now func() time.Time
	// Rand is the CSPRNG (ASVS 6.5.3); nil means crypto/rand.Reader.
	Rand io.Reader
}

// MFA implements TOTP (RFC 6238) with replay prevention, backup codes and
// two-step login challenges. It is immutable after New and safe for
// concurrent use.
type MFA struct {
	cfg Config
}

// New validates cfg, fills defaults and returns an MFA.
func New(cfg Config) (*MFA, error) {
	bad := func(format string, a ...any) (*MFA, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, a...)...)
	}
	switch {
	case cfg.Issuer == "":
		return bad("Issuer is required")
	case strings.Contains(cfg.Issuer, ":"):
		return bad("Issuer must not contain ':'")
	case cfg.Store == nil:
		return bad("Store is required")
	case cfg.Replay == nil:
		return bad("Replay is required")
	case cfg.Throttle == nil:
		return bad("Throttle is required")
	case cfg.Box == nil:
		return bad("Box is required")
	case len(cfg.BackupKey) < MinBackupKeySize:
		return bad("BackupKey must be at least %d bytes", MinBackupKeySize)
	case !cfg.Algorithm.valid():
		return bad("unknown Algorithm %d", cfg.Algorithm)
	}
	cfg.BackupKey = bytes.Clone(cfg.BackupKey)
	prev := make([][]byte, 0, len(cfg.PreviousBackupKeys))
	for _, k := range cfg.PreviousBackupKeys {
		if len(k) < MinBackupKeySize {
			return bad("PreviousBackupKeys must be at least %d bytes each", MinBackupKeySize)
		}
		prev = append(prev, bytes.Clone(k))
	}
	cfg.PreviousBackupKeys = prev
	if cfg.Digits == 0 {
		cfg.Digits = DefaultDigits
	}
	if cfg.Digits != 6 && cfg.Digits != 8 {
		return bad("Digits must be 6 or 8")
	}
	if cfg.SecretSize == 0 {
		cfg.SecretSize = map[Algorithm]int{SHA1: 20, SHA256: 32, SHA512: 64}[cfg.Algorithm]
	}
	if cfg.SecretSize < MinSecretSize || cfg.SecretSize > 128 {
		return bad("SecretSize must be between %d and 128", MinSecretSize)
	}
	if cfg.BackupCodes == 0 {
		cfg.BackupCodes = DefaultBackupCodes
	}
	if cfg.BackupCodes < 1 || cfg.BackupCodes > 100 {
		return bad("BackupCodes must be between 1 and 100")
	}
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.FailureWindow == 0 {
		cfg.FailureWindow = DefaultFailureWindow
	}
	if cfg.ChallengeTTL == 0 {
		cfg.ChallengeTTL = DefaultChallengeTTL
	}
	if cfg.ChallengeAttempts == 0 {
		cfg.ChallengeAttempts = DefaultChallengeTries
	}
	if cfg.QRSize == 0 {
		cfg.QRSize = DefaultQRSize
	}
	if cfg.PendingTTL == 0 {
		cfg.PendingTTL = DefaultPendingTTL
	}
	if cfg.MaxFailures < 1 || cfg.FailureWindow < time.Second || cfg.ChallengeTTL < time.Second ||
		cfg.PendingTTL < time.Minute || cfg.ChallengeAttempts < 1 || cfg.QRSize < 64 || cfg.QRSize > 2048 {
		return bad("MaxFailures, FailureWindow, ChallengeTTL, PendingTTL, ChallengeAttempts or QRSize out of range")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &MFA{cfg: cfg}, nil
}

// Setup is the result of [MFA.Enroll]: what the user needs to add the key to
// an authenticator app. Show it once; it is not retrievable later.
type Setup struct {
	// Secret is the key in unpadded base32, for manual entry.
	Secret string
	// URL is the otpauth:// Key URI (Google Authenticator Key Uri Format).
	URL string
	// QRPNG is a PNG image of a QR code encoding URL.
	QRPNG []byte
	// Algorithm and Digits of the new key; the period is always 30 s.
	Algorithm Algorithm
	Digits    int
}

// Sealed key payload: version | algorithm | digits | secret.
const keyPayloadVersion = 1

func encodeKey(k totpKey) []byte {
	p := make([]byte, 0, 3+len(k.secret))
	p = append(p, keyPayloadVersion, byte(k.alg), byte(k.digits))
	return append(p, k.secret...)
}

func decodeKey(p []byte) (totpKey, bool) {
	if len(p) < 3+MinSecretSize || p[0] != keyPayloadVersion || !Algorithm(p[1]).valid() ||
		(p[2] != 6 && p[2] != 8) {
		return totpKey{}, false
	}
	return totpKey{secret: p[3:], alg: Algorithm(p[1]), digits: int(p[2])}, true
}

func (m *MFA) openKey(userID string, sealed []byte) (totpKey, error) {
	p, err := m.cfg.Box.Open(userID, sealed)
	if err != nil {
		return totpKey{}, err
	}
	k, ok := decodeKey(p)
	if !ok {
		return totpKey{}, fmt.Errorf("%w: bad key payload", ErrSealedSecret)
	}
	return k, nil
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// labelEscape escapes an otpauth label part: everything outside the
// unreserved set and a few harmless sub-delims is percent-encoded, spaces
// as %20 (Key Uri Format).
func labelEscape(s string) string { return url.PathEscape(s) }

func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// KeyURI builds the otpauth:// URI for a TOTP key (Google Authenticator Key
// Uri Format): label "issuer:account" with each part percent-encoded, and
// the issuer repeated as a parameter. Neither part may contain ':'.
func KeyURI(issuer, account, secretBase32 string, alg Algorithm, digits int) (string, error) {
	if issuer == "" || account == "" || strings.Contains(issuer, ":") || strings.Contains(account, ":") {
		return "", fmt.Errorf("mfa: issuer and account must be non-empty and contain no ':'")
	}
	if !alg.valid() || (digits != 6 && digits != 8) {
		return "", fmt.Errorf("mfa: bad algorithm or digits")
	}
	return "otpauth://totp/" + labelEscape(issuer) + ":" + labelEscape(account) +
		"?secret=" + secretBase32 + "&issuer=" + queryEscape(issuer) +
		"&algorithm=" + alg.String() + "&digits=" + strconv.Itoa(digits) + "&period=30", nil
}

func toOTPAlgorithm(a Algorithm) otp.Algorithm {
	switch a {
	case SHA256:
		return otp.AlgorithmSHA256
	case SHA512:
		return otp.AlgorithmSHA512
	}
	return otp.AlgorithmSHA1
}

// Proof authorizes replacing an active second factor ([MFA.Enroll] while a
// TOTP key is active). The zero Proof authorizes nothing.
type Proof struct {
	// Code is a current TOTP code or an unused backup code of the active
	// factor. It is verified like a login code (throttled, replay-proof)
	// and spent.
	Code string
	// RecentSecondFactor is the caller's statement that the sign-in of
	// this request itself used the second factor, within the caller's
	// recent-authentication window (for example the access token's amr
	// includes "mfa" or "otp" and its auth_time is recent). mfa cannot
	// check it; set it only from such verified facts.
	RecentSecondFactor bool
}

// newVersion returns a fresh random nonzero [Enrollment.Version] distinct
// from prev.
func (m *MFA) newVersion(prev uint64) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(m.cfg.Rand, b[:]); err != nil {
		return 0, fmt.Errorf("mfa: generating version: %w", err)
	}
	v := binary.BigEndian.Uint64(b[:])
	if v == 0 || v == prev {
		v = prev + 1
		if v == 0 {
			v = 1
		}
	}
	return v, nil
}

// put writes e over the state with version prev (0: none stored) under a
// fresh version; a lost compare-and-set is [ErrStateChanged].
func (m *MFA) put(ctx context.Context, userID string, prev uint64, e Enrollment, codeMACs [][]byte) error {
	v, err := m.newVersion(prev)
	if err != nil {
		return err
	}
	e.Version = v
	ok, err := m.cfg.Store.Put(ctx, userID, prev, e, codeMACs)
	if err != nil {
		return fmt.Errorf("mfa: store: %w", err)
	}
	if !ok {
		return ErrStateChanged
	}
	return nil
}

// Enroll starts a TOTP enrollment for userID: it generates a fresh key from
// the CSPRNG (RFC 6238 §5.1; RFC 4226 §4 R6), seals it and stores it as
// pending. account is the label shown in the app (for example the email
// address) and must not contain ':'.
//
// When the user has no active factor, p is ignored. When a TOTP key is
// active, starting its replacement needs p: a current code (verified and
// spent first) or p.RecentSecondFactor; otherwise Enroll returns
// [ErrFactorRequired] and stores nothing. The active key keeps working
// until [MFA.Confirm] succeeds with a code from the new one. Errors:
// [ErrFactorRequired], those of [MFA.Verify] for p.Code,
// [ErrStateChanged] when the enrollment changed meanwhile, or a wrapped
// store error.
func (m *MFA) Enroll(ctx context.Context, userID, account string, p Proof) (*Setup, error) {
	if strings.Contains(account, ":") || account == "" {
		return nil, fmt.Errorf("mfa: account must be non-empty and contain no ':'")
	}
	e, found, err := m.cfg.Store.Get(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mfa: store: %w", err)
	}
	if e.Active() {
		switch {
		case p.RecentSecondFactor:
		case p.Code != "":
			if _, err := m.Verify(ctx, userID, p.Code); err != nil {
				return nil, err
			}
		default:
			return nil, ErrFactorRequired
		}
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      m.cfg.Issuer,
		AccountName: account,
		SecretSize:  uint(m.cfg.SecretSize),
		Digits:      otp.Digits(m.cfg.Digits),
		Algorithm:   toOTPAlgorithm(m.cfg.Algorithm),
		Rand:        m.cfg.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("mfa: generating key: %w", err)
	}
	secretB32 := key.Secret()
	secret, err := b32.DecodeString(secretB32)
	if err != nil || len(secret) != m.cfg.SecretSize {
		return nil, fmt.Errorf("mfa: generated key has unexpected form")
	}
	uri, err := KeyURI(m.cfg.Issuer, account, secretB32, m.cfg.Algorithm, m.cfg.Digits)
	if err != nil {
		return nil, err
	}
	qrKey, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, fmt.Errorf("mfa: key uri: %w", err)
	}
	img, err := qrKey.Image(m.cfg.QRSize, m.cfg.QRSize)
	if err != nil {
		return nil, fmt.Errorf("mfa: qr code: %w", err)
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		return nil, fmt.Errorf("mfa: qr png: %w", err)
	}
	sealed, err := m.cfg.Box.Seal(userID, encodeKey(totpKey{secret: secret, alg: m.cfg.Algorithm, digits: m.cfg.Digits}))
	clear(secret)
	if err != nil {
		return nil, err
	}
	prev := e.Version
	if !found {
		prev = 0
	}
	e.Pending, e.PendingAt, e.PendingReplaces = sealed, m.cfg.Now(), e.Active()
	if err := m.put(ctx, userID, prev, e, nil); err != nil {
		return nil, err
	}
	return &Setup{Secret: secretB32, URL: uri, QRPNG: pngBuf.Bytes(), Algorithm: m.cfg.Algorithm, Digits: m.cfg.Digits}, nil
}

// Confirm completes a pending enrollment: code must be valid for the pending
// key, within Config.PendingTTL of its [MFA.Enroll] (later the pending key
// is void: [ErrNoPendingEnrollment]). The code's time step is claimed in the ReplayStore like any other, so
// it cannot be replayed at the next login (RFC 6238 §5.2). On success the
// pending key becomes the active one and a fresh set of backup codes
// replaces any old set in the same store write; they are returned once and
// never stored in clear.
//
// A pending key never replaces an active one unless its [MFA.Enroll] was
// authorized by a [Proof] ([ErrFactorRequired] otherwise), and a Confirm
// that read the enrollment before it was changed or deleted writes nothing
// ([ErrStateChanged]).
func (m *MFA) Confirm(ctx context.Context, userID, code string) (backupCodes []string, err error) {
	e, found, err := m.cfg.Store.Get(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mfa: store: %w", err)
	}
	if !found || len(e.Pending) == 0 || !m.cfg.Now().Before(e.PendingAt.Add(m.cfg.PendingTTL)) {
		return nil, ErrNoPendingEnrollment
	}
	if e.Active() && !e.PendingReplaces {
		return nil, ErrFactorRequired
	}
	err = m.throttled(ctx, userID, func() error { return m.checkTOTP(ctx, userID, e.Pending, code) })
	if err != nil {
		return nil, err
	}
	codes, macs, err := m.newBackupCodes(userID)
	if err != nil {
		return nil, err
	}
	next := Enrollment{Secret: e.Pending, ConfirmedAt: m.cfg.Now()}
	if err := m.put(ctx, userID, e.Version, next, macs); err != nil {
		return nil, err
	}
	return codes, nil
}

// Enrolled reports whether userID has a confirmed TOTP factor, i.e. whether
// the login flow must ask for a second factor.
func (m *MFA) Enrolled(ctx context.Context, userID string) (bool, error) {
	e, found, err := m.cfg.Store.Get(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("mfa: store: %w", err)
	}
	return found && e.Active(), nil
}

// Required reports whether userID must pass the second factor at login.
// expected is the durable fact the caller keeps outside this package (on
// the user record) that MFA is on for the user. When expected is true and
// the enrollment is absent, has no active key or cannot be read, Required
// returns true and an error matching [ErrStateMissing] (and the store
// error, if any): the caller refuses the login, and never downgrades it
// to one factor. When expected is false it reports whether a key is
// active, and a store failure is returned wrapped (callers fail closed).
func (m *MFA) Required(ctx context.Context, userID string, expected bool) (bool, error) {
	e, found, err := m.cfg.Store.Get(ctx, userID)
	switch {
	case err != nil && expected:
		return true, fmt.Errorf("%w: %w", ErrStateMissing, err)
	case err != nil:
		return false, fmt.Errorf("mfa: store: %w", err)
	case expected && (!found || !e.Active()):
		return true, ErrStateMissing
	}
	return found && e.Active(), nil
}

// Method tells which factor a code was.
type Method int

// Methods returned by [MFA.Verify].
const (
	MethodTOTP Method = iota + 1
	MethodBackupCode
)

// String returns "totp" or "backup_code".
func (m Method) String() string {
	switch m {
	case MethodTOTP:
		return "totp"
	case MethodBackupCode:
		return "backup_code"
	}
	return "unknown"
}

// looksLikeTOTP reports whether code is all ASCII digits of a TOTP length.
func looksLikeTOTP(code string) bool {
	if len(code) != 6 && len(code) != 8 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// Verify checks a second-factor code for an enrolled user: a TOTP code
// (6 or 8 digits, surrounding spaces ignored) or a backup code. TOTP codes
// are accepted at most once per time step (RFC 6238 §5.2, ASVS 6.5.1) and
// backup codes at most once. Wrong codes count toward the per-account
// throttle (RFC 4226 §7.3); a success resets it. Errors: [ErrInvalidCode]
// (also for replays, which additionally match [ErrReplayed]),
// [ErrNotEnrolled], [ErrThrottled], or a wrapped store error.
func (m *MFA) Verify(ctx context.Context, userID, code string) (Method, error) {
	code = strings.TrimSpace(code)
	if looksLikeTOTP(code) {
		return MethodTOTP, m.VerifyTOTP(ctx, userID, code)
	}
	return MethodBackupCode, m.UseBackupCode(ctx, userID, code)
}

// VerifyTOTP checks a TOTP code against the user's active key at server
// time (ASVS 6.5.8) for steps T−1, T and T+1 and claims the matched step;
// see [MFA.Verify] for the errors.
func (m *MFA) VerifyTOTP(ctx context.Context, userID, code string) error {
	e, found, err := m.cfg.Store.Get(ctx, userID)
	if err != nil {
		return fmt.Errorf("mfa: store: %w", err)
	}
	if !found || !e.Active() {
		return ErrNotEnrolled
	}
	return m.throttled(ctx, userID, func() error { return m.checkTOTP(ctx, userID, e.Secret, code) })
}

// replayExpiry is when a claimed step can no longer match: after step+1
// has passed (the code of step is accepted while the current step is at
// most step+1), with one step of margin for coarse store clocks.
func replayExpiry(step uint64) time.Time {
	if step > (1<<62)/periodSeconds {
		step = (1 << 62) / periodSeconds
	}
	return time.Unix(int64(step+3)*periodSeconds, 0)
}

func (m *MFA) checkTOTP(ctx context.Context, userID string, sealed []byte, code string) error {
	k, err := m.openKey(userID, sealed)
	if err != nil {
		return err
	}
	step, ok := k.match(code, m.cfg.Now())
	clear(k.secret)
	if !ok {
		return ErrInvalidCode
	}
	ok, err = m.cfg.Replay.Advance(ctx, userID, step, replayExpiry(step))
	if err != nil {
		return fmt.Errorf("mfa: replay store: %w", err)
	}
	if !ok {
		return replayError{}
	}
	return nil
}

// throttleKey is the AttemptCounter key for a user's wrong codes.
func throttleKey(userID string) string { return "mfa:" + userID }

// throttled runs check under the per-account throttle. Every check is
// counted before it runs, so parallel sessions together get at most
// MaxFailures checks per window (RFC 4226 §7.3 "across login sessions");
// attempts past the budget are counted too, which does not extend the
// window. A success resets the count.
func (m *MFA) throttled(ctx context.Context, userID string, check func() error) error {
	key := throttleKey(userID)
	now := m.cfg.Now()
	n, end, err := m.cfg.Throttle.Incr(ctx, key, m.cfg.FailureWindow)
	if err != nil {
		return fmt.Errorf("mfa: throttle: %w", err)
	}
	if n > m.cfg.MaxFailures {
		return &ThrottledError{RetryAfter: max(end.Sub(now), 0)}
	}
	if err := check(); err != nil {
		return err
	}
	// The code is already spent; a failed reset only leaves a stale count
	// that expires with the window, so it does not fail the verification.
	_ = m.cfg.Throttle.Reset(ctx, key)
	return nil
}

// Disable removes the user's TOTP key and backup codes after checking a
// current code (TOTP or backup code; ASVS 6.5.x, and the login flow also
// requires a recent sign-in, ASVS 7.5.1).
func (m *MFA) Disable(ctx context.Context, userID, code string) error {
	if _, err := m.Verify(ctx, userID, code); err != nil {
		return err
	}
	if err := m.cfg.Store.Delete(ctx, userID); err != nil {
		return fmt.Errorf("mfa: store: %w", err)
	}
	return nil
}

// Reseal re-encrypts the user's stored keys under the SecretBox's active
// key after a key rotation; changed reports whether anything was rewritten.
// A concurrent change of the enrollment makes it fail with
// [ErrStateChanged]; call it again.
func (m *MFA) Reseal(ctx context.Context, userID string) (changed bool, err error) {
	e, found, err := m.cfg.Store.Get(ctx, userID)
	if err != nil || !found {
		return false, err
	}
	for _, p := range []*[]byte{&e.Secret, &e.Pending} {
		if len(*p) == 0 {
			continue
		}
		out, c, err := m.cfg.Box.Reseal(userID, *p)
		if err != nil {
			return false, err
		}
		*p, changed = out, changed || c
	}
	if changed {
		if err := m.put(ctx, userID, e.Version, e, nil); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// isCodeFailure reports whether err is a wrong or replayed code (as opposed
// to a system failure).
func isCodeFailure(err error) bool { return errors.Is(err, ErrInvalidCode) }
