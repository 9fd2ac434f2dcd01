package authkit

import (
	"context"
	"errors"
	"fmt"
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
// defaults (DESIGN.md, lockout defaults).
type LockoutConfig struct {
	// Store keeps the counters. Required: a nil Store is a configuration
	// error, never a silent in-memory default.
	Store AttemptStore
	// Tiers limit attempts per canonical login name, whether or not the
	// account exists (so neither 401 nor 429 reveals which accounts exist).
	// Each attempt counts in every tier before the password is verified and
	// the counts reset only after a complete login (MFA included). Default:
	// 5 per minute, then 10 per 15 minutes: the delay grows from under a
	// minute to at most 15 minutes and always ends (NIST SP 800-63B §5.2.2
	// allows at most 100 consecutive failures; ASVS 6.3.1 forbids a
	// permanent lock that an attacker could impose).
	Tiers []Tier
	// IPMax and IPWindow bound failed logins per client IP (default 100 per
	// 15 minutes). Only failures count, so a shared NAT is not punished for
	// one user's typos and successful logins are never limited per IP.
	IPMax    int
	IPWindow time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Lockout throttles password and MFA guessing per login name and per client
// IP with counters in an [AttemptStore] (SECURITY.md S12–S14). It is safe for
// concurrent use.
//
// The per-login count is taken atomically before the password is checked:
// of N concurrent attempts on one account at most the first Tiers[i].Max
// reach the (expensive) password verification, the rest get a retry delay
// (S14, ASVS 15.4.2).
type Lockout struct {
	store    AttemptStore
	tiers    []Tier
	ipMax    int
	ipWindow time.Duration
	now      func() time.Time
}

// ErrThrottled is returned (wrapped in a [*ThrottledError]) when an attempt
// is refused because a limit is reached.
var ErrThrottled = errors.New("authkit: too many attempts")

// ThrottledError says how long the client must wait. errors.Is(err,
// ErrThrottled) holds for it.
type ThrottledError struct {
	RetryAfter time.Duration
	Scope      string // "login" or "ip"
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("authkit: too many attempts (%s), retry after %s", e.Scope, e.RetryAfter)
}

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// NewLockout validates cfg and returns a [Lockout].
func NewLockout(cfg LockoutConfig) (*Lockout, error) {
	if cfg.Store == nil {
		return nil, errors.New("authkit: LockoutConfig.Store is required")
	}
	l := &Lockout{store: cfg.Store, tiers: cfg.Tiers, ipMax: cfg.IPMax, ipWindow: cfg.IPWindow, now: cfg.Now}
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
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

func loginKey(i int, login string) string { return fmt.Sprintf("login:%d:%s", i, login) }
func ipKey(ip string) string              { return "ip:" + ip }

// Begin is called before a password or MFA code for login is checked. It
// refuses the attempt with a [*ThrottledError] when the client IP has used
// its failure budget or login has reached a tier's limit; otherwise it counts
// the attempt against login and returns nil. A store error is returned as
// is, and the caller must refuse the attempt (fail closed).
func (l *Lockout) Begin(ctx context.Context, login, ip string) error {
	now := l.now()
	if ip != "" {
		n, end, err := l.store.Count(ctx, ipKey(ip))
		if err != nil {
			return err
		}
		if n >= l.ipMax && end.After(now) {
			return &ThrottledError{RetryAfter: retryAfter(end, now), Scope: "ip"}
		}
	}
	// Refuse without counting while any tier is exhausted, so attempts made
	// during a lock do not extend it.
	for i := range l.tiers {
		n, end, err := l.store.Count(ctx, loginKey(i, login))
		if err != nil {
			return err
		}
		if n >= l.tiers[i].Max && end.After(now) {
			return &ThrottledError{RetryAfter: retryAfter(end, now), Scope: "login"}
		}
	}
	var refused *ThrottledError
	for i, t := range l.tiers {
		n, end, err := l.store.Incr(ctx, loginKey(i, login), t.Window)
		if err != nil {
			return err
		}
		// Concurrent attempts past the limit lose the race here and never
		// reach the password check.
		if n > t.Max && refused == nil {
			refused = &ThrottledError{RetryAfter: retryAfter(end, now), Scope: "login"}
		}
	}
	if refused != nil {
		return refused
	}
	return nil
}

// Fail records that the attempt begun for login from ip failed. It counts
// the failure against ip and reports, as a [*ThrottledError], whether login
// is now locked (so the caller can audit a lockout); a nil error means the
// next attempt is allowed.
func (l *Lockout) Fail(ctx context.Context, login, ip string) error {
	now := l.now()
	if ip != "" {
		if _, _, err := l.store.Incr(ctx, ipKey(ip), l.ipWindow); err != nil {
			return err
		}
	}
	for i, t := range l.tiers {
		n, end, err := l.store.Count(ctx, loginKey(i, login))
		if err != nil {
			return err
		}
		if n >= t.Max && end.After(now) {
			return &ThrottledError{RetryAfter: retryAfter(end, now), Scope: "login"}
		}
	}
	return nil
}

// Succeed resets login's counters after a complete login (password and, when
// enrolled, MFA). A password-only success leaves them in place so the MFA
// step stays throttled.
func (l *Lockout) Succeed(ctx context.Context, login string) error {
	var errs []error
	for i := range l.tiers {
		errs = append(errs, l.store.Reset(ctx, loginKey(i, login)))
	}
	return errors.Join(errs...)
}

// Unlock lifts a lock on login (an administrator's action, ASVS 7.4.5).
func (l *Lockout) Unlock(ctx context.Context, login string) error { return l.Succeed(ctx, login) }

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
