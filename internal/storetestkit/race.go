package storetestkit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
)

// Names of the races in a [Tally] of [RunRace].
const (
	raceRefresh      = "refresh"       // rotations won
	raceRefreshFound = "refresh_found" // rotations won or retried (same successor)
	raceRefreshNext  = "refresh_next"  // successor ids seen
	raceTOTP         = "totp"
	raceBackup       = "backup"
	raceMFAPut       = "mfa_put"
	raceLimit        = "limit"
	raceTicket       = "ticket"
)

// RaceConfig describes the cross-process race of one backend.
type RaceConfig struct {
	Rounds     int
	Goroutines int           // racers per process and item
	Slot       time.Duration // every round starts on a shared wall-clock slot
	// Token is the id of round i's refresh token (a token of user "u"),
	// Next a fresh successor id.
	Token func(i int) string
	Next  func() string
	// Allow, in a child, is one decision of a rate limiter that allows
	// Burst calls per key; with Burst > 0, of all racers of a round exactly
	// Burst must be allowed.
	Allow func(ctx context.Context, key string) (bool, error)
	Burst int
}

// RaceStores are the stores the cross-process race runs on. Tickets is
// optional: when set, every round also races Takes of one ticket.
type RaceStores struct {
	Refresh jwt.RefreshStore
	TOTP    mfa.ReplayStore
	MFA     mfa.Store
	Tickets authkit.TicketStore
}

// racePurpose is the ticket purpose of the cross-process race.
const racePurpose = "cross_race"

func raceTicketKey(i int) string { return fmt.Sprintf("cross-ticket:{%d}", i) }

func raceUser(i int) string { return fmt.Sprintf("cross-user-%d", i) }
func raceCode(i int) []byte { return []byte(fmt.Sprintf("cross-code-mac-%d\x00", i)) }

// CrossProcess races procs child processes, each running role with
// [ChildArgs] of store (its body calls [RaceChild]) and several goroutines, on the same
// refresh tokens, TOTP steps, backup codes and MFA enrollment versions
// (and limiter keys, with c.Burst): exactly one caller in all wins each
// (one refresh per token, single-use backup codes, one TOTP step, one
// compare-and-set write per enrollment version, one Take per ticket when
// s.Tickets is set; ASVS 6.5.1, RFC 9700 §4.14.2), and exactly c.Burst
// limiter calls are allowed.
func CrossProcess(t *testing.T, s RaceStores, c RaceConfig, procs int, role string, store any) {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	for i := range c.Rounds {
		if ok, err := s.Refresh.Create(ctx, jwt.RefreshToken{ID: c.Token(i), FamilyID: fmt.Sprint("fam", i), UserID: "u",
			IssuedAt: now, Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(time.Hour), SignIn: jwt.SignIn{AuthTime: now}}); err != nil || !ok {
			t.Fatalf("refresh Create: created=%v err=%v", ok, err)
		}
		SeedMFA(t, s.MFA, raceUser(i), raceCode(i), []byte("other"))
		if s.Tickets != nil {
			if err := s.Tickets.Put(ctx, racePurpose, raceTicketKey(i), []byte(raceUser(i)), now.Add(time.Hour)); err != nil {
				t.Fatalf("ticket Put: %v", err)
			}
		}
	}
	g := Start(t, procs, role, store)
	g.Go(time.Now().Add(100 * time.Millisecond))
	results := Results[Tally](g)
	ReportErrors(t, results)
	won := make([]int, procs) // refresh rounds won per process, for the log
	for r := range c.Rounds {
		for i, res := range results {
			won[i] += res.Count(raceRefresh, r)
		}
		refresh, found := Sum(results, raceRefresh, r), Sum(results, raceRefreshFound, r)
		next := map[string]bool{}
		for _, n := range Union(results, raceRefreshNext, r) {
			next[n] = true
		}
		all := procs * c.Goroutines
		if refresh != 1 || found != all || len(next) != 1 {
			t.Errorf("round %d: %d callers rotated the refresh token, %d rotated or retried, %d distinct successors; want exactly 1, %d and 1",
				r, refresh, found, len(next), all)
		}
		if n := Sum(results, raceTOTP, r); n != 1 {
			t.Errorf("round %d: %d callers claimed the TOTP step; want exactly 1", r, n)
		}
		if n := Sum(results, raceBackup, r); n != 1 {
			t.Errorf("round %d: %d callers spent the backup code; want exactly 1", r, n)
		}
		if n := Sum(results, raceMFAPut, r); n != 1 {
			t.Errorf("round %d: %d callers won one MFA compare-and-set; want exactly 1", r, n)
		}
		if n := Sum(results, raceTicket, r); s.Tickets != nil && n != 1 {
			t.Errorf("round %d: %d callers took the ticket; want exactly 1", r, n)
		}
		if n := Sum(results, raceLimit, r); c.Burst > 0 && n != c.Burst {
			t.Errorf("round %d: the limiter allowed %d of %d calls; want exactly %d", r, n, all, c.Burst)
		}
	}
	t.Logf("refresh rounds won per process: %v", won)
	// The other backup code of each set is untouched.
	for i := range c.Rounds {
		used, err := s.MFA.UseBackupCode(ctx, raceUser(i), []byte("other"))
		if err != nil || !used {
			t.Fatalf("other code of user %d: used=%v err=%v", i, used, err)
		}
	}
}

// RaceChild is the body of a child of [CrossProcess], once it has opened
// and connected its own stores: it says ready, races in each round's
// wall-clock slot and reports a [Tally].
func RaceChild(s RaceStores, c RaceConfig) int {
	start, err := Ready()
	if err != nil {
		return Fail(err)
	}
	ctx := context.Background()
	rec := NewRecorder(c.Rounds)
	step := uint64(time.Now().Unix() / 30)
	Race(start, c.Rounds, c.Slot, c.Goroutines, func(r, _ int) {
		rot, err := s.Refresh.Rotate(ctx, jwt.Rotation{ID: c.Token(r), Now: time.Now(), Grace: time.Minute,
			Next: jwt.RefreshToken{ID: c.Next(), Expiry: time.Now().Add(time.Hour)}})
		rec.Fail(err)
		switch rot.Outcome {
		case jwt.Rotated:
			rec.Add(raceRefresh, r, 1)
			rec.Add(raceRefreshFound, r, 1)
			rec.See(raceRefreshNext, r, rot.Token.ID)
		case jwt.RotateRetried:
			rec.Add(raceRefreshFound, r, 1)
			rec.See(raceRefreshNext, r, rot.Token.ID)
		}
		ok, err := s.TOTP.Advance(ctx, raceUser(r), step, time.Now().Add(time.Minute))
		rec.Fail(err)
		if ok {
			rec.Add(raceTOTP, r, 1)
		}
		used, err := s.MFA.UseBackupCode(ctx, raceUser(r), raceCode(r))
		rec.Fail(err)
		if used {
			rec.Add(raceBackup, r, 1)
		}
		put, err := CrossPut(ctx, s.MFA, raceUser(r))
		rec.Fail(err)
		if put {
			rec.Add(raceMFAPut, r, 1)
		}
		if s.Tickets != nil {
			data, found, err := s.Tickets.Take(ctx, racePurpose, raceTicketKey(r))
			rec.Fail(err)
			if found && string(data) != raceUser(r) {
				rec.Fail(fmt.Errorf("ticket of round %d holds %q", r, data))
			}
			if found {
				rec.Add(raceTicket, r, 1)
			}
		}
		if c.Allow != nil {
			allowed, err := c.Allow(ctx, raceUser(r))
			rec.Fail(err)
			if allowed {
				rec.Add(raceLimit, r, 1)
			}
		}
	})
	return Report(rec.Tally())
}

// SeedMFA stores an active enrollment for user with the given backup codes.
func SeedMFA(t testing.TB, s mfa.Store, user string, codes ...[]byte) {
	t.Helper()
	e := mfa.Enrollment{Version: 1, Secret: []byte("sealed"), ConfirmedAt: time.Now()}
	if ok, err := s.Put(context.Background(), user, 0, e, codes); err != nil || !ok {
		t.Fatalf("seeding MFA for %q: %v, %v", user, ok, err)
	}
}

// CrossPut is one concurrent writer of an enrollment read at version 1
// (what [SeedMFA] stores): of all racers exactly one may win.
func CrossPut(ctx context.Context, s mfa.Store, user string) (bool, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return false, err
	}
	v := binary.BigEndian.Uint64(b[:]) | 2 // never 0 or 1
	return s.Put(ctx, user, 1, mfa.Enrollment{Version: v, Secret: []byte("sealed")}, nil)
}
