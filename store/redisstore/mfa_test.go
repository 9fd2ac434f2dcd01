package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/store/redisstore"
)

// mfaSkews are how far Redis's clock runs ahead of the application's in the
// skew tests (negative: behind). The application clock is moved rather
// than the server's: the Debian redis-server links jemalloc, which
// libfaketime cannot preload into, and only the difference matters.
var mfaSkews = []time.Duration{2 * time.Minute, -2 * time.Minute}

// forEachMFASkew runs f on every backend for every skew, with a store and an
// application clock that differ from Redis's by that skew.
func forEachMFASkew(t *testing.T, f func(t *testing.T, st *redisstore.Store, appNow func() time.Time)) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, skew := range mfaSkews {
			t.Run("redis"+skew.String(), func(t *testing.T) {
				appNow := func() time.Time { return time.Now().Add(-skew) }
				f(t, newStore(t, b.client(t), redisstore.Config{Now: appNow}), appNow)
			})
		}
	})
}

// Replay records live their time on Redis's own clock (a relative TTL), so
// with Redis 2 minutes ahead of the application a TOTP code is still
// refused the second time.
func TestTOTPCodeNotAcceptedTwiceWithRedisClockSkew(t *testing.T) {
	forEachMFASkew(t, func(t *testing.T, st *redisstore.Store, appNow func() time.Time) {
		ctx := context.Background()
		box, err := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)}})
		must(t, err)
		m, err := mfa.New(mfa.Config{
			Issuer: "Skew", Store: st.MFA(), Replay: st.TOTPReplay(), Throttle: memtest.New(t, appNow).Attempts(),
			Box: box, BackupKey: bytes.Repeat([]byte{9}, 32), Now: appNow, QRSize: 64,
		})
		must(t, err)
		setup, err := m.Enroll(ctx, "alice", "alice@example.com", mfa.Proof{})
		must(t, err)
		code := func(at time.Time) string {
			c, err := totp.GenerateCode(setup.Secret, at)
			must(t, err)
			return c
		}
		_, err = m.Confirm(ctx, "alice", code(appNow().Add(-mfa.Period)))
		must(t, err)
		now := code(appNow())
		must(t, m.VerifyTOTP(ctx, "alice", now))
		if err := m.VerifyTOTP(ctx, "alice", now); !errors.Is(err, mfa.ErrReplayed) {
			t.Fatalf("second use of one code = %v, want ErrReplayed", err)
		}
	})
}

// Enrollments and backup codes are user state: stored without a TTL, so no
// expiry (and no volatile-* eviction) can turn MFA off.
func TestMFAEnrollmentAndBackupCodesHaveNoTTL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := b.client(t)
		st := newStore(t, c, redisstore.Config{})
		storetestkit.SeedMFA(t, st.MFA(), "alice", []byte("code-1"), []byte("code-2"))
		ok, err := storetestkit.CrossPut(ctx, st.MFA(), "alice")
		if err != nil || !ok {
			t.Fatalf("update: %v, %v", ok, err)
		}
		for _, key := range []string{st.Prefix() + "me:{alice}", st.Prefix() + "mb:{alice}"} {
			d, err := c.PTTL(ctx, key).Result()
			must(t, err)
			if d != -1 { // -1: exists without expiry (go-redis reports it as -1 ns)
				t.Errorf("%s: PTTL = %v, want no expiry", key, d)
			}
		}
	})
}
