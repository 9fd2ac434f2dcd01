package passkey

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tinylib/msgp/msgp"
)

// Limits.
const (
	// MaxCeremonyTimeout is the longest a challenge stays valid (and the
	// default). A ceremony finished later fails with [ErrChallengeExpired].
	MaxCeremonyTimeout = 5 * time.Minute
	// MaxResponseBytes bounds the JSON a finish accepts; larger input fails
	// with [ErrMalformed] before any parsing.
	MaxResponseBytes = 64 << 10
	// MaxNameBytes bounds a credential name.
	MaxNameBytes = 100
	// expiredGrace is how long a ticket stays in the store after its
	// challenge expired, so a late finish reports ErrChallengeExpired
	// (begin again) rather than ErrReplay.
	expiredGrace = 10 * time.Minute
	// maxUpdateAttempts bounds the compare-and-set retries of one sign-in
	// racing others on the same credential.
	maxUpdateAttempts = 8
)

// Ticket purposes in the [TicketStore].
const (
	PurposeRegister = "passkey.register"
	PurposeLogin    = "passkey.login"
)

// Config configures [New]. RPID, RPDisplayName, Origins, Credentials and
// Tickets are required.
type Config struct {
	// RPID is the relying party id: the registrable domain passkeys are
	// scoped to ("example.com"). It cannot change once users register.
	RPID string
	// RPDisplayName is shown by the browser during registration.
	RPDisplayName string
	// Origins are the exact origins pages run ceremonies from
	// ("https://login.example.com"). Each must be https (http only for
	// localhost) with a host equal to RPID or under it. There is no
	// default: a ceremony from any other origin fails with ErrWrongOrigin.
	Origins []string

	// Credentials stores passkeys.
	Credentials CredentialStore
	// Tickets stores ceremony state (challenges) until finish.
	Tickets TicketStore

	// Timeout is how long a begun ceremony may be finished; zero means
	// MaxCeremonyTimeout, which is also the maximum.
	Timeout time.Duration

	// UnsafeAllowNoUserVerification asks authenticators for user
	// verification ("preferred") instead of requiring it. Without user
	// verification a passkey is possession only and never counts as
	// multi-factor.
	UnsafeAllowNoUserVerification bool
	// UserVerifiedSingleFactor makes a user-verified passkey sign-in count
	// as one factor (Result.MultiFactor false, no "mfa" in amr). By default
	// it counts as multi-factor (possession plus the authenticator's PIN or
	// biometric) and skips TOTP.
	UserVerifiedSingleFactor bool

	// UserHandleKey is the HMAC-SHA-256 key (at least 32 bytes) that
	// derives the WebAuthn user handle of a user's first passkey:
	// HMAC-SHA-256(key, a fixed label and the user id), 32 bytes that
	// reveal nothing about the user. Because it is derived rather than
	// drawn, two first registrations of one user running at once agree on
	// it, and the user keeps one handle. Later registrations reuse the
	// handle stored with the user's passkeys, so changing the key only
	// affects users without any.
	//
	// nil means a random key drawn from Rand in New: handles then agree
	// within this Passkeys only. Every instance of a deployment that runs
	// more than one must set the same key (for example one derived from
	// the application's master secret) for the guarantee to hold across
	// instances.
	UserHandleKey []byte

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand supplies challenges (and the UserHandleKey when nil); nil means
	// crypto/rand.
	Rand io.Reader
}

// MinUserHandleKeyBytes is the shortest [Config.UserHandleKey] New accepts.
const MinUserHandleKeyBytes = 32

// userHandleLabel prefixes the user id in the HMAC that derives a user
// handle, so the key cannot be used to derive anything else by accident.
const userHandleLabel = "authkit passkey user handle v1\x00"

// Passkeys runs WebAuthn ceremonies. It is safe for concurrent use.
type Passkeys struct {
	wa        *webauthn.WebAuthn
	creds     CredentialStore
	tickets   TicketStore
	rpID      string
	rpIDHash  [32]byte
	origins   []string
	timeout   time.Duration
	uv        bool
	singleFac bool
	now       func() time.Time
	rand      io.Reader
	handleKey []byte
}

// New validates cfg and returns a Passkeys. Errors wrap [ErrInvalidConfig].
func New(cfg Config) (*Passkeys, error) {
	bad := func(format string, a ...any) (*Passkeys, error) {
		return nil, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, a...))
	}
	if cfg.RPID == "" {
		return bad("RPID is required")
	}
	if err := protocol.ValidateRPID(cfg.RPID); err != nil {
		return bad("RPID %q: %v", cfg.RPID, err)
	}
	if strings.TrimSpace(cfg.RPDisplayName) == "" {
		return bad("RPDisplayName is required")
	}
	if len(cfg.Origins) == 0 {
		return bad("Origins is required (no default origin)")
	}
	origins := make([]string, 0, len(cfg.Origins))
	for _, o := range cfg.Origins {
		if err := checkOrigin(o, cfg.RPID); err != nil {
			return bad("origin %q: %v", o, err)
		}
		origins = append(origins, o)
	}
	if cfg.Credentials == nil {
		return bad("Credentials store is required")
	}
	if cfg.Tickets == nil {
		return bad("Tickets store is required")
	}
	if cfg.UserHandleKey != nil && len(cfg.UserHandleKey) < MinUserHandleKeyBytes {
		return bad("UserHandleKey is %d bytes, want at least %d", len(cfg.UserHandleKey), MinUserHandleKeyBytes)
	}
	timeout := cfg.Timeout
	switch {
	case timeout == 0:
		timeout = MaxCeremonyTimeout
	case timeout < 10*time.Second || timeout > MaxCeremonyTimeout:
		return bad("Timeout %v outside [10s, %v]", timeout, MaxCeremonyTimeout)
	}
	uv := protocol.VerificationRequired
	if cfg.UnsafeAllowNoUserVerification {
		uv = protocol.VerificationPreferred
	}
	requireRK := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPDisplayName,
		RPOrigins:             origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: &requireRK,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   uv,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: timeout, TimeoutUVD: timeout},
			Registration: webauthn.TimeoutConfig{Timeout: timeout, TimeoutUVD: timeout},
		},
	})
	if err != nil {
		return bad("%v", err)
	}
	p := &Passkeys{
		wa: wa, creds: cfg.Credentials, tickets: cfg.Tickets,
		rpID: cfg.RPID, rpIDHash: sha256.Sum256([]byte(cfg.RPID)), origins: origins,
		timeout: timeout, uv: !cfg.UnsafeAllowNoUserVerification, singleFac: cfg.UserVerifiedSingleFactor,
		now: cfg.Now, rand: cfg.Rand,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.rand == nil {
		p.rand = rand.Reader
	}
	if cfg.UserHandleKey != nil {
		p.handleKey = bytes.Clone(cfg.UserHandleKey)
	} else if p.handleKey, err = p.challenge(); err != nil {
		return nil, err
	}
	return p, nil
}

// userHandle derives the user handle of a user without passkeys; see
// Config.UserHandleKey.
func (p *Passkeys) userHandle(userID string) []byte {
	m := hmac.New(sha256.New, p.handleKey)
	m.Write([]byte(userHandleLabel))
	m.Write([]byte(userID))
	return m.Sum(nil)
}

func checkOrigin(o, rpID string) error {
	u, err := url.Parse(o)
	if err != nil {
		return err
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
		return errors.New("must be scheme://host[:port] only")
	}
	host := u.Hostname()
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && host == "localhost":
	default:
		return errors.New("must be https (http only for localhost)")
	}
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return fmt.Errorf("host %q is not %q or under it", host, rpID)
	}
	return nil
}

// User identifies the account a passkey is registered for.
type User struct {
	ID          string // authkit user id (never sent to the browser)
	Name        string // account name shown by the browser, e.g. the email
	DisplayName string // human name; Name when empty
}

// Options is what a Begin call returns for the page.
type Options struct {
	// JSON is the argument for navigator.credentials.create() or .get():
	// {"publicKey": {...}, "mediation": ...} with binary members base64url
	// encoded (PublicKeyCredential.parseCreationOptionsFromJSON /
	// parseRequestOptionsFromJSON read the publicKey member).
	JSON json.RawMessage
	// Expires is when the challenge stops being accepted.
	Expires time.Time
}

// ticketFields is the length of the MessagePack array a ticket is: the
// user id (registration and known-user sign-in, else empty), SHA-256 of
// the caller's binding value, expiry in unix nanoseconds, conditional
// mediation, then go-webauthn's SessionData in the MessagePack encoding
// the library generates for it (one of its documented storage forms, and
// cheaper to decode on the sign-in path than JSON). Tickets are written
// only by this package into the server's TicketStore, never taken from a
// client; a damaged one is still decoded defensively (see takeTicket).
const ticketFields = 5

func encodeTicket(userID string, binding []byte, exp int64, cond bool, s *webauthn.SessionData) ([]byte, error) {
	b := make([]byte, 0, 64+len(userID)+s.Msgsize())
	b = msgp.AppendArrayHeader(b, ticketFields)
	b = msgp.AppendString(b, userID)
	b = msgp.AppendBytes(b, binding)
	b = msgp.AppendInt64(b, exp)
	b = msgp.AppendBool(b, cond)
	return s.MarshalMsg(b)
}

// ticket is a ticket's fields before its session data; rest holds the
// encoded SessionData.
type ticket struct {
	userID  string
	binding []byte
	expires int64
	cond    bool
	rest    []byte
}

func decodeTicket(data []byte) (t ticket, err error) {
	n, b, err := msgp.ReadArrayHeaderBytes(data)
	if err == nil && n != ticketFields {
		err = fmt.Errorf("%d fields", n)
	}
	if err == nil {
		t.userID, b, err = msgp.ReadStringBytes(b)
	}
	if err == nil {
		t.binding, b, err = msgp.ReadBytesZC(b)
	}
	if err == nil {
		t.expires, b, err = msgp.ReadInt64Bytes(b)
	}
	if err == nil {
		t.cond, b, err = msgp.ReadBoolBytes(b)
	}
	t.rest = b
	return t, err
}

func ticketKey(challenge string) string {
	h := sha256.Sum256([]byte(challenge))
	var k [43]byte // base64url of 32 bytes, unpadded
	base64.RawURLEncoding.Encode(k[:], h[:])
	return string(k[:])
}

func (p *Passkeys) challenge() ([]byte, error) {
	c := make([]byte, 32)
	if _, err := io.ReadFull(p.rand, c); err != nil {
		return nil, fmt.Errorf("passkey: random: %w", err)
	}
	return c, nil
}

func (p *Passkeys) putTicket(ctx context.Context, purpose, binding, userID string, cond bool, s *webauthn.SessionData) (time.Time, error) {
	exp := p.now().Add(p.timeout)
	b := sha256.Sum256([]byte(binding))
	data, err := encodeTicket(userID, b[:], exp.UnixNano(), cond, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("passkey: encode ticket: %w", err)
	}
	if err := p.tickets.Put(ctx, purpose, ticketKey(s.Challenge), data, exp.Add(expiredGrace)); err != nil {
		return time.Time{}, fmt.Errorf("passkey: store challenge: %w", err)
	}
	return exp, nil
}

// ceremony is a taken ticket, decoded.
type ceremony struct {
	UserID  string
	Cond    bool
	Session webauthn.SessionData
}

// takeTicket consumes the ticket for challenge and checks binding and
// expiry. The ticket is consumed even when the checks fail. With
// ErrChallengeExpired it also returns the ceremony (without its Session),
// whose binding matched.
func (p *Passkeys) takeTicket(ctx context.Context, purpose, binding, challenge string) (ceremony, error) {
	if binding == "" {
		return ceremony{}, ErrNoBinding
	}
	if challenge == "" {
		return ceremony{}, ErrReplay
	}
	data, found, err := p.tickets.Take(ctx, purpose, ticketKey(challenge))
	if err != nil {
		return ceremony{}, fmt.Errorf("passkey: take challenge: %w", err)
	}
	if !found {
		return ceremony{}, ErrReplay
	}
	t, err := decodeTicket(data)
	if err != nil {
		return ceremony{}, fmt.Errorf("passkey: decode ticket: %w", err)
	}
	b := sha256.Sum256([]byte(binding))
	if subtle.ConstantTimeCompare(b[:], t.binding) != 1 {
		return ceremony{}, ErrBindingMismatch
	}
	c := ceremony{UserID: t.userID, Cond: t.cond}
	if !p.now().Before(time.Unix(0, t.expires)) {
		return c, ErrChallengeExpired
	}
	// The generated decoder sizes slices from length prefixes; skipping
	// the object first proves every prefix is backed by bytes, so a
	// damaged record in the store cannot make it allocate more than a
	// small multiple of its own size.
	rest, err := msgp.Skip(t.rest)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d trailing bytes", len(rest))
	}
	if err == nil {
		_, err = c.Session.UnmarshalMsg(t.rest)
	}
	if err != nil {
		return ceremony{}, fmt.Errorf("passkey: decode ticket: session data: %w", err)
	}
	if c.Session.Challenge != challenge {
		return ceremony{}, ErrChallenge
	}
	return c, nil
}

func marshalOptions(v any, exp time.Time) (Options, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return Options{}, fmt.Errorf("passkey: encode options: %w", err)
	}
	return Options{JSON: j, Expires: exp}, nil
}

// waUser adapts a user and its credentials to webauthn.User.
type waUser struct {
	handle      []byte
	name, dname string
	creds       []webauthn.Credential
	one         [1]webauthn.Credential // creds of a discoverable sign-in, without a second allocation
}

func (u *waUser) WebAuthnID() []byte                         { return u.handle }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.dname }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func toWA(c Credential) webauthn.Credential {
	tr := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		tr[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                c.ID,
		PublicKey:         c.PublicKey,
		AttestationFormat: c.AttestationFormat,
		Transport:         tr,
		Flags: webauthn.CredentialFlags{
			UserPresent: true, UserVerified: c.UserVerified,
			BackupEligible: c.BackupEligible, BackupState: c.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount},
	}
}

// BeginRegistration starts adding a passkey to u's account. binding ties
// the ceremony to the caller's browser session (for example a hash of the
// session cookie); FinishRegistration must pass the same value. The
// user's existing passkeys are excluded so an authenticator is not
// registered twice, and their user handle is reused; a user without any
// gets the handle derived under [Config.UserHandleKey].
func (p *Passkeys) BeginRegistration(ctx context.Context, binding string, u User) (Options, error) {
	if binding == "" {
		return Options{}, ErrNoBinding
	}
	if u.ID == "" || u.Name == "" {
		return Options{}, errors.New("passkey: begin registration: user ID and Name are required")
	}
	existing, err := p.creds.List(ctx, u.ID)
	if err != nil {
		return Options{}, fmt.Errorf("passkey: list credentials: %w", err)
	}
	var handle []byte
	wu := &waUser{name: u.Name, dname: u.DisplayName}
	if wu.dname == "" {
		wu.dname = u.Name
	}
	excl := make([]protocol.CredentialDescriptor, 0, len(existing))
	for _, c := range existing {
		if handle == nil && len(c.UserHandle) > 0 {
			handle = c.UserHandle
		}
		wc := toWA(c)
		excl = append(excl, wc.Descriptor())
	}
	if handle == nil {
		handle = p.userHandle(u.ID)
	}
	wu.handle = handle
	ch, err := p.challenge()
	if err != nil {
		return Options{}, err
	}
	setChallenge := func(o *protocol.PublicKeyCredentialCreationOptions) error {
		o.Challenge = ch
		return nil
	}
	creation, s, err := p.wa.BeginRegistration(wu, webauthn.WithExclusions(excl), setChallenge)
	if err != nil {
		return Options{}, fmt.Errorf("passkey: begin registration: %w", err)
	}
	exp, err := p.putTicket(ctx, PurposeRegister, binding, u.ID, false, s)
	if err != nil {
		return Options{}, err
	}
	return marshalOptions(creation, exp)
}

// FinishRegistration verifies the browser's response to BeginRegistration
// (the JSON of the PublicKeyCredential, as PublicKeyCredential.toJSON()
// produces) and stores the new passkey under name. userID is the signed-in
// user and must be the one the ceremony began for.
func (p *Passkeys) FinishRegistration(ctx context.Context, binding, userID, name string, response []byte) (Credential, error) {
	if err := checkName(name); err != nil {
		return Credential{}, err
	}
	if len(response) > MaxResponseBytes {
		return Credential{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(response))
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Credential{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	cd := parsed.Response.CollectedClientData
	t, err := p.takeTicket(ctx, PurposeRegister, binding, cd.Challenge)
	if err != nil {
		return Credential{}, err
	}
	if t.UserID != userID {
		return Credential{}, ErrWrongUser
	}
	wu := &waUser{handle: t.Session.UserID}
	wc, err := p.wa.CreateCredential(wu, t.Session, parsed)
	if err != nil {
		ad := parsed.Response.AttestationObject.AuthData
		return Credential{}, p.classify(err, cd, protocol.CreateCeremony, t.Session.Challenge, ad.RPIDHash, ad.Flags)
	}
	// go-webauthn checks the key's algorithm but, for attestation "none",
	// not the key itself: parsing validates it (an EC2 point on its curve,
	// an RSA modulus), so no unusable key is stored.
	if _, err := webauthncose.ParsePublicKey(wc.PublicKey); err != nil {
		return Credential{}, fmt.Errorf("%w: credential public key: %w", ErrSignature, err)
	}
	now := p.now()
	c := Credential{
		ID:                bytes.Clone(wc.ID),
		UserID:            userID,
		UserHandle:        bytes.Clone(t.Session.UserID),
		Name:              name,
		PublicKey:         bytes.Clone(wc.PublicKey),
		AttestationFormat: wc.AttestationFormat,
		AAGUID:            bytes.Clone(wc.Authenticator.AAGUID),
		SignCount:         wc.Authenticator.SignCount,
		UserVerified:      wc.Flags.UserVerified,
		BackupEligible:    wc.Flags.BackupEligible,
		BackupState:       wc.Flags.BackupState,
		CreatedAt:         now,
	}
	for _, tr := range wc.Transport {
		c.Transports = append(c.Transports, string(tr))
	}
	added, err := p.creds.Add(ctx, c)
	if err != nil {
		return Credential{}, fmt.Errorf("passkey: add credential: %w", err)
	}
	if !added {
		return Credential{}, ErrCredentialExists
	}
	return c, nil
}

// BeginLogin starts a username-less sign-in with a discoverable credential.
// With conditional true the options ask for conditional mediation: the
// page calls navigator.credentials.get() at load and the browser offers
// passkeys in the autofill of a field marked autocomplete="username
// webauthn". Such an offer may sit open past the timeout; its finish then
// fails with a [*ChallengeExpiredError] that carries a fresh ceremony for
// the same session, which the page passes to get() again.
func (p *Passkeys) BeginLogin(ctx context.Context, binding string, conditional bool) (Options, error) {
	if binding == "" {
		return Options{}, ErrNoBinding
	}
	ch, err := p.challenge()
	if err != nil {
		return Options{}, err
	}
	med := protocol.MediationDefault
	if conditional {
		med = protocol.MediationConditional
	}
	assertion, s, err := p.wa.BeginDiscoverableMediatedLogin(med, webauthn.WithChallenge(ch))
	if err != nil {
		return Options{}, fmt.Errorf("passkey: begin login: %w", err)
	}
	exp, err := p.putTicket(ctx, PurposeLogin, binding, "", conditional, s)
	if err != nil {
		return Options{}, err
	}
	return marshalOptions(assertion, exp)
}

// BeginLoginFor starts a sign-in for a known user: after a password as a
// second factor, for step-up, or when the user typed a name. The options
// list the user's credentials; a credential of any other user is refused
// with [ErrWrongUser]. A user without passkeys gets [ErrNotFound].
func (p *Passkeys) BeginLoginFor(ctx context.Context, binding, userID string) (Options, error) {
	if binding == "" {
		return Options{}, ErrNoBinding
	}
	creds, err := p.creds.List(ctx, userID)
	if err != nil {
		return Options{}, fmt.Errorf("passkey: list credentials: %w", err)
	}
	if len(creds) == 0 {
		return Options{}, ErrNotFound
	}
	wu := &waUser{handle: creds[0].UserHandle}
	for _, c := range creds {
		wu.creds = append(wu.creds, toWA(c))
	}
	ch, err := p.challenge()
	if err != nil {
		return Options{}, err
	}
	assertion, s, err := p.wa.BeginLogin(wu, webauthn.WithChallenge(ch))
	if err != nil {
		return Options{}, fmt.Errorf("passkey: begin login: %w", err)
	}
	exp, err := p.putTicket(ctx, PurposeLogin, binding, userID, false, s)
	if err != nil {
		return Options{}, err
	}
	return marshalOptions(assertion, exp)
}

// Result is a successful sign-in.
type Result struct {
	UserID string
	// Credential is the stored record after this sign-in.
	Credential Credential
	// UserVerified reports the authenticator's UV flag in this assertion.
	UserVerified bool
	// MultiFactor reports whether the sign-in counts as multi-factor: user
	// verified and Config.UserVerifiedSingleFactor unset.
	MultiFactor bool
	// AMR are the RFC 8176 §2 method values: "swk" for a backup-eligible
	// (synced, software-held) key or "hwk" for a device-bound one, "user"
	// when the user was verified, and "mfa" when MultiFactor.
	AMR []string
}

// FinishLogin verifies the browser's response to BeginLogin or
// BeginLoginFor and records the use. The user is resolved from the
// credential id, so a phone in a hybrid sign-in that sends no userHandle
// still signs in; a userHandle that is present must match.
//
// Sign counter policy: a counter that does not increase means two
// authenticators hold the key and is refused with a [*ClonedError]. Synced
// passkeys report 0 forever, so 0 after 0 is accepted; and a credential
// stored as backup eligible may report 0 after a non-zero count (its key
// moved to a syncing provider). The stored BE flag decides, not the one in
// the assertion, which the holder of a cloned key could set. BE turning on
// after registration is recorded rather than refused; it never turns off
// (a key that could be copied stays "swk", even when a holder of a leaked
// synced key signs BE=0). BS changes are recorded.
func (p *Passkeys) FinishLogin(ctx context.Context, binding string, response []byte) (*Result, error) {
	if len(response) > MaxResponseBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(response))
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	cd := parsed.Response.CollectedClientData
	t, err := p.takeTicket(ctx, PurposeLogin, binding, cd.Challenge)
	if errors.Is(err, ErrChallengeExpired) {
		return nil, p.renew(ctx, binding, t)
	}
	if err != nil {
		return nil, err
	}
	stored, found, err := p.creds.Get(ctx, parsed.RawID)
	if err != nil {
		return nil, fmt.Errorf("passkey: get credential: %w", err)
	}
	if !found {
		return nil, &UnknownCredentialError{
			CredentialID: bytes.Clone(parsed.RawID),
			Signal:       p.signalUnknown(parsed.RawID),
		}
	}
	if t.UserID != "" && t.UserID != stored.UserID {
		return nil, ErrWrongUser
	}
	if uh := parsed.Response.UserHandle; len(uh) > 0 && !bytes.Equal(uh, stored.UserHandle) {
		return nil, ErrWrongUser
	}
	flags := parsed.Response.AuthenticatorData.Flags
	wu := &waUser{handle: stored.UserHandle}
	if t.UserID != "" {
		all, err := p.creds.List(ctx, stored.UserID)
		if err != nil {
			return nil, fmt.Errorf("passkey: list credentials: %w", err)
		}
		for _, c := range all {
			wu.creds = append(wu.creds, toWA(c))
		}
	}
	// The stored record of this credential, with BE taken from the
	// assertion: a provider may turn BE on after registration, and the
	// library would refuse the change forever.
	self := toWA(stored)
	self.Flags.BackupEligible = flags.HasBackupEligible()
	replaced := false
	for i := range wu.creds {
		if bytes.Equal(wu.creds[i].ID, self.ID) {
			wu.creds[i], replaced = self, true
		}
	}
	if !replaced {
		if wu.creds == nil {
			wu.one[0] = self
			wu.creds = wu.one[:]
		} else {
			wu.creds = append(wu.creds, self)
		}
	}
	s := t.Session
	s.UserID = stored.UserHandle
	if _, err := p.wa.ValidateLogin(wu, s, parsed); err != nil {
		ad := parsed.Response.AuthenticatorData
		return nil, p.classify(err, cd, protocol.AssertCeremony, s.Challenge, ad.RPIDHash, ad.Flags)
	}

	received := parsed.Response.AuthenticatorData.Counter
	if !counterOK(stored.SignCount, received, stored.BackupEligible) {
		return nil, &ClonedError{UserID: stored.UserID, CredentialID: bytes.Clone(stored.ID), Stored: stored.SignCount, Received: received}
	}
	uv := flags.HasUserVerified()
	use := Use{
		SignCount:      max(stored.SignCount, received),
		LastUsedAt:     p.now(),
		UserVerified:   stored.UserVerified || uv,
		BackupEligible: stored.BackupEligible || flags.HasBackupEligible(),
		BackupState:    flags.HasBackupState(),
	}
	// Compare-and-set on the counter read above. When another sign-in
	// moved it first, the policy is applied again to the record it left:
	// counters 1 and 2 finished at once are both genuine, two assertions
	// with one counter value are a clone.
	prev := stored
	for attempt := 0; ; attempt++ {
		ok, err := p.creds.UpdateUse(ctx, stored.ID, prev.SignCount, use)
		if err != nil {
			return nil, fmt.Errorf("passkey: update credential: %w", err)
		}
		if ok {
			break
		}
		cur, found, err := p.creds.Get(ctx, stored.ID)
		switch {
		case err != nil:
			return nil, fmt.Errorf("passkey: get credential: %w", err)
		case !found || cur.UserID != stored.UserID:
			return nil, &UnknownCredentialError{CredentialID: bytes.Clone(stored.ID), Signal: p.signalUnknown(stored.ID)}
		case attempt >= maxUpdateAttempts || !counterOK(cur.SignCount, received, cur.BackupEligible):
			return nil, &ClonedError{UserID: stored.UserID, CredentialID: bytes.Clone(stored.ID), Stored: cur.SignCount, Received: received}
		}
		prev = cur
		use.SignCount = max(cur.SignCount, received)
		use.UserVerified = cur.UserVerified || uv
		use.BackupEligible = cur.BackupEligible || flags.HasBackupEligible()
	}
	c := stored
	c.SignCount, c.LastUsedAt, c.UserVerified = use.SignCount, use.LastUsedAt, use.UserVerified
	c.BackupEligible, c.BackupState = use.BackupEligible, use.BackupState
	r := &Result{UserID: stored.UserID, Credential: c, UserVerified: uv, MultiFactor: uv && !p.singleFac, AMR: make([]string, 0, 3)}
	if use.BackupEligible {
		r.AMR = append(r.AMR, "swk")
	} else {
		r.AMR = append(r.AMR, "hwk")
	}
	if uv {
		r.AMR = append(r.AMR, "user")
	}
	if r.MultiFactor {
		r.AMR = append(r.AMR, "mfa")
	}
	return r, nil
}

// renew begins a fresh sign-in like the expired one (same binding, same
// user or discoverable, same mediation) and returns it in a
// *ChallengeExpiredError; if that fails it returns ErrChallengeExpired.
func (p *Passkeys) renew(ctx context.Context, binding string, t ceremony) error {
	var (
		fresh Options
		err   error
	)
	if t.UserID == "" {
		fresh, err = p.BeginLogin(ctx, binding, t.Cond)
	} else {
		fresh, err = p.BeginLoginFor(ctx, binding, t.UserID)
	}
	if err != nil {
		return fmt.Errorf("%w (renewal failed: %w)", ErrChallengeExpired, err)
	}
	return &ChallengeExpiredError{Fresh: fresh}
}

// counterOK is the sign counter policy described at FinishLogin.
func counterOK(stored, received uint32, storedBackupEligible bool) bool {
	switch {
	case received == 0 && stored == 0:
		return true // synced passkeys never count
	case received == 0 && storedBackupEligible:
		return true
	default:
		return received > stored
	}
}

// classify maps a refusal by go-webauthn to this package's sentinels by
// re-reading the parsed response: the library decides, this only names the
// reason. Checks go in the library's own order.
func (p *Passkeys) classify(libErr error, cd protocol.CollectedClientData, want protocol.CeremonyType, challenge string, rpIDHash []byte, flags protocol.AuthenticatorFlags) error {
	var reason error
	switch {
	case cd.Type != want:
		reason = ErrWrongType
	case cd.Challenge != challenge:
		reason = ErrChallenge
	case !protocol.IsOriginInHaystack(cd.Origin, p.origins):
		reason = ErrWrongOrigin
	case !bytes.Equal(rpIDHash, p.rpIDHash[:]):
		reason = ErrWrongRPID
	case p.uv && !flags.HasUserVerified():
		reason = ErrUserVerification
	default:
		reason = ErrSignature
	}
	return fmt.Errorf("%w: %w", reason, libErr)
}

func (p *Passkeys) signalUnknown(id []byte) SignalUnknownCredential {
	return SignalUnknownCredential{RPID: p.rpID, CredentialID: base64.RawURLEncoding.EncodeToString(id)}
}

// List returns the user's passkeys, oldest first.
func (p *Passkeys) List(ctx context.Context, userID string) ([]Credential, error) {
	return p.creds.List(ctx, userID)
}

// Rename sets the name of one of the user's passkeys.
func (p *Passkeys) Rename(ctx context.Context, userID string, credentialID []byte, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	found, err := p.creds.Rename(ctx, userID, credentialID, name)
	if err != nil {
		return fmt.Errorf("passkey: rename credential: %w", err)
	}
	if !found {
		return ErrNotFound
	}
	return nil
}

func checkName(name string) error {
	if name == "" || len(name) > MaxNameBytes || !utf8.ValidString(name) || strings.TrimSpace(name) == "" {
		return ErrInvalidName
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return ErrInvalidName
		}
	}
	return nil
}

// Removal is what the page passes to the WebAuthn Signal API after a
// passkey is removed, so the browser or password manager stops offering
// it: PublicKeyCredential.signalUnknownCredential(Unknown) and
// PublicKeyCredential.signalAllAcceptedCredentials(AllAccepted).
type Removal struct {
	Unknown     SignalUnknownCredential
	AllAccepted SignalAllAcceptedCredentials
}

// Remove deletes one of the user's passkeys.
//
// keepLast is how the caller enforces "nobody removes their last sign-in
// method": this package does not know about passwords or other factors, so
// the caller passes true when the passkey may be the user's only way in
// (no password, no other method). The store then refuses, in the same
// atomic step as the delete, to remove the user's only passkey, and Remove
// returns [ErrLastCredential]. The "current factor required" rule for
// removing a second factor is the caller's as well: it re-authenticates the
// user (for example with FinishLogin on a BeginLoginFor ceremony) first.
func (p *Passkeys) Remove(ctx context.Context, userID string, credentialID []byte, keepLast bool) (Removal, error) {
	c, found, err := p.creds.Get(ctx, credentialID)
	if err != nil {
		return Removal{}, fmt.Errorf("passkey: get credential: %w", err)
	}
	if !found || c.UserID != userID {
		return Removal{}, ErrNotFound
	}
	res, err := p.creds.Remove(ctx, userID, credentialID, keepLast)
	if err != nil {
		return Removal{}, fmt.Errorf("passkey: remove credential: %w", err)
	}
	if res.Last {
		return Removal{}, ErrLastCredential
	}
	if !res.Removed {
		return Removal{}, ErrNotFound
	}
	ids := make([]string, len(res.Remaining))
	for i, id := range res.Remaining {
		ids[i] = base64.RawURLEncoding.EncodeToString(id)
	}
	return Removal{
		Unknown: p.signalUnknown(credentialID),
		AllAccepted: SignalAllAcceptedCredentials{
			RPID:                     p.rpID,
			UserID:                   base64.RawURLEncoding.EncodeToString(c.UserHandle),
			AllAcceptedCredentialIDs: ids,
		},
	}, nil
}
