package redisstore_test

import (
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/redisstore"
)

// TestTOTPReplayRecordFollowsRedisClock: with Redis's clock ahead of the
// application's by more than a replay record's lifetime, the record of an
// accepted step must still be kept for its lifetime, so the same code is
// refused when presented again. An absolute expiry of the application's
// clock is already in Redis's past: the record vanishes at once and the
// code can be replayed.
func TestTOTPReplayRecordFollowsRedisClock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, skew := range skews {
			t.Run(skew.String(), func(t *testing.T) {
				c := b.client(t)
				now := func() time.Time { return time.Now().Add(skew) }
				st := newStore(t, c, redisstore.Config{Now: now})
				const life = 90 * time.Second
				ok, err := st.TOTPReplay().Advance(t.Context(), "u1", 1000, now().Add(life))
				must(t, err)
				if !ok {
					t.Fatal("first Advance refused")
				}
				if d := pttl(t, c, st.Prefix()+"tr:u1"); d <= 0 || d > life {
					t.Errorf("replay record: PTTL = %v, want in (0, %v]", d, life)
				}
				ok, err = st.TOTPReplay().Advance(t.Context(), "u1", 1000, now().Add(life))
				must(t, err)
				if ok {
					t.Fatal("the same TOTP step was accepted twice: the replay record was dropped")
				}
			})
		}
	})
}

// TestEveryExpiryFollowsRedisClock: sessions (and their user index),
// refresh tokens (token, pointer, family, user index, revocation
// tombstone) and not-before times written with the clocks ±2 min apart
// are kept by Redis for their remaining lifetime on its own clock, never
// for an absolute time of the application's clock that Redis may have
// passed already (dropping a tombstone revives a revoked family) or not
// reached yet.
func TestEveryExpiryFollowsRedisClock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, skew := range skews {
			t.Run(skew.String(), func(t *testing.T) {
				c := b.client(t)
				now := func() time.Time { return time.Now().Add(skew) }
				const life = time.Minute
				st := newStore(t, c, redisstore.Config{Now: now, RevokedFamilyRetention: life, NotBeforeRetention: life})
				ctx := t.Context()
				p := st.Prefix()
				n := now()
				must(t, st.Sessions().Save(ctx, "s1", session.Record{UserID: "u1", SecretHash: []byte("h"),
					CreatedAt: n, LastSeen: n, IdleExpiry: n.Add(life), AbsoluteExpiry: n.Add(life)}))
				must(t, st.RefreshTokens().Create(ctx, jwt.RefreshToken{ID: "t1", FamilyID: "f1", UserID: "u1",
					IssuedAt: n, Expiry: n.Add(life), FamilyExpiry: n.Add(life)}))
				must(t, st.NotBefore().SetNotBefore(ctx, "u1", n))
				keys := []string{p + "s:s1", p + "su:u1", p + "rt:{f1}:t1", p + "rp:t1", p + "rf:{f1}", p + "ru:u1", p + "nb:u1"}
				check := func(when string) {
					t.Helper()
					for _, key := range keys {
						// Lifetimes are rounded up to the next millisecond.
						if d := pttl(t, c, key); d <= 0 || d > life+time.Millisecond {
							t.Errorf("%s: %s: PTTL = %v, want in (0, %v]", when, key, d, life+time.Millisecond)
						}
					}
				}
				check("after writing")
				must(t, st.RefreshTokens().RevokeFamily(ctx, "f1"))
				check("after revoking")
				if _, found, err := st.RefreshTokens().Use(ctx, "t1", now()); err != nil || found {
					t.Errorf("Use after RevokeFamily: found=%v err=%v, want not found", found, err)
				}
				if _, found, err := st.Sessions().Find(ctx, "s1"); err != nil || !found {
					t.Errorf("session: found=%v err=%v, want found", found, err)
				}
				if _, found, err := st.NotBefore().NotBefore(ctx, "u1"); err != nil || !found {
					t.Errorf("not-before: found=%v err=%v, want found", found, err)
				}
			})
		}
	})
}
