package storetestkit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/session/sessiontest"
)

// RevokeConfig describes the session revocation race of one backend.
type RevokeConfig struct {
	Rounds  int
	Procs   int
	Writers int // goroutines per process, one session each
	Slot    time.Duration
}

func revokeUser(r int) string     { return fmt.Sprintf("revoke-user-%d", r) }
func revokeID(r, p, g int) string { return fmt.Sprintf("revoke-%d-%d-%d", r, p, g) }

// RevokeRace races "log out everywhere" (ss.DeleteUser) in this process
// against c.Procs writer processes running role with [ChildArgs] of
// store (their body calls [RevokeWriters]) that keep saving and renewing
// the user's sessions: in every round, once DeleteUser returned and the
// writers stopped at their first refused write, no session of the user is
// live.
func RevokeRace(t *testing.T, ss session.Store, c RevokeConfig, role string, store any) {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	for r := range c.Rounds {
		for p := range c.Procs {
			for g := range c.Writers {
				if err := ss.Create(ctx, revokeID(r, p, g), session.Record{UserID: revokeUser(r),
					SecretHash: []byte{1}, CreatedAt: now, LastSeen: now,
					IdleExpiry: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	g := Start(t, c.Procs, role, store)
	start := time.Now().Add(100 * time.Millisecond)
	g.Go(start)
	for r := range c.Rounds {
		time.Sleep(time.Until(start.Add(time.Duration(r)*c.Slot + c.Slot/2)))
		if err := ss.DeleteUser(ctx, revokeUser(r)); err != nil {
			t.Fatal(err)
		}
	}
	results := Results[Tally](g)
	ReportErrors(t, results)
	raced := 0
	for r := range c.Rounds {
		writes := Sum(results, "writes", r)
		if writes > 0 {
			raced++
		}
		if err := sessiontest.CheckRevoked(ctx, ss, revokeUser(r), Union(results, "ids", r)); err != nil {
			t.Errorf("round %d (%d writes raced): %v", r, writes, err)
		}
	}
	// A round where the writers started late (a loaded machine) proves
	// nothing, but all of them cannot.
	if raced == 0 {
		t.Error("in no round was a write accepted before the revoke: the race never happened")
	}
	t.Logf("%d of %d rounds raced writes against the revoke", raced, c.Rounds)
}

// RevokeWriters is the body of a writer process of [RevokeRace], once it
// has opened and connected its own store: in each round's slot, c.Writers
// goroutines save and renew sessions of the round's user until a write is
// refused; it reports the ids used and the writes accepted.
func RevokeWriters(ss session.Store, c RevokeConfig, proc int) int {
	start, err := Ready()
	if err != nil {
		return Fail(err)
	}
	rec := NewRecorder(c.Rounds)
	Race(start, c.Rounds, c.Slot, c.Writers, func(r, g int) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ids, writes, err := sessiontest.WriteUntilRevoked(ctx, ss, revokeUser(r), revokeID(r, proc, g))
		rec.See("ids", r, ids...)
		rec.Add("writes", r, writes)
		if err != nil {
			rec.Fail(fmt.Errorf("round %d: %w", r, err))
		}
	})
	return Report(rec.Tally())
}
