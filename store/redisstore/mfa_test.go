package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/store/memstore"
	"github.com/authkit-go/authkit/store/redisstore"
)

// redisAhead is how far Redis's clock runs ahead of the application's in
// the skew tests. The application clock is moved back rather than the
// server's forward: the Debian redis-server links jemalloc, which
// libfaketime cannot preload into, and only the difference matters.
const redisAhead = 2 * time.Minute

// TestTOTPCodeNotAcceptedTwiceWhenRedisClockIsAhead: replay records expire
// by Redis's own clock, so with Redis 2 minutes ahead of the application a TOTP
// code must still be refused the second time.
func TestTOTPCodeNotAcceptedTwiceWhenRedisClockIsAhead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		appNow := func() time.Time { return time.Now().Add(-redisAhead) }
		st := newStore(t, b.client(t), redisstore.Config{Now: appNow})
		box, err := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)}})
		must(t, err)
		m, err := mfa.New(mfa.Config{
			Issuer: "Skew", Store: st.MFA(), Replay: st.TOTPReplay(), Throttle: memstore.NewAttempts(memstore.AttemptsConfig{Now: appNow}),
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

// seedMFA stores an active enrollment for user with the given backup codes.
func seedMFA(t testing.TB, s mfa.Store, user string, codes ...[]byte) {
	t.Helper()
	e := mfa.Enrollment{Version: 1, Secret: []byte("sealed"), ConfirmedAt: time.Now()}
	if ok, err := s.Put(context.Background(), user, 0, e, codes); err != nil || !ok {
		t.Fatalf("seeding MFA for %q: %v, %v", user, ok, err)
	}
}
