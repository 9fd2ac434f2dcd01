package authkit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// Tier is one step of the login throttle: at most Max attempts for a login
// name within Window (a fixed window that starts at the first counted
// attempt).
type Tier struct {
	Max    int
	Window time.Duration
}

// LockoutConfig configures a [Lockout]. Zero fields take the documented
// defaults.
//
// What an attacker can and cannot do to another user: from any number of
// addresses, an attacker gets at most Tiers' attempts at one login name per
// window (10 per 15 minutes by default) and can keep that login name locked
// for clients that never signed in to it. Clients holding a valid device
// token for the login name (OWASP "Slow Down Online Guessing Attacks with
// Device Cookies"; see [Auth.IssueDeviceToken]) are not subject to the
// login-name tiers nor to the per-IP budget: they have their own budget of
// DeviceMaxFailures wrong passwords, after which that device token is
// ignored until it expires. So the lock an attacker imposes holds only on
// clients without such a token (new browsers, cleared cookies), and a
// correct password from a device the user signed in on before is accepted
// even while the account or the shared address is throttled.
type LockoutConfig struct {
	// Store keeps the counters. Required: a nil Store is a configuration
	// error, never a silent in-memory default.
	Store AttemptStore
	// Tiers limit attempts per canonical login name by clients without a
	// valid device token, whether or not the account exists (so neither 401
	// nor 429 reveals which accounts exist). Each attempt counts in every
	// tier before the password is verified and the counts reset only after
	// a complete login (MFA included) by such a client. Default: 5 per
	// minute, then 10 per 15 minutes: the delay grows from under a minute to
	// at most 15 minutes and always ends (NIST SP 800-63B §5.2.2 allows at
	// most 100 consecutive failures; ASVS 6.3.1 forbids a permanent lock
	// that an attacker could impose).
	Tiers []Tier
	// IPMax and IPWindow bound failed logins per client network (default
	// 100 per 15 minutes): an IPv4 address, or the IPv6 prefix of length
	// IPv6KeyPrefix. Each attempt reserves one unit of the budget before the
	// password is checked, so concurrent attempts cannot overrun it (an
	// attempt in flight holds its unit); a correct password returns its
	// unit, so only failures are counted.
	// While the budget is spent, every attempt from that network by a
	// client without a valid device token is refused, a correct password
	// included; a client with one is not limited per IP.
	IPMax    int
	IPWindow time.Duration
	// IPv6KeyPrefix is the prefix length to which per-IP limits key IPv6
	// clients (a host normally holds a whole /64); zero means 64, 128 keys
	// each address. IPv4 clients are keyed by address.
	IPv6KeyPrefix int
	// DeviceMaxFailures is the failure budget of one device token (default
	// 10): after that many wrong passwords without a complete login in
	// between, the token is ignored until it expires.
	DeviceMaxFailures int
	// DeviceLifetime is how long a device token stays valid (default 30
	// days, at most a year).
	DeviceLifetime time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Lockout throttles password guessing per login name and per client network
// with counters in an [AttemptStore], and lets clients with a valid device
// token bypass both with a budget of their own. It is safe for concurrent
// use.
//
// Every limit is reserved atomically before the password is checked: of N
// concurrent attempts on one account at most the first Tiers[i].Max reach
// the (expensive) password verification, and N concurrent attempts from one
// network spend N of its IPMax (ASVS 15.4.2).
type Lockout struct {
	store      AttemptStore
	tiers      []Tier
	ipMax      int
	ipWindow   time.Duration
	v6Bits     int
	devMax     int
	deviceLife time.Duration
	now        func() time.Time
}

// ErrThrottled is returned (wrapped in a [*ThrottledError]) when an attempt
// is refused because a limit is reached.
var ErrThrottled = errors.New("authkit: too many attempts")

// ThrottledError says how long the client must wait. errors.Is(err,
// ErrThrottled) holds for it.
type ThrottledError struct {
	RetryAfter time.Duration
	Scope      string // "login", "ip", "mfa" or "mail"
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("authkit: too many attempts (%s), retry after %s", e.Scope, e.RetryAfter)
}

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// NewLockout validates cfg and returns a [Lockout].
func NewLockout(cfg LockoutConfig) (_ *Lockout, err error) {
	defer func() {
		if err != nil {
			err = invalidConfig(err)
		}
	}()
	if cfg.Store == nil {
		return nil, errors.New("authkit: LockoutConfig.Store is required")
	}
	l := &Lockout{store: cfg.Store, tiers: cfg.Tiers, ipMax: cfg.IPMax, ipWindow: cfg.IPWindow,
		v6Bits: cfg.IPv6KeyPrefix, devMax: cfg.DeviceMaxFailures, deviceLife: cfg.DeviceLifetime, now: cfg.Now}
	if len(l.tiers) == 0 {
		l.tiers = []Tier{{Max: 5, Window: time.Minute}, {Max: 10, Window: 15 * time.Minute}}
	}
	for i, t := range l.tiers {
		if t.Max < 1 || t.Window <= 0 {
			return nil, fmt.Errorf("authkit: lockout tier %d: Max and Window must be positive", i)
		}
		if t.Max > 100 {
			return nil, fmt.Errorf("authkit: lockout tier %d: Max %d exceeds NIST SP 800-63B's 100 consecutive failures", i, t.Max)
		}
		if t.Window > 24*time.Hour {
			return nil, fmt.Errorf("authkit: lockout tier %d: Window %s is too long: a lock must stay temporary", i, t.Window)
		}
	}
	if l.ipMax == 0 {
		l.ipMax = 100
	}
	if l.ipWindow == 0 {
		l.ipWindow = 15 * time.Minute
	}
	if l.ipMax < 1 || l.ipWindow < 0 {
		return nil, errors.New("authkit: lockout IPMax and IPWindow must be positive")
	}
	if l.v6Bits == 0 {
		l.v6Bits = 64
	}
	if l.v6Bits < 1 || l.v6Bits > 128 {
		return nil, fmt.Errorf("authkit: lockout IPv6KeyPrefix %d out of range 1..128", l.v6Bits)
	}
	if l.devMax == 0 {
		l.devMax = 10
	}
	if l.deviceLife == 0 {
		l.deviceLife = 30 * 24 * time.Hour
	}
	if l.devMax < 1 || l.devMax > 100 || l.deviceLife < time.Minute || l.deviceLife > 366*24*time.Hour {
		return nil, errors.New("authkit: lockout DeviceMaxFailures must be 1..100 and DeviceLifetime 1 minute..1 year")
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

func loginKey(i int, login string) string { return fmt.Sprintf("login:%d:%s", i, login) }
func deviceKey(id string) string          { return "device:" + id }

// refundKey counts the reservations returned in the window of key that
// ends at end: a window's refunds never carry over to the next one.
func refundKey(key string, end time.Time) string {
	return "refund:" + strconv.FormatInt(end.Unix(), 10) + ":" + key
}

// ipKey returns the key under which the per-IP limits count ip; see
// ipLimitKey.
func (l *Lockout) ipKey(ip string) string { return ipLimitKey(ip, l.v6Bits) }

// nat64Prefix is the well-known prefix of IPv4-embedded IPv6 addresses
// (RFC 6052 §2.1).
var nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")

// ipLimitKey is the one function that keys every per-IP limit of the
// package (login failures, sign-ups, mails): the IPv4 address, or the IPv6
// prefix of length v6Bits ("2001:db8:1:2::/64"), since a host normally
// holds a whole /64. It must give the same key as
// middleware.ClientIPResolver.Key (without its "ip:" prefix), so that one
// client network has one budget across the library. A host:port (such as
// http.Request.RemoteAddr) is keyed by its host, so that a client's
// connections share its budget; an address in 64:ff9b::/96 (RFC 6052) is
// keyed by the IPv4 address it embeds. An unparsable ip is returned as is;
// an empty one gives "".
func ipLimitKey(ip string, v6Bits int) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		ap, perr := netip.ParseAddrPort(ip)
		if perr != nil {
			// Not an address: key it in a namespace of its own, so a
			// host that passes an unchecked value cannot make it name
			// another counter (a login, a device, an MFA budget).
			return "unparsed-ip:" + ip
		}
		a = ap.Addr()
	}
	a = a.Unmap().WithZone("")
	if nat64Prefix.Contains(a) {
		// RFC 6052's well-known prefix only ever carries an IPv4 address
		// (a client behind a translator): key by that address.
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	if a.Is4() || v6Bits >= 128 {
		return a.String()
	}
	p, err := a.Prefix(v6Bits)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// Attempt is one password check reserved by [Lockout.Begin]. Finish it
// with [Attempt.Fail] after a wrong password, or [Attempt.Release] after a
// correct one or when no check was made.
type Attempt struct {
	l      *Lockout
	ipKey  string
	ipEnd  time.Time
	login  string
	device string
	devEnd time.Time // window end of the device's unit; zero once returned
}

// Trusted reports whether the attempt was made with a valid device token
// that still has failure budget: the login-name tiers and the per-IP budget
// did not apply to it.
func (at *Attempt) Trusted() bool { return at.device != "" }

// Device returns the device id the attempt was trusted by, or "".
func (at *Attempt) Device() string { return at.device }

// Begin reserves one password check for login from ip, before the password
// is checked. device is the id of a device token the caller has verified for
// login ("" for none; see [Auth.IssueDeviceToken]): while it has failure
// budget, the attempt is trusted and only that budget is spent. Otherwise
// Begin reserves one unit of ip's failure budget and one attempt in every
// login tier, and refuses with a [*ThrottledError] when any is exhausted
// (an attempt refused by a tier gives its per-IP unit back; one refused by
// the per-IP budget keeps it, as does a tier past its limit). A store error
// is returned as is, and the caller must refuse the attempt (fail closed).
func (l *Lockout) Begin(ctx context.Context, login, ip, device string) (*Attempt, error) {
	now := l.now()
	at := &Attempt{l: l, login: login}
	if device != "" {
		key := deviceKey(device)
		n, end, err := l.store.Incr(ctx, key, l.deviceLife)
		if err != nil {
			return nil, err
		}
		refunded, _, err := l.store.Count(ctx, refundKey(key, end))
		if err != nil {
			return nil, err
		}
		if n-refunded <= l.devMax {
			at.device, at.devEnd = device, end
			return at, nil
		}
		// The token has used its budget: it is ignored from now on.
	}
	if key := l.ipKey(ip); key != "" {
		key = "ip:" + key
		n, end, err := l.store.Incr(ctx, key, l.ipWindow)
		if err != nil {
			return nil, err
		}
		at.ipKey, at.ipEnd = key, end
		refunded, _, err := l.store.Count(ctx, refundKey(key, end))
		if err != nil {
			return nil, at.refuse(ctx, err)
		}
		if n-refunded > l.ipMax && end.After(now) {
			// This unit was past the budget: it keeps it. Were it given
			// back, a concurrent attempt counting that refund would pass
			// although the budget's units are all held.
			return nil, &ThrottledError{RetryAfter: retryAfter(end, now), Scope: "ip"}
		}
	}
	// Refuse without counting while any tier is exhausted, so attempts made
	// during a lock do not extend it.
	for i := range l.tiers {
		n, end, err := l.store.Count(ctx, loginKey(i, login))
		if err != nil {
			return nil, at.refuse(ctx, err)
		}
		if n >= l.tiers[i].Max && end.After(now) {
			return nil, at.refuse(ctx, &ThrottledError{RetryAfter: retryAfter(end, now), Scope: "login"})
		}
	}
	var refused *ThrottledError
	for i, t := range l.tiers {
		n, end, err := l.store.Incr(ctx, loginKey(i, login), t.Window)
		if err != nil {
			return nil, at.refuse(ctx, err)
		}
		// Concurrent attempts past the limit lose the race here and never
		// reach the password check.
		if n > t.Max && refused == nil {
			refused = &ThrottledError{RetryAfter: retryAfter(end, now), Scope: "login"}
		}
	}
	if refused != nil {
		return nil, at.refuse(ctx, refused)
	}
	return at, nil
}

// refuse returns err. A throttled attempt keeps its per-IP reservation: it
// counts as a failure, and giving it back would let a concurrent attempt
// that reserved before it (and read the refunds after it) slip under the
// limit. After a store error the reservation is given back; err comes first,
// a failed give-back is joined to it.
func (at *Attempt) refuse(ctx context.Context, err error) error {
	if _, ok := errors.AsType[*ThrottledError](err); ok {
		return err
	}
	if rerr := at.Release(ctx); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// Fail records that the password was wrong. The reservations made by
// Begin stay spent. For an untrusted attempt it reports, as a
// [*ThrottledError], whether the login name is now locked (so the caller
// can audit a lockout); a nil error means the next attempt is allowed.
func (at *Attempt) Fail(ctx context.Context) error {
	if at.device != "" {
		return nil
	}
	now := at.l.now()
	for i, t := range at.l.tiers {
		n, end, err := at.l.store.Count(ctx, loginKey(i, at.login))
		if err != nil {
			return err
		}
		if n >= t.Max && end.After(now) {
			return &ThrottledError{RetryAfter: retryAfter(end, now), Scope: "login"}
		}
	}
	return nil
}

// Release returns the reservation of the attempt (the per-IP unit, or the
// device token's unit of a trusted attempt): call it when the password was
// correct (only failures count) or was never checked. Calling it more than
// once returns the unit only once.
func (at *Attempt) Release(ctx context.Context) error {
	var errs []error
	if !at.devEnd.IsZero() {
		end := at.devEnd
		at.devEnd = time.Time{}
		errs = append(errs, at.l.refund(ctx, deviceKey(at.device), end))
	}
	if at.ipKey != "" {
		key, end := at.ipKey, at.ipEnd
		at.ipKey = ""
		errs = append(errs, at.l.refund(ctx, key, end))
	}
	return errors.Join(errs...)
}

// refund gives back one unit of the window of key that ends at end.
func (l *Lockout) refund(ctx context.Context, key string, end time.Time) error {
	window := end.Sub(l.now()) + time.Second
	if window <= time.Second {
		return nil // the window is over: nothing left to return
	}
	_, _, err := l.store.Incr(ctx, refundKey(key, end), window)
	return err
}

// Succeed resets the counters after a complete login (password and, when
// enrolled, MFA): those of the device token device when the login was
// trusted by one, otherwise those of login. A password-only success leaves
// them in place so the MFA step stays throttled.
func (l *Lockout) Succeed(ctx context.Context, login, device string) error {
	if device != "" {
		return l.store.Reset(ctx, deviceKey(device))
	}
	var errs []error
	for i := range l.tiers {
		errs = append(errs, l.store.Reset(ctx, loginKey(i, login)))
	}
	return errors.Join(errs...)
}

// Unlock lifts a lock on login (an administrator's action, ASVS 7.4.5).
func (l *Lockout) Unlock(ctx context.Context, login string) error { return l.Succeed(ctx, login, "") }

// retryAfter rounds the wait up to whole seconds, as Retry-After carries
// seconds (RFC 9110 §10.2.3), and is never less than one second.
func retryAfter(end, now time.Time) time.Duration {
	d := end.Sub(now)
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	if d < time.Second {
		d = time.Second
	}
	return d
}
