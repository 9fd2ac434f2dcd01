package redisstore_test

import (
	"testing"
	"time"

	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/redisstore"
)

// TestSessionTTLRelativeToRedisClock: with the application's clock 2 min
// ahead of or behind Redis's, a session written for one hour lives one hour
// on the server (record and index), whether created, updated or rotated:
// expiries are durations, never app-clock instants (PEXPIREAT would make
// it live 2 min too long, or drop it 2 min early).
func TestSessionTTLRelativeToRedisClock(t *testing.T) {
	for _, skew := range []time.Duration{2 * time.Minute, -2 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				c := b.client(t)
				st := newStore(t, c, redisstore.Config{Now: func() time.Time { return time.Now().Add(skew) }})
				ss := st.Sessions()
				ctx := t.Context()
				p := st.Prefix()
				rec := func() session.Record {
					now := time.Now().Add(skew)
					return session.Record{UserID: "alice", SecretHash: []byte{1}, CreatedAt: now, LastSeen: now,
						IdleExpiry: now.Add(time.Hour), AbsoluteExpiry: now.Add(2 * time.Hour)}
				}
				check := func(key string) {
					t.Helper()
					ttl, err := c.PTTL(ctx, key).Result()
					must(t, err)
					if ttl < time.Hour-30*time.Second || ttl > time.Hour+time.Second {
						t.Errorf("PTTL(%s) = %v, want about 1h whatever the app clock's skew", key, ttl)
					}
				}
				must(t, ss.Create(ctx, "s1", rec()))
				check(p + "s:s1")
				check(p + "su:alice")
				if found, err := ss.Update(ctx, "s1", rec()); err != nil || !found {
					t.Fatalf("Update = %v, %v", found, err)
				}
				check(p + "s:s1")
				if found, err := ss.Rotate(ctx, "s1", "s2", rec()); err != nil || !found {
					t.Fatalf("Rotate = %v, %v", found, err)
				}
				check(p + "s:s2")
				check(p + "su:alice")
			})
		})
	}
}
