package sqlstore_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// testClock is a settable Config.Now.
type testClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestPurge fills every table that expires with one row that will have
// expired and one that stays live (plus a refresh token of a revoked
// family, which Purge removes at once), moves the injected clock past the
// first and checks, per table, that Purge removed exactly the expired rows,
// left the tables without expiry alone, and that the live rows still read
// back.
func TestPurge(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		clock := newClock(t0)
		st := d.new(t, sqlstore.Config{Now: clock.Now, RevokedFamilyRetention: 5 * time.Minute})
		ctx := t.Context()
		short, long := t0.Add(time.Minute), t0.Add(time.Hour)

		sess := func(exp time.Time) session.Record {
			return session.Record{UserID: "u", SecretHash: []byte("h"), CreatedAt: t0, LastSeen: t0, IdleExpiry: exp, AbsoluteExpiry: long}
		}
		must(t, st.Sessions().Create(ctx, "s-expired", sess(short)))
		must(t, st.Sessions().Create(ctx, "s-live", sess(long)))

		rt := func(id, fam string, exp, famExp time.Time) jwt.RefreshToken {
			return jwt.RefreshToken{ID: id, FamilyID: fam, UserID: "u", IssuedAt: t0, Expiry: exp, FamilyExpiry: famExp,
				SignIn: jwt.SignIn{AuthTime: t0}}
		}
		mustCreate(t, st.RefreshTokens(), rt("rt-expired", "fam", short, long))
		mustCreate(t, st.RefreshTokens(), rt("rt-live", "fam", long, long))
		// A family that ends early: its row and its token go.
		mustCreate(t, st.RefreshTokens(), rt("rt-short", "fam-short", short, short))
		// A revoked family: its live token goes at once; its row stays
		// until the family's expiry (long).
		mustCreate(t, st.RefreshTokens(), rt("rt-revoked", "fam-revoked", long, long))
		if _, found, err := st.RefreshTokens().RevokeToken(ctx, "rt-revoked"); !found || err != nil {
			t.Fatalf("RevokeToken: %v %v", found, err)
		}

		for user, exp := range map[string]time.Time{"expired": short, "live": long} {
			if ok, err := st.TOTPReplay().Advance(ctx, user, 100, exp); !ok || err != nil {
				t.Fatalf("Advance: %v, %v", ok, err)
			}
		}
		must(t, st.Tickets().Put(ctx, "p", "t-expired", []byte("x"), short))
		must(t, st.Tickets().Put(ctx, "p", "t-live", []byte("x"), long))
		for k, w := range map[string]time.Duration{"a-expired": time.Minute, "a-live": time.Hour} {
			if _, _, err := st.Attempts().Incr(ctx, k, w); err != nil {
				t.Fatal(err)
			}
		}
		// Rows that never expire.
		must(t, st.Users().CreateUser(ctx, authkit.User{ID: "u", Email: "u@example.com"}))
		storetestkit.SeedMFA(t, st.MFA(), "u", []byte("c1"), []byte("c2"))
		must(t, st.NotBefore().SetNotBefore(ctx, "u", t0))

		// Nothing has expired yet; only the revoked family's token goes.
		if n, err := st.Purge(ctx); n != 1 || err != nil {
			t.Fatalf("Purge at t0 = %d, %v; want 1", n, err)
		}
		rotate := func(id string) jwt.RotateOutcome {
			res, err := st.RefreshTokens().Rotate(ctx, jwt.Rotation{ID: id, Now: clock.Now(),
				Next: jwt.RefreshToken{ID: id + "-next", IssuedAt: clock.Now(), Expiry: long}})
			must(t, err)
			return res.Outcome
		}
		if o := rotate("rt-revoked"); o != jwt.RotateInvalid {
			t.Errorf("rt-revoked after Purge: outcome %d", o)
		}
		clock.Advance(10 * time.Minute)

		_, migrations, err := st.Version(ctx)
		must(t, err)
		tables := []struct {
			table        string
			before, want int // rows before and after Purge
		}{
			{"sessions", 2, 1},
			{"refresh_tokens", 3, 1},
			{"refresh_families", 3, 2},
			{"totp_replay", 2, 1},
			{"tickets", 2, 1},
			{"attempts", 2, 1},
			{"users", 1, 1},
			{"mfa_enrollments", 1, 1},
			{"mfa_backup_codes", 2, 2},
			{"not_before", 1, 1},
			{"schema_migrations", int(migrations), int(migrations)},
		}
		wantTotal := 0
		for _, tb := range tables {
			if got := countRows(t, st, tb.table); got != tb.before {
				t.Fatalf("%s: %d rows before Purge, want %d", tb.table, got, tb.before)
			}
			wantTotal += tb.before - tb.want
		}
		n, err := st.Purge(ctx)
		if err != nil || n != int64(wantTotal) {
			t.Errorf("Purge = %d, %v; want %d", n, err, wantTotal)
		}
		for _, tb := range tables {
			if got := countRows(t, st, tb.table); got != tb.want {
				t.Errorf("%s: %d rows after Purge, want %d", tb.table, got, tb.want)
			}
		}
		if n, err := st.Purge(ctx); n != 0 || err != nil {
			t.Errorf("second Purge = %d, %v; want 0", n, err)
		}

		// The live rows are the ones kept.
		if _, found, err := st.Sessions().Find(ctx, "s-live"); !found || err != nil {
			t.Errorf("s-live: %v %v", found, err)
		}
		if o := rotate("rt-live"); o != jwt.Rotated {
			t.Errorf("rt-live: outcome %d", o)
		}
		// The revoked family stays revoked: a token created into it later
		// is dead (the family row was kept).
		mustCreate(t, st.RefreshTokens(), rt("rt-late", "fam-revoked", long, long))
		if o := rotate("rt-late"); o != jwt.RotateInvalid {
			t.Errorf("token of a revoked family after Purge: outcome %d", o)
		}
		if ok, err := st.TOTPReplay().Advance(ctx, "live", 100, long); ok || err != nil {
			t.Errorf("replayed step after Purge: %v %v", ok, err)
		}
		if c, _, err := st.Attempts().Count(ctx, "a-live"); c != 1 || err != nil {
			t.Errorf("a-live: %d %v", c, err)
		}
		if _, found, err := st.Tickets().Take(ctx, "p", "t-live"); !found || err != nil {
			t.Errorf("t-live: %v %v", found, err)
		}
		if used, err := st.MFA().UseBackupCode(ctx, "u", []byte("c1")); !used || err != nil {
			t.Errorf("backup code after Purge: %v %v", used, err)
		}
	})
}
