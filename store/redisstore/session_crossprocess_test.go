package redisstore_test

import (
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/store/redisstore"
)

var revokeRace = storetestkit.RevokeConfig{Rounds: 8, Procs: 2, Writers: 4, Slot: 400 * time.Millisecond}

// TestCrossProcessSessionRevoke races "log out everywhere" in this process
// against requests in two other OS processes (own client and pool each)
// that keep saving and renewing the user's sessions
// (storetestkit.RevokeRace): in every round, once DeleteUser returned and
// the writers stopped at their first refused write, no session of the user
// is live, on a single node and on the Cluster.
func TestCrossProcessSessionRevoke(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := newStore(t, b.client(t), redisstore.Config{})
		storetestkit.RevokeRace(t, st.Sessions(), revokeRace, "revoke", childArgsOf(b, st))
	})
}

func revokeChild(st *redisstore.Store, proc int) int {
	return storetestkit.RevokeWriters(st.Sessions(), revokeRace, proc)
}
