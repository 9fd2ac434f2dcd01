package redisstore_test

import (
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/redisstore"
)

// TestPasskeysConformance runs the credential store suite against a single
// node and against the Cluster, where the id index and the user's hash
// live in different slots.
func TestPasskeysConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		passkeytest.Run(t, func(t *testing.T) passkey.CredentialStore {
			return newStore(t, b.client(t), redisstore.Config{}).Passkeys()
		})
	})
}

var passkeyRace = storetestkit.PasskeyRaceConfig{Rounds: 10, Procs: 3, Goroutines: 4, Slot: 50 * time.Millisecond}

// TestPasskeysCrossProcess races three processes, each with its own client,
// removing all of a user's credentials with keepLast (exactly one is left)
// and updating one credential's sign count from the same previous value
// (exactly one write wins), on a single node and on the Cluster.
func TestPasskeysCrossProcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := newStore(t, b.client(t), redisstore.Config{})
		storetestkit.PasskeyRace(t, st.Passkeys(), passkeyRace, "passkey", childArgsOf(b, st))
	})
}

func passkeyChild(st *redisstore.Store, proc int) int {
	return storetestkit.PasskeyRaceChild(st.Passkeys(), passkeyRace, proc)
}
