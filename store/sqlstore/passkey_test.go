package sqlstore_test

import (
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// TestPasskeysConformance runs the credential store suite on both
// dialects, each case on a fresh store.
func TestPasskeysConformance(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		passkeytest.Run(t, func(t *testing.T) passkey.CredentialStore { return d.new(t, sqlstore.Config{}).Passkeys() })
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
