package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/store/sqlstore"
)

var revokeRace = storetestkit.RevokeConfig{Rounds: 8, Procs: 2, Writers: 4, Slot: time.Second}

// TestCrossProcessSessionRevoke races "log out everywhere" in this process
// against requests in two other OS processes (own pool each) that keep
// saving and renewing the user's sessions (storetestkit.RevokeRace): in
// every round, once DeleteUser returned and the writers stopped at their
// first refused write, no session of the user is live, on PostgreSQL and
// SQLite.
func TestCrossProcessSessionRevoke(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		st, args := childStore(t, d)
		storetestkit.RevokeRace(t, st.Sessions(), revokeRace, "revoke", args)
	})
}

func revokeChild(st *sqlstore.Store, proc int) int {
	// Connect every writer's connection before the race.
	db := st.DB()
	db.SetMaxIdleConns(revokeRace.Writers)
	conns := make([]*sql.Conn, revokeRace.Writers)
	for i := range conns {
		var err error
		if conns[i], err = db.Conn(context.Background()); err != nil {
			return storetestkit.Fail(err)
		}
		if err := conns[i].PingContext(context.Background()); err != nil {
			return storetestkit.Fail(err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	return storetestkit.RevokeWriters(st.Sessions(), revokeRace, proc)
}
