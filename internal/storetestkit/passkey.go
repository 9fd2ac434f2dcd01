package storetestkit

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/authkit-go/authkit/passkey"
)

// Names of the races in a [Tally] of [PasskeyRaceChild].
const (
	racePasskeyRemoved = "passkey_removed" // keepLast removals that deleted
	racePasskeyLast    = "passkey_last"    // keepLast removals refused as the last
	racePasskeyLastID  = "passkey_last_id" // the credential a refused removal kept
	racePasskeyUse     = "passkey_use"     // UpdateUse calls that wrote
	racePasskeyUseN    = "passkey_use_n"   // the sign count the winner wrote
)

// PasskeyRaceConfig describes the cross-process passkey race.
type PasskeyRaceConfig struct {
	Rounds     int
	Procs      int           // child processes
	Goroutines int           // racers per process
	Slot       time.Duration // every round starts on a shared wall-clock slot
}

func passkeyRaceUser(r int) string     { return fmt.Sprintf("pk-race-user-%d", r) }
func passkeyRaceID(r, p, g int) []byte { return fmt.Appendf(nil, "pk-race-%d-%d-%d\x00", r, p, g) }
func passkeyCASUser(r int) string      { return fmt.Sprintf("pk-cas-user-%d", r) }
func passkeyCASID(r int) []byte        { return fmt.Appendf(nil, "pk-cas-%d\xff", r) }

const passkeyRaceCount = 7 // the sign count every UpdateUse racer expects

func passkeyRaceCred(user string, id []byte, created time.Time) passkey.Credential {
	return passkey.Credential{ID: id, UserID: user, UserHandle: []byte("h-" + user), Name: "race", PublicKey: []byte{0xa5},
		AttestationFormat: "none", AAGUID: make([]byte, 16), SignCount: passkeyRaceCount, CreatedAt: created}
}

// PasskeyRace races c.Procs child processes, each running role with
// [ChildArgs] of store (their body calls [PasskeyRaceChild]) and
// c.Goroutines goroutines, on one user's credentials and on one sign
// counter per round. Every racer removes its own credential of the round's
// user with keepLast: exactly one removal is refused as the last and its
// credential is the only one left. Every racer also calls UpdateUse on the
// round's shared credential from the same previous count: exactly one
// writes, and the stored count is the one it wrote.
func PasskeyRace(t *testing.T, s passkey.CredentialStore, c PasskeyRaceConfig, role string, store any) {
	t.Helper()
	ctx := t.Context()
	created := time.Now().Truncate(time.Second)
	add := func(cr passkey.Credential) {
		if ok, err := s.Add(ctx, cr); err != nil || !ok {
			t.Fatalf("passkey Add(%q): added=%v err=%v", cr.ID, ok, err)
		}
	}
	for r := range c.Rounds {
		for p := range c.Procs {
			for g := range c.Goroutines {
				add(passkeyRaceCred(passkeyRaceUser(r), passkeyRaceID(r, p, g), created))
			}
		}
		add(passkeyRaceCred(passkeyCASUser(r), passkeyCASID(r), created))
	}
	grp := Start(t, c.Procs, role, store)
	grp.Go(time.Now().Add(100 * time.Millisecond))
	results := Results[Tally](grp)
	ReportErrors(t, results)
	all := c.Procs * c.Goroutines
	for r := range c.Rounds {
		removed, last := Sum(results, racePasskeyRemoved, r), Sum(results, racePasskeyLast, r)
		if removed != all-1 || last != 1 {
			t.Errorf("round %d: %d keepLast removals deleted and %d were refused as the last; want %d and 1", r, removed, last, all-1)
		}
		left, err := s.List(ctx, passkeyRaceUser(r))
		if err != nil {
			t.Fatal(err)
		}
		kept := Union(results, racePasskeyLastID, r)
		if len(left) != 1 || len(kept) != 1 || string(left[0].ID) != kept[0] {
			ids := make([]string, len(left))
			for i, l := range left {
				ids[i] = string(l.ID)
			}
			t.Errorf("round %d: credentials left %q, refused removals kept %q; want exactly one, the same", r, ids, kept)
		}
		if n := Sum(results, racePasskeyUse, r); n != 1 {
			t.Errorf("round %d: %d concurrent UpdateUse calls from count %d wrote; want exactly 1", r, n, passkeyRaceCount)
			continue
		}
		got, found, err := s.Get(ctx, passkeyCASID(r))
		if err != nil || !found {
			t.Fatalf("passkey Get: found=%v err=%v", found, err)
		}
		if want := Union(results, racePasskeyUseN, r); len(want) != 1 || strconv.FormatUint(uint64(got.SignCount), 10) != want[0] {
			t.Errorf("round %d: stored sign count %d, the winner wrote %q", r, got.SignCount, want)
		}
	}
}

// PasskeyRaceChild is the body of a child of [PasskeyRace] with index
// proc, once it has opened and connected its own store.
func PasskeyRaceChild(s passkey.CredentialStore, c PasskeyRaceConfig, proc int) int {
	start, err := Ready()
	if err != nil {
		return Fail(err)
	}
	ctx := context.Background()
	rec := NewRecorder(c.Rounds)
	Race(start, c.Rounds, c.Slot, c.Goroutines, func(r, g int) {
		id := passkeyRaceID(r, proc, g)
		res, err := s.Remove(ctx, passkeyRaceUser(r), id, true)
		rec.Fail(err)
		switch {
		case res.Removed:
			rec.Add(racePasskeyRemoved, r, 1)
		case res.Last:
			rec.Add(racePasskeyLast, r, 1)
			rec.See(racePasskeyLastID, r, string(id))
		case err == nil:
			rec.Fail(fmt.Errorf("round %d: Remove(%q) neither removed nor refused its own credential", r, id))
		}
		n := uint32(passkeyRaceCount + 1 + proc*c.Goroutines + g)
		ok, err := s.UpdateUse(ctx, passkeyCASID(r), passkeyRaceCount, passkey.Use{SignCount: n, LastUsedAt: time.Now()})
		rec.Fail(err)
		if ok {
			rec.Add(racePasskeyUse, r, 1)
			rec.See(racePasskeyUseN, r, strconv.FormatUint(uint64(n), 10))
		}
	})
	return Report(rec.Tally())
}
