package sqlstore_test

import (
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// TestPurgeKeepsPasskeys checks that passkeys, which have no expiry, survive
// Store.Purge however old they are and however far the clock has moved.
func TestPurgeKeepsPasskeys(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		clock := newClock(t0)
		st := d.new(t, sqlstore.Config{Now: clock.Now})
		ctx := t.Context()
		creds := []passkey.Credential{
			{ID: []byte("never-used"), UserID: "u", UserHandle: []byte("h"), PublicKey: []byte{1}, CreatedAt: t0.AddDate(-5, 0, 0)},
			{ID: []byte("used"), UserID: "u", UserHandle: []byte("h"), PublicKey: []byte{2}, CreatedAt: t0, LastUsedAt: t0},
		}
		for _, c := range creds {
			if ok, err := st.Passkeys().Add(ctx, c); err != nil || !ok {
				t.Fatalf("Add(%q) = %v, %v", c.ID, ok, err)
			}
		}
		clock.Advance(100 * 365 * 24 * time.Hour)
		if _, err := st.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := st.Passkeys().List(ctx, "u")
		if err != nil || len(got) != 2 || string(got[0].ID) != "never-used" || string(got[1].ID) != "used" {
			t.Fatalf("List after Purge = %d credentials, %v; want never-used and used", len(got), err)
		}
	})
}

var passkeyRace = storetestkit.PasskeyRaceConfig{Rounds: 10, Procs: 3, Goroutines: 4, Slot: 60 * time.Millisecond}

// TestPasskeysCrossProcess races three processes, each with its own pool,
// removing all of a user's credentials with keepLast (exactly one is left;
// on PostgreSQL under READ COMMITTED) and updating one credential's sign
// count from the same previous value (exactly one write wins).
func TestPasskeysCrossProcess(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		st, args := childStore(t, d)
		storetestkit.PasskeyRace(t, st.Passkeys(), passkeyRace, "passkey", args)
	})
}

func passkeyChild(st *sqlstore.Store, proc int) int {
	return storetestkit.PasskeyRaceChild(st.Passkeys(), passkeyRace, proc)
}
