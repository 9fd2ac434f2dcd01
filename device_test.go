package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
)

const wrongPassword = "wrong password 123"

// signIn logs login in with the right password from ip and returns the
// device token it was given.
func (e *env) signIn(login, ip, device string) authkit.DeviceToken {
	e.t.Helper()
	res, err := e.auth.Login(context.Background(), login, goodPassword, authkit.Client{IP: ip, DeviceToken: device})
	if err != nil {
		e.t.Fatalf("sign-in of %s from %s: %v", login, ip, err)
	}
	if res.Device.Value == "" || !res.Device.Expiry.After(e.clock.Now()) {
		e.t.Fatalf("no device token: %+v", res.Device)
	}
	return res.Device
}

func loginErr(e *env, login, pw, ip, device string) error {
	_, err := e.auth.Login(context.Background(), login, pw, authkit.Client{IP: ip, DeviceToken: device})
	return err
}

// An attacker guessing from many addresses locks the account for new
// clients, but not for the device the user signed in on before: there the
// user's typo is answered as a typo and the right password signs in.
func TestAttackerCannotLockUserOutOfKnownDevice(t *testing.T) {
	e := newEnv(t)
	e.signup("alice@example.com")
	dev := e.signIn("alice@example.com", "192.0.2.10", "")
	for i := range 30 {
		_ = loginErr(e, "alice@example.com", wrongPassword, fmt.Sprintf("198.51.100.%d", i), "")
	}
	if err := loginErr(e, "alice@example.com", goodPassword, "192.0.2.10", ""); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("new client during the attack: %v, want throttled", err)
	}
	if err := loginErr(e, "alice@example.com", wrongPassword, "192.0.2.10", dev.Value); !errors.Is(err, authkit.ErrInvalidCredentials) {
		t.Fatalf("typo on the known device: %v, want invalid credentials", err)
	}
	next := e.signIn("alice@example.com", "192.0.2.99", dev.Value)
	// The fresh token works the same way.
	e.signIn("alice@example.com", "192.0.2.10", next.Value)
}

// A NAT full of attackers spends the shared address's failure budget; its
// honest users who signed in before keep signing in, new clients behind it
// are throttled as before.
func TestNATOfAttackersDoesNotLockOutItsKnownUsers(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.Lockout.IPMax = 50 })
	const nat = "203.0.113.1"
	for _, u := range []string{"alice@example.com", "bob@example.com", "carol@example.com"} {
		e.signup(u)
	}
	alice := e.signIn("alice@example.com", nat, "")
	bob := e.signIn("bob@example.com", nat, "")
	for i := range 80 {
		victim := fmt.Sprintf("user%d@example.com", i)
		if i%10 == 0 {
			victim = "alice@example.com"
		}
		_ = loginErr(e, victim, wrongPassword, nat, "")
	}
	if err := loginErr(e, "carol@example.com", goodPassword, nat, ""); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("new client behind the NAT: %v, want throttled", err)
	}
	e.signIn("alice@example.com", nat, alice.Value)
	e.signIn("bob@example.com", nat, bob.Value)
}

// Device tokens give the attacker nothing: from rotating addresses over 15
// minutes, with a token of the attacker's own account, a forged one and a
// tampered copy of the user's, exactly the 10 checks of the default tiers
// reach the password verification, however often the user signs in on a
// known device meanwhile.
func TestDeviceTokensLeaveTheAttackerBudgetUnchanged(t *testing.T) {
	e := newEnv(t)
	e.signup("alice@example.com")
	e.signup("mallory@example.com")
	alice := e.signIn("alice@example.com", "192.0.2.10", "")
	own := e.signIn("mallory@example.com", "192.0.2.66", "")
	tokens := []string{"", own.Value, "dv1.00.99999999999.YWxpY2VAZXhhbXBsZS5jb20.AAAA", alice.Value[:len(alice.Value)-2] + "AA"}
	checked := 0
	for i := range 900 {
		err := loginErr(e, "alice@example.com", wrongPassword, fmt.Sprintf("10.%d.%d.1", i/250, i%250), tokens[i%len(tokens)])
		switch {
		case errors.Is(err, authkit.ErrInvalidCredentials):
			checked++
		case !errors.Is(err, authkit.ErrThrottled):
			t.Fatal(err)
		}
		if i%60 == 0 {
			alice = e.signIn("alice@example.com", "192.0.2.10", alice.Value)
		}
		e.clock.Advance(time.Second)
	}
	if checked != 10 {
		t.Fatalf("%d attacker guesses checked in 15 minutes; want 10, as without device tokens", checked)
	}
}

// A stolen device token has its own small budget: after 10 wrong
// passwords it is ignored, and the account's lock applies to it again.
func TestStolenDeviceTokenIsRevokedAfterItsBudget(t *testing.T) {
	e := newEnv(t)
	e.signup("alice@example.com")
	stolen := e.signIn("alice@example.com", "192.0.2.10", "")
	for i := range 10 { // lock the account for untrusted clients
		_ = loginErr(e, "alice@example.com", wrongPassword, fmt.Sprintf("198.51.100.%d", i), "")
	}
	for i := range 10 {
		if err := loginErr(e, "alice@example.com", wrongPassword, "198.51.100.200", stolen.Value); !errors.Is(err, authkit.ErrInvalidCredentials) {
			t.Fatalf("guess %d with the stolen token: %v", i, err)
		}
	}
	if err := loginErr(e, "alice@example.com", goodPassword, "198.51.100.200", stolen.Value); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("after the token's budget: %v, want throttled (token ignored)", err)
	}
	// It stays revoked after the account's lock ends and a success elsewhere.
	e.clock.Advance(16 * time.Minute)
	fresh := e.signIn("alice@example.com", "192.0.2.10", "")
	e.signIn("alice@example.com", "192.0.2.10", fresh.Value)
	for i := range 10 {
		_ = loginErr(e, "alice@example.com", wrongPassword, fmt.Sprintf("198.51.100.%d", i), "")
	}
	if err := loginErr(e, "alice@example.com", goodPassword, "198.51.100.200", stolen.Value); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("revoked token later: %v, want throttled", err)
	}
}

// A device token counts only for the login name it was issued for, only
// until it expires, and only from the Auth that signed it.
func TestDeviceTokenIsBoundToLoginExpiryAndKey(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.Lockout.DeviceLifetime = time.Hour })
	e.signup("alice@example.com")
	e.signup("bob@example.com")
	bob := e.signIn("bob@example.com", "192.0.2.10", "")
	alice := e.signIn("alice@example.com", "192.0.2.10", "")
	lock := func() {
		for i := range 10 {
			_ = loginErr(e, "alice@example.com", wrongPassword, fmt.Sprintf("198.51.100.%d", i), "")
		}
	}
	lock()
	if err := loginErr(e, "alice@example.com", goodPassword, "192.0.2.10", bob.Value); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("bob's token for alice: %v", err)
	}
	other := newEnv(t)
	other.signup("alice@example.com")
	foreign := other.signIn("alice@example.com", "192.0.2.10", "")
	if err := loginErr(e, "alice@example.com", goodPassword, "192.0.2.10", foreign.Value); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("token of another key: %v", err)
	}
	e.clock.Advance(time.Hour)
	lock()
	if err := loginErr(e, "alice@example.com", goodPassword, "192.0.2.10", alice.Value); !errors.Is(err, authkit.ErrThrottled) {
		t.Fatalf("expired token: %v", err)
	}
}

// The device cookie goes only to /auth, is HttpOnly, Secure and
// SameSite=Strict, and is read back by ClientOf.
func TestDeviceCookie(t *testing.T) {
	e := newEnv(t)
	e.signup("alice@example.com")
	d := e.signIn("alice@example.com", "192.0.2.10", "")
	w := httptest.NewRecorder()
	authkit.SetDeviceCookie(w, d, e.clock.Now())
	c := w.Result().Cookies()[0]
	if c.Name != authkit.DeviceCookie || c.Path != "/auth" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.MaxAge != int((30*24*time.Hour).Seconds()) {
		t.Fatalf("cookie %+v", c)
	}
	r := httptest.NewRequest("POST", "/auth/login", nil)
	r.AddCookie(c)
	if got := e.auth.ClientOf(r).DeviceToken; got != d.Value || !strings.HasPrefix(got, "dv1.") {
		t.Fatalf("ClientOf DeviceToken %q", got)
	}
}

// Concurrent guesses with a stolen device token spend its budget
// atomically: exactly 10 are checked while the account is locked for
// untrusted clients.
func TestStolenDeviceTokenBudgetHoldsUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	e.signup("alice@example.com")
	stolen := e.signIn("alice@example.com", "192.0.2.10", "")
	for i := range 10 {
		_ = loginErr(e, "alice@example.com", wrongPassword, fmt.Sprintf("198.51.100.%d", i), "")
	}
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			err := loginErr(e, "alice@example.com", wrongPassword, fmt.Sprintf("203.0.113.%d", i), stolen.Value)
			k := "other"
			switch {
			case errors.Is(err, authkit.ErrInvalidCredentials):
				k = "checked"
			case errors.Is(err, authkit.ErrThrottled):
				k = "throttled"
			}
			mu.Lock()
			got[k]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got["checked"] != 10 || got["throttled"] != 50 {
		t.Fatalf("%v; want 10 checked, 50 throttled", got)
	}
}

// With a master secret and no DeviceKey, every instance built on the same
// secret trusts the same device tokens (the key is derived from it): a
// device that signed in on one instance is exempt from a lock on another.
func TestDeviceKeyDerivesFromTheMasterSecret(t *testing.T) {
	secret, err := authkit.ParseSecret(strings.Repeat("0123456789abcdef", 4))
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := authkit.NewSecrets(secret)
	if err != nil {
		t.Fatal(err)
	}
	withSecret := func(c *authkit.Config) { c.Secrets, c.DeviceKey = secrets, nil }
	a, b := newEnv(t, withSecret), newEnv(t, withSecret)
	a.signup("alice@example.com")
	b.signup("alice@example.com")
	d := a.signIn("alice@example.com", "192.0.2.1", "")
	for i := range 10 {
		_ = loginErr(b, "alice@example.com", wrongPassword, fmt.Sprintf("198.51.100.%d", i), "")
	}
	b.signIn("alice@example.com", "192.0.2.1", d.Value)
}
