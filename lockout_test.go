package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newLockout(t *testing.T, cfg authkit.LockoutConfig) (*authkit.Lockout, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Store = memtest.New(t, c.Now).Attempts()
	cfg.Now = c.Now
	l, err := authkit.NewLockout(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

func retry(t *testing.T, err error) time.Duration {
	t.Helper()
	var te *authkit.ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("err = %v, want *ThrottledError", err)
	}
	return te.RetryAfter
}

func TestNewLockoutValidates(t *testing.T) {
	store := memtest.New(t, nil).Attempts()
	bad := []authkit.LockoutConfig{
		{},
		{Store: store, Tiers: []authkit.Tier{{Max: 0, Window: time.Minute}}},
		{Store: store, Tiers: []authkit.Tier{{Max: 101, Window: time.Minute}}},
		{Store: store, Tiers: []authkit.Tier{{Max: 5, Window: 48 * time.Hour}}},
		{Store: store, IPMax: -1},
	}
	for i, cfg := range bad {
		if _, err := authkit.NewLockout(cfg); !errors.Is(err, authkit.ErrInvalidConfig) {
			t.Errorf("config %d: err = %v, want ErrInvalidConfig", i, err)
		}
	}
}

// An attacker tries one account once a second from rotating IPs for
// 15 minutes: exactly 10 attempts reach the password check (far below
// NIST's 100), the delay grows from under a minute to up to 15 minutes, the
// lock ends by itself, and a complete login resets the count.
func TestLockoutRotatingIPsGetTenChecksIn15Minutes(t *testing.T) {
	l, c := newLockout(t, authkit.LockoutConfig{})
	ctx := context.Background()
	const login = "victim@example.com"
	verified := 0
	var delays []time.Duration
	for i := 0; i < 900; i++ {
		ip := fmt.Sprintf("198.51.%d.%d", i/250, i%250)
		if at, err := l.Begin(ctx, login, ip, ""); err != nil {
			d := retry(t, err)
			if len(delays) == 0 || d > delays[len(delays)-1] {
				delays = append(delays, d)
			}
		} else {
			verified++
			_ = at.Fail(ctx)
		}
		c.Advance(time.Second)
	}
	if verified != 10 {
		t.Fatalf("%d password checks in 15 minutes; want exactly 10", verified)
	}
	if len(delays) < 2 || delays[0] > time.Minute || delays[len(delays)-1] <= time.Minute || delays[len(delays)-1] > 15*time.Minute {
		t.Fatalf("retry delays %v: want a first delay ≤1m growing to (1m, 15m]", delays)
	}
	// Temporary: once the 15-minute window has passed the account can be
	// tried again.
	if _, err := l.Begin(ctx, login, "203.0.113.1", ""); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// A complete login resets the count.
	if err := l.Succeed(ctx, login, ""); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		at, err := l.Begin(ctx, login, "203.0.113.1", "")
		if err != nil {
			t.Fatalf("attempt %d after success: %v", i, err)
		}
		_ = at.Fail(ctx)
	}
}

// A lock is the same for an unknown login as for a known one: the counters
// are per login name, whether or not the account exists.
func TestLockoutUnknownLoginCountsTheSame(t *testing.T) {
	l, _ := newLockout(t, authkit.LockoutConfig{})
	ctx := context.Background()
	for _, login := range []string{"exists@example.com", "nobody@example.com"} {
		var got []bool
		for i := 0; i < 7; i++ {
			at, err := l.Begin(ctx, login, "192.0.2.1", "")
			got = append(got, err == nil)
			if err == nil {
				_ = at.Fail(ctx)
			}
		}
		want := []bool{true, true, true, true, true, false, false}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: allowed %v, want %v", login, got, want)
		}
	}
}

// One IP trying many accounts runs out of its failure budget; a
// successful login from that IP is not counted.
func TestLockoutPerIPFailureBudget(t *testing.T) {
	l, c := newLockout(t, authkit.LockoutConfig{IPMax: 100, IPWindow: 15 * time.Minute})
	ctx := context.Background()
	const ip = "203.0.113.9"
	for i := 0; i < 100; i++ {
		login := fmt.Sprintf("user%d@example.com", i)
		at, err := l.Begin(ctx, login, ip, "")
		if err != nil {
			t.Fatalf("account %d: %v", i, err)
		}
		_ = at.Fail(ctx)
	}
	_, err := l.Begin(ctx, "user100@example.com", ip, "")
	if d := retry(t, err); d <= 0 || d > 15*time.Minute {
		t.Fatalf("retry after %s", d)
	}
	// Another IP is unaffected.
	if _, err := l.Begin(ctx, "user100@example.com", "203.0.113.10", ""); err != nil {
		t.Fatal(err)
	}
	c.Advance(15 * time.Minute)
	if _, err := l.Begin(ctx, "user101@example.com", ip, ""); err != nil {
		t.Fatalf("after the IP window: %v", err)
	}
}

// 200 concurrent wrong passwords for one account: the atomic count
// lets at most the first tier's limit reach the password check.
func TestLockoutConcurrentAttemptsOnOneAccount(t *testing.T) {
	l, _ := newLockout(t, authkit.LockoutConfig{})
	ctx := context.Background()
	var verified atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ip := fmt.Sprintf("10.0.%d.%d", i/250, i%250)
			at, err := l.Begin(ctx, "target@example.com", ip, "")
			if err != nil {
				if !errors.Is(err, authkit.ErrThrottled) {
					t.Error(err)
				}
				return
			}
			verified.Add(1) // the argon2id verify would run here
			_ = at.Fail(ctx)
		}(i)
	}
	wg.Wait()
	if n := verified.Load(); n > 5 || n < 1 {
		t.Fatalf("%d attempts reached the password check; want 1..5", n)
	}
}

// The count is kept across password and MFA steps and only a complete
// login resets it; Unlock lifts a lock (ASVS 7.4.5).
func TestLockoutUnlock(t *testing.T) {
	l, _ := newLockout(t, authkit.LockoutConfig{Tiers: []authkit.Tier{{Max: 2, Window: time.Hour}}})
	ctx := context.Background()
	var at *authkit.Attempt
	for i := 0; i < 2; i++ {
		var err error
		if at, err = l.Begin(ctx, "a@example.com", "", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := at.Fail(ctx); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("Fail after reaching the limit = %v, want ErrThrottled", err)
	}
	if _, err := l.Begin(ctx, "a@example.com", "", ""); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("Begin while locked = %v", err)
	}
	if err := l.Unlock(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Begin(ctx, "a@example.com", "", ""); err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
}

func TestCanonicalLogin(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"  Alice@Example.COM ", "alice@example.com", true},
		{"ａｌｉｃｅ@example.com", "alice@example.com", true}, // fullwidth folds under NFKC
		{"ann@bücher.example", "ann@bücher.example", true},
		{"ann@xn--bcher-kva.example", "ann@bücher.example", true}, // punycode and Unicode: one account
		{"ann@BÜCHER.example", "ann@bücher.example", true},
		{strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com", true},
		{"", "", false},
		{"   ", "", false},
		{"a\x00b@example.com", "", false},
		{"a\nb@example.com", "", false},
	}
	for _, tt := range tests {
		got, ok := authkit.CanonicalLogin(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalLogin(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// Look-alike and malformed login names are refused, so none of them can
// become a second account that displays as an existing one.
func TestCanonicalLoginRefusesHostileNames(t *testing.T) {
	hostile := map[string]string{
		"zero-width space":            "ann\u200b@example.com",
		"zero-width joiner":           "an\u200dn@example.com",
		"zero-width non-joiner":       "an\u200cn@example.com",
		"right-to-left override":      "\u202eann@example.com",
		"left-to-right mark":          "ann\u200e@example.com",
		"right-to-left isolate":       "ann@\u2067example.com",
		"byte order mark":             "\ufeffann@example.com",
		"word joiner":                 "ann\u2060@example.com",
		"soft hyphen":                 "an\u00adn@example.com",
		"invisible separator":         "ann\u2063@example.com",
		"tag character":               "ann\U000e0041@example.com",
		"replacement character":       "ann\ufffd@example.com",
		"invalid UTF-8":               "ann\xff@example.com",
		"truncated UTF-8":             "ann\xc3@example.com",
		"overlong UTF-8 slash":        "ann\xc0\xaf@example.com",
		"C1 control":                  "ann\u0085@example.com",
		"DEL":                         "ann\x7f@example.com",
		"line separator":              "ann\u2028@example.com",
		"inner space":                 "ann smith@example.com",
		"no-break space":              "ann\u00a0smith@example.com",
		"local part of 65 bytes":      strings.Repeat("a", 65) + "@example.com",
		"local part of 300 bytes":     strings.Repeat("a", 300) + "@example.com",
		"name without @ over 64":      strings.Repeat("a", 65),
		"domain of 256 bytes":         "ann@" + strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 60) + ".com",
		"invalid punycode":            "ann@xn--zz-.example",
		"domain label of 64 bytes":    "ann@" + strings.Repeat("a", 64) + ".example",
		"domain with disallowed char": "ann@exa_mple\u2488.com",
		"empty domain label":          "ann@example..com",
	}
	for name, in := range hostile {
		if got, ok := authkit.CanonicalLogin(in); ok {
			t.Errorf("%s: CanonicalLogin(%q) = %q, true; want refused", name, in, got)
		}
	}
	if len(hostile) < 20 {
		t.Fatalf("only %d hostile names", len(hostile))
	}
}

// Correct passwords return their per-IP reservation: after 500 successes
// and 19 failures from one /64 with a budget of 20, one more failure fits
// and the next attempt is refused. (Attempts in flight hold their
// reservation until they finish.)
func TestLockoutSuccessesDoNotSpendTheIPBudget(t *testing.T) {
	l, _ := newLockout(t, authkit.LockoutConfig{IPMax: 20})
	ctx := context.Background()
	const ip = "2001:db8:5:6::1"
	failed := 0
	for i := range 519 {
		at, err := l.Begin(ctx, fmt.Sprintf("u%d@example.com", i), ip, "")
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if i%27 == 0 && failed < 19 {
			failed++
			_ = at.Fail(ctx)
			continue
		}
		if err := at.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	at, err := l.Begin(ctx, "last@example.com", "2001:db8:5:6:ffff::9", "") // same /64
	if err != nil {
		t.Fatalf("20th failure refused: %v", err)
	}
	_ = at.Fail(ctx)
	if _, err := l.Begin(ctx, "next@example.com", ip, ""); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("21st attempt: %v, want throttled", err)
	}
}

func TestNewLockoutValidatesDeviceAndIPv6Settings(t *testing.T) {
	store := memtest.New(t, nil).Attempts()
	for i, cfg := range []authkit.LockoutConfig{
		{Store: store, IPv6KeyPrefix: 129},
		{Store: store, IPv6KeyPrefix: -1},
		{Store: store, DeviceMaxFailures: 101},
		{Store: store, DeviceLifetime: time.Second},
		{Store: store, DeviceLifetime: 400 * 24 * time.Hour},
	} {
		if _, err := authkit.NewLockout(cfg); !errors.Is(err, authkit.ErrInvalidConfig) {
			t.Errorf("config %d: err = %v, want ErrInvalidConfig", i, err)
		}
	}
}
