package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
)

// v6 returns the i-th address of one IPv6 /64, as a host rotating its
// interface identifier would use.
func v6(i int) string { return fmt.Sprintf("2001:db8:1:2:%x:%x::1", i/65536, i%65536+1) }

// A host rotating addresses inside its /64 shares one per-IP failure budget:
// with an IP limit of 3, at most 3 wrong passwords are checked.
func TestLoginIPLimitKeysIPv6By64(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.Lockout.IPMax = 3 })
	ctx := context.Background()
	checked := 0
	for i := range 50 {
		_, err := e.auth.Login(ctx, fmt.Sprintf("user%d@example.com", i), "wrong password 123", authkit.Client{IP: v6(i)})
		switch {
		case errors.Is(err, authkit.ErrInvalidCredentials):
			checked++
		case errors.Is(err, authkit.ErrThrottled):
		default:
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if checked != 3 {
		t.Fatalf("%d passwords checked from one /64; want 3", checked)
	}
	// Another /64 has its own budget; IPv4 keys by address.
	for _, ip := range []string{"2001:db8:1:3::1", "192.0.2.7", "192.0.2.8"} {
		if _, err := e.auth.Login(ctx, "other@example.com", "wrong password 123", authkit.Client{IP: ip}); !errors.Is(err, authkit.ErrInvalidCredentials) {
			t.Fatalf("from %s: %v", ip, err)
		}
	}
}

func TestSignupLimitKeysIPv6By64(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.SignupLimit = authkit.Tier{Max: 3, Window: 10 * time.Minute} })
	ctx := context.Background()
	created := 0
	for i := range 20 {
		_, err := e.auth.Signup(ctx, fmt.Sprintf("new%d@example.com", i), goodPassword, authkit.Client{IP: v6(i)})
		switch {
		case err == nil:
			created++
		case errors.Is(err, authkit.ErrThrottled):
		default:
			t.Fatalf("signup %d: %v", i, err)
		}
	}
	if created != 3 {
		t.Fatalf("%d sign-ups from one /64; want 3", created)
	}
}

func TestMailLimitKeysIPv6By64(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	accepted := 0
	for i := range 30 {
		err := e.auth.RequestPasswordReset(ctx, fmt.Sprintf("someone%d@example.com", i), authkit.Client{IP: v6(i)})
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, authkit.ErrThrottled):
		default:
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if accepted != 20 {
		t.Fatalf("%d reset requests from one /64; want 20", accepted)
	}
}

// N concurrent wrong passwords from one IP, each for another account, spend
// N of the IP's failure budget: no more than IPMax reach the password check.
func TestConcurrentAttemptsSpendTheIPBudget(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.Lockout.IPMax = 20 })
	ctx := context.Background()
	var checked, throttled atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			_, err := e.auth.Login(ctx, fmt.Sprintf("u%d@example.com", i), "wrong password 123", authkit.Client{IP: "198.51.100.7"})
			switch {
			case errors.Is(err, authkit.ErrInvalidCredentials):
				checked.Add(1)
			case errors.Is(err, authkit.ErrThrottled):
				throttled.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if checked.Load() != 20 || throttled.Load() != 180 {
		t.Fatalf("%d checked, %d throttled; want 20 and 180", checked.Load(), throttled.Load())
	}
}
