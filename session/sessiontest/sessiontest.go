// Package sessiontest checks implementations of [session.Store] against
// its documented contract. Adapters (memory, Redis, SQL, a host's own) run
// [Run] from their tests; [Test] returns the failures as one error so this
// package's own tests can prove that each case rejects a broken store.
//
// The cases use only the [session.Store] interface. Times are compared to
// within [TimeTolerance] (stores may keep whole seconds), and the TTL case
// waits about 2.6 s of real time because a server's clock cannot be injected.
package sessiontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/session"
)

// TimeTolerance is how far a round-tripped time may drift from the saved
// one: stores may truncate to whole seconds.
const TimeTolerance = time.Second

// Case names, as they appear in subtest names and [CaseError.Case].
const (
	FindMissing           = "FindMissing"
	RoundTrip             = "RoundTrip"
	Overwrite             = "Overwrite"
	CreateNoReplace       = "CreateNoReplace"
	UpdateMissing         = "UpdateMissing"
	UpdateAfterDelete     = "UpdateAfterDelete"
	UpdateAfterDeleteUser = "UpdateAfterDeleteUser"
	UpdateKeepsUser       = "UpdateKeepsUser"
	Rotate                = "Rotate"
	RotateAfterDelete     = "RotateAfterDelete"
	RotateAfterDeleteUser = "RotateAfterDeleteUser"
	RotateIntoExpired     = "RotateIntoExpired"
	RaceUpdateDeleteUser  = "RaceUpdateDeleteUser"
	NoAliasing            = "NoAliasing"
	ExpiredIsMissing      = "ExpiredIsMissing"
	TTLHonoured           = "TTLHonoured"
	DeleteMissing         = "DeleteMissing"
	Delete                = "Delete"
	ListUser              = "ListUser"
	DeleteUser            = "DeleteUser"
	UserChange            = "UserChange"
	BinarySafe            = "BinarySafe"
	HostileIDs            = "HostileIDs"
	CancelledContext      = "CancelledContext"
	Concurrent            = "Concurrent"
)

// CaseError reports one failed case: [Test] returns errors.Join of one
// per failed case.
type CaseError = suite.CaseError

var cases = suite.Suite[session.Store]{Name: "sessiontest", Cases: []suite.Case[session.Store]{
	{Name: FindMissing, Check: findMissing},
	{Name: RoundTrip, Check: roundTrip},
	{Name: Overwrite, Check: overwrite},
	{Name: CreateNoReplace, Check: createNoReplace},
	{Name: UpdateMissing, Check: updateMissing},
	{Name: UpdateAfterDelete, Check: updateAfterDelete},
	{Name: UpdateAfterDeleteUser, Check: updateAfterDeleteUser},
	{Name: UpdateKeepsUser, Check: updateKeepsUser},
	{Name: Rotate, Check: rotate},
	{Name: RotateAfterDelete, Check: rotateAfterDelete},
	{Name: RotateAfterDeleteUser, Check: rotateAfterDeleteUser},
	{Name: RotateIntoExpired, Check: rotateIntoExpired},
	{Name: RaceUpdateDeleteUser, Check: raceUpdateDeleteUser},
	{Name: NoAliasing, Check: noAliasing},
	{Name: ExpiredIsMissing, Check: expiredIsMissing},
	{Name: TTLHonoured, Check: ttlHonoured},
	{Name: DeleteMissing, Check: deleteMissing},
	{Name: Delete, Check: deleteCase},
	{Name: ListUser, Check: listUser},
	{Name: DeleteUser, Check: deleteUser},
	{Name: UserChange, Check: userChange},
	{Name: BinarySafe, Check: binarySafe},
	{Name: HostileIDs, Check: hostileIDs},
	{Name: CancelledContext, Check: cancelledContext},
	{Name: Concurrent, Check: concurrent},
}}

// Run runs each case in a parallel subtest. newStore is called once per
// case and must return an empty, isolated store (its own key prefix or
// table); it registers any cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) session.Store) {
	t.Helper()
	cases.Run(t, newStore)
}

// Test runs every case concurrently, each on its own store from newStore,
// and returns errors.Join of one [*CaseError] per failed case.
func Test(newStore func() (session.Store, error)) error { return cases.Test(newStore) }

// record returns a live record for userID expiring in an hour.
func record(userID string, data string) session.Record {
	now := time.Now().Truncate(time.Second)
	return session.Record{
		UserID:         userID,
		SecretHash:     bytes.Repeat([]byte{0xab}, 32),
		Data:           []byte(data),
		CreatedAt:      now.Add(-time.Minute),
		LastSeen:       now,
		IdleExpiry:     now.Add(30 * time.Minute),
		AbsoluteExpiry: now.Add(time.Hour),
		IP:             "192.0.2.1",
		UserAgent:      "sessiontest/1.0 \"quoted\"",
	}
}

func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d <= TimeTolerance && d >= -TimeTolerance
}

func sameRecord(got, want session.Record) error {
	switch {
	case got.UserID != want.UserID:
		return fmt.Errorf("UserID = %q, want %q", got.UserID, want.UserID)
	case !bytes.Equal(got.SecretHash, want.SecretHash):
		return fmt.Errorf("SecretHash = %x, want %x", got.SecretHash, want.SecretHash)
	case !bytes.Equal(got.Data, want.Data):
		return fmt.Errorf("record Data differs (%d bytes, want %d)", len(got.Data), len(want.Data))
	case !near(got.CreatedAt, want.CreatedAt), !near(got.LastSeen, want.LastSeen),
		!near(got.IdleExpiry, want.IdleExpiry), !near(got.AbsoluteExpiry, want.AbsoluteExpiry):
		return fmt.Errorf("times = %v %v %v %v, want %v %v %v %v",
			got.CreatedAt, got.LastSeen, got.IdleExpiry, got.AbsoluteExpiry,
			want.CreatedAt, want.LastSeen, want.IdleExpiry, want.AbsoluteExpiry)
	case got.IP != want.IP || got.UserAgent != want.UserAgent:
		return fmt.Errorf("IP, UserAgent = %q, %q, want %q, %q", got.IP, got.UserAgent, want.IP, want.UserAgent)
	}
	return nil
}

func mustFind(ctx context.Context, s session.Store, id string, want session.Record) error {
	got, found, err := s.Find(ctx, id)
	if err != nil {
		return fmt.Errorf("store.Find(%q): %w", id, err)
	}
	if !found {
		return fmt.Errorf("store.Find(%q): not found after a write", id)
	}
	if err := sameRecord(got, want); err != nil {
		return fmt.Errorf("store.Find(%q): %w", id, err)
	}
	return nil
}

func mustMiss(ctx context.Context, s session.Store, id string) error {
	_, found, err := s.Find(ctx, id)
	if err != nil {
		return fmt.Errorf("store.Find(%q): %w", id, err)
	}
	if found {
		return fmt.Errorf("store.Find(%q): found, want missing", id)
	}
	return nil
}

func findMissing(ctx context.Context, s session.Store) error {
	return mustMiss(ctx, s, "no-such-id")
}

func roundTrip(ctx context.Context, s session.Store) error {
	want := record("alice", "hello")
	if err := s.Create(ctx, "id1", want); err != nil {
		return fmt.Errorf("store.Create: %w", err)
	}
	return mustFind(ctx, s, "id1", want)
}

func overwrite(ctx context.Context, s session.Store) error {
	a, b := record("alice", "first"), record("alice", "second")
	b.SecretHash = bytes.Repeat([]byte{0xcd}, 32)
	b.LastSeen = b.LastSeen.Add(2 * time.Minute)
	b.IP = "198.51.100.7"
	if err := s.Create(ctx, "id1", a); err != nil {
		return err
	}
	found, err := s.Update(ctx, "id1", b)
	if err != nil {
		return fmt.Errorf("store.Update: %w", err)
	}
	if !found {
		return fmt.Errorf("store.Update of a live record reported found=false")
	}
	if err := mustFind(ctx, s, "id1", b); err != nil {
		return err
	}
	m, err := s.ListUser(ctx, "alice")
	if err != nil {
		return err
	}
	if len(m) != 1 {
		return fmt.Errorf("ListUser after Update: %d records, want 1", len(m))
	}
	return nil
}

func createNoReplace(ctx context.Context, s session.Store) error {
	a, b := record("alice", "first"), record("bob", "second")
	if err := s.Create(ctx, "id1", a); err != nil {
		return err
	}
	err := s.Create(ctx, "id1", b)
	if !errors.Is(err, session.ErrIDInUse) {
		return fmt.Errorf("store.Create over a live id: err = %v, want session.ErrIDInUse", err)
	}
	if err := mustFind(ctx, s, "id1", a); err != nil {
		return fmt.Errorf("store.Create over a live id replaced it: %w", err)
	}
	if m, err := s.ListUser(ctx, "bob"); err != nil || len(m) != 0 {
		return fmt.Errorf("ListUser(bob) after a refused Create = %d records, %v", len(m), err)
	}
	return nil
}

// mustNotWrite checks that an Update of id reports found=false and that id
// stays missing, and out of userID's list.
func mustNotWrite(ctx context.Context, s session.Store, id string, rec session.Record) error {
	found, err := s.Update(ctx, id, rec)
	if err != nil {
		return fmt.Errorf("store.Update(%q): %w", id, err)
	}
	if found {
		return fmt.Errorf("store.Update(%q) of a missing record reported found=true", id)
	}
	if err := mustMiss(ctx, s, id); err != nil {
		return fmt.Errorf("store.Update re-created a missing record: %w", err)
	}
	return mustNotList(ctx, s, rec.UserID)
}

func mustNotList(ctx context.Context, s session.Store, userID string) error {
	if userID == "" {
		return nil
	}
	m, err := s.ListUser(ctx, userID)
	if err != nil {
		return err
	}
	if len(m) != 0 {
		return fmt.Errorf("ListUser(%q) lists %d records, want none", userID, len(m))
	}
	return nil
}

func updateMissing(ctx context.Context, s session.Store) error {
	if err := mustNotWrite(ctx, s, "never", record("alice", "x")); err != nil {
		return err
	}
	return mustNotWrite(ctx, s, "anon", record("", "x"))
}

// updateAfterDelete is a request that loaded its session before a logout
// or device revoke and writes after it.
func updateAfterDelete(ctx context.Context, s session.Store) error {
	rec := record("alice", "before")
	if err := s.Create(ctx, "id1", rec); err != nil {
		return err
	}
	if err := s.Delete(ctx, "id1"); err != nil {
		return err
	}
	rec.Data = []byte("after")
	if err := mustNotWrite(ctx, s, "id1", rec); err != nil {
		return err
	}
	// Expired is revoked too.
	exp := record("alice", "expired")
	exp.IdleExpiry = time.Now().Add(-time.Second)
	if err := s.Create(ctx, "id2", exp); err != nil {
		return err
	}
	return mustNotWrite(ctx, s, "id2", record("alice", "later"))
}

// updateAfterDeleteUser is a request that loaded its session before "log
// out everywhere" (or a password change, a disabled account) and writes
// after it.
func updateAfterDeleteUser(ctx context.Context, s session.Store) error {
	for _, id := range []string{"a1", "a2"} {
		if err := s.Create(ctx, id, record("alice", id)); err != nil {
			return err
		}
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		return err
	}
	for _, id := range []string{"a1", "a2"} {
		if err := mustNotWrite(ctx, s, id, record("alice", "after")); err != nil {
			return err
		}
	}
	return nil
}

func updateKeepsUser(ctx context.Context, s session.Store) error {
	a := record("alice", "a")
	if err := s.Create(ctx, "id1", a); err != nil {
		return err
	}
	found, err := s.Update(ctx, "id1", record("bob", "b"))
	if err != nil {
		return err
	}
	if found {
		return fmt.Errorf("store.Update moved a record of alice to bob")
	}
	if err := mustFind(ctx, s, "id1", a); err != nil {
		return err
	}
	// An already-expired record of another user deletes nothing either:
	// Update of a foreign id must not end that user's session.
	late := record("bob", "b")
	late.IdleExpiry = time.Now().Add(-time.Second)
	found, err = s.Update(ctx, "id1", late)
	if err != nil {
		return err
	}
	if found {
		return fmt.Errorf("store.Update of an expired record of bob over alice's id reported found")
	}
	if err := mustFind(ctx, s, "id1", a); err != nil {
		return fmt.Errorf("store.Update of an expired record of bob over alice's id: %w", err)
	}
	return mustNotList(ctx, s, "bob")
}

func rotate(ctx context.Context, s session.Store) error {
	if err := s.Create(ctx, "old", record("", "anon")); err != nil {
		return err
	}
	// Login: the anonymous session becomes alice's under a new id.
	a := record("alice", "a")
	found, err := s.Rotate(ctx, "old", "new", a)
	if err != nil {
		return fmt.Errorf("store.Rotate: %w", err)
	}
	if !found {
		return fmt.Errorf("store.Rotate of a live id reported found=false")
	}
	if err := mustMiss(ctx, s, "old"); err != nil {
		return fmt.Errorf("after Rotate: %w", err)
	}
	if err := mustFind(ctx, s, "new", a); err != nil {
		return err
	}
	// Renewal: same user, new id.
	b := record("alice", "b")
	if found, err := s.Rotate(ctx, "new", "newer", b); err != nil || !found {
		return fmt.Errorf("second store.Rotate = %v, %v", found, err)
	}
	if err := mustMiss(ctx, s, "new"); err != nil {
		return err
	}
	m, err := s.ListUser(ctx, "alice")
	if err != nil {
		return err
	}
	if _, ok := m["newer"]; len(m) != 1 || !ok {
		return fmt.Errorf("ListUser(alice) after Rotate lists %d records, want only the new id", len(m))
	}
	// An Update of the rotated-away id writes nothing.
	if found, err := s.Update(ctx, "new", record("alice", "stale")); err != nil || found {
		return fmt.Errorf("store.Update of the rotated-away id = %v, %v; want false, nil", found, err)
	}
	if err := mustMiss(ctx, s, "new"); err != nil {
		return fmt.Errorf("store.Update re-created the rotated-away id: %w", err)
	}
	// Rotating a missing id creates nothing.
	if found, err := s.Rotate(ctx, "never", "x", record("alice", "x")); err != nil || found {
		return fmt.Errorf("store.Rotate of a missing id = %v, %v; want false, nil", found, err)
	}
	return mustMiss(ctx, s, "x")
}

// mustNotRotate checks that Rotate(oldID) reports found=false and that
// neither id is live afterwards.
// rotateIntoExpired: a Rotate whose new record is long expired ends the
// session in one atomic step (Manager.Revoke relies on it): it reports
// found=true, both ids are missing and listed nowhere, and a second such
// Rotate of the same id reports found=false.
func rotateIntoExpired(ctx context.Context, s session.Store) error {
	if err := s.Create(ctx, "dev", record("alice", "device")); err != nil {
		return err
	}
	gone := record("alice", "device")
	gone.IdleExpiry = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)
	gone.AbsoluteExpiry = gone.IdleExpiry
	found, err := s.Rotate(ctx, "dev", "tomb", gone)
	if err != nil {
		return fmt.Errorf("store.Rotate into an expired record: %w", err)
	}
	if !found {
		return fmt.Errorf("store.Rotate of a live id into an expired record reported found=false")
	}
	for _, id := range []string{"dev", "tomb"} {
		if err := mustMiss(ctx, s, id); err != nil {
			return fmt.Errorf("after Rotate into an expired record: %w", err)
		}
	}
	m, err := s.ListUser(ctx, "alice")
	if err != nil {
		return err
	}
	if len(m) != 0 {
		return fmt.Errorf("ListUser after Rotate into an expired record lists %d records", len(m))
	}
	found, err = s.Rotate(ctx, "dev", "tomb2", gone)
	if err != nil {
		return fmt.Errorf("second store.Rotate into an expired record: %w", err)
	}
	if found {
		return fmt.Errorf("second store.Rotate of the ended id reported found=true")
	}
	return nil
}

func mustNotRotate(ctx context.Context, s session.Store, oldID, newID string, rec session.Record) error {
	found, err := s.Rotate(ctx, oldID, newID, rec)
	if err != nil {
		return fmt.Errorf("store.Rotate(%q): %w", oldID, err)
	}
	if found {
		return fmt.Errorf("store.Rotate(%q) of a revoked id reported found=true", oldID)
	}
	if err := mustMiss(ctx, s, newID); err != nil {
		return fmt.Errorf("store.Rotate of a revoked id minted a session: %w", err)
	}
	if err := mustMiss(ctx, s, oldID); err != nil {
		return err
	}
	return mustNotList(ctx, s, rec.UserID)
}

func rotateAfterDelete(ctx context.Context, s session.Store) error {
	if err := s.Create(ctx, "id1", record("alice", "x")); err != nil {
		return err
	}
	if err := s.Delete(ctx, "id1"); err != nil {
		return err
	}
	return mustNotRotate(ctx, s, "id1", "id2", record("alice", "renewed"))
}

func rotateAfterDeleteUser(ctx context.Context, s session.Store) error {
	if err := s.Create(ctx, "id1", record("alice", "x")); err != nil {
		return err
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		return err
	}
	return mustNotRotate(ctx, s, "id1", "id2", record("alice", "renewed"))
}

// raceUpdateDeleteUser races requests that keep writing (Update) and
// renewing (Rotate) alice's sessions against "log out everywhere": once
// DeleteUser returned and the writers stopped, nothing of alice is live.
func raceUpdateDeleteUser(ctx context.Context, s session.Store) error {
	const n = 64
	for i := range n {
		if err := s.Create(ctx, fmt.Sprintf("r%d", i), record("alice", "x")); err != nil {
			return err
		}
	}
	if err := s.Create(ctx, "bob", record("bob", "x")); err != nil {
		return err
	}
	var (
		wg      sync.WaitGroup
		ids     = make([][]string, n)
		errs    = make([]error, n)
		started = make(chan struct{}, n)
		done    = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			ids[i], _, errs[i] = writeUntilRevoked(ctx, s, "alice", fmt.Sprintf("r%d", i), i%2 == 1, started, done)
		})
	}
	for range n {
		<-started
	}
	// Every writer is running; each stops at its first refused write.
	err := s.DeleteUser(ctx, "alice")
	close(done)
	wg.Wait()
	if err != nil {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := CheckRevoked(ctx, s, "alice", slices.Concat(ids...)); err != nil {
		return fmt.Errorf("after DeleteUser raced with writers: %w", err)
	}
	_, found, err := s.Find(ctx, "bob")
	if err != nil || !found {
		return fmt.Errorf("DeleteUser(alice) removed bob's session: found=%v err=%v", found, err)
	}
	return nil
}

// WriteUntilRevoked plays a request that keeps saving the session id of
// userID (Update, and every fourth write a renewal with Rotate to a new id
// derived from id) until the store refuses a write because the session was
// revoked. It returns every id it used (so [CheckRevoked] can check them)
// and the number of accepted writes. It fails if ctx ends first.
//
// Adapters' cross-process tests run it in several OS processes while
// another process calls DeleteUser.
func WriteUntilRevoked(ctx context.Context, s session.Store, userID, id string) (ids []string, writes int, err error) {
	return writeUntilRevoked(ctx, s, userID, id, true, nil, nil)
}

// writeUntilRevoked is [WriteUntilRevoked]; started (if not nil) gets one
// value after the first write, and once done is closed one more accepted
// write is an error (DeleteUser has returned).
func writeUntilRevoked(ctx context.Context, s session.Store, userID, id string, rotate bool,
	started chan<- struct{}, done <-chan struct{}) (ids []string, writes int, err error) {
	ids = []string{id}
	base, after := id, false
	for j := 0; ; j++ {
		if err := ctx.Err(); err != nil {
			return ids, writes, fmt.Errorf("no write of %q was refused: %w", id, err)
		}
		var found bool
		if !rotate || j%4 != 3 {
			found, err = s.Update(ctx, id, record(userID, fmt.Sprintf("write %d", j)))
		} else {
			next := fmt.Sprintf("%s.%d", base, j)
			ids = append(ids, next)
			found, err = s.Rotate(ctx, id, next, record(userID, "renewed"))
			if found {
				id = next
			}
		}
		if err != nil {
			return ids, writes, err
		}
		if j == 0 && started != nil {
			started <- struct{}{}
		}
		if !found {
			return ids, writes, nil
		}
		writes++
		select {
		case <-done:
			if after {
				return ids, writes, fmt.Errorf("store.Update/Rotate of %q succeeded after DeleteUser returned", id)
			}
			after = true // one more write, which must be refused
		default:
		}
	}
}

// CheckRevoked returns an error if userID has a listed session or any of
// ids is live.
func CheckRevoked(ctx context.Context, s session.Store, userID string, ids []string) error {
	if err := mustNotList(ctx, s, userID); err != nil {
		return err
	}
	for _, id := range ids {
		if err := mustMiss(ctx, s, id); err != nil {
			return err
		}
	}
	return nil
}

func noAliasing(ctx context.Context, s session.Store) error {
	rec := record("alice", "original")
	want := record("alice", "original")
	if err := s.Create(ctx, "id1", rec); err != nil {
		return err
	}
	rec.Data[0] = 'X'
	rec.SecretHash[0] = 0
	return mustFind(ctx, s, "id1", want)
}

func expiredIsMissing(ctx context.Context, s session.Store) error {
	now := time.Now()
	idle := record("alice", "idle")
	idle.IdleExpiry = now.Add(-time.Minute)
	abs := record("alice", "abs")
	abs.AbsoluteExpiry = now.Add(-time.Second)
	abs.IdleExpiry = now.Add(-2 * time.Second)
	absOnly := record("alice", "absOnly")
	absOnly.AbsoluteExpiry = now.Add(-time.Minute) // idle still in the future
	live := record("alice", "live")
	for id, r := range map[string]session.Record{"idle": idle, "abs": abs, "absOnly": absOnly, "live": live} {
		if err := s.Create(ctx, id, r); err != nil {
			return fmt.Errorf("Create(%q) with past expiry: %w", id, err)
		}
	}
	for _, id := range []string{"idle", "abs", "absOnly"} {
		if err := mustMiss(ctx, s, id); err != nil {
			return err
		}
	}
	m, err := s.ListUser(ctx, "alice")
	if err != nil {
		return err
	}
	if _, ok := m["live"]; len(m) != 1 || !ok {
		return fmt.Errorf("ListUser lists %d records (want only the live one)", len(m))
	}
	return nil
}

func ttlHonoured(ctx context.Context, s session.Store) error {
	rec := record("alice", "short")
	exp := time.Now().Add(1500 * time.Millisecond)
	rec.IdleExpiry = exp
	if err := s.Create(ctx, "short", rec); err != nil {
		return err
	}
	if err := mustFind(ctx, s, "short", rec); err != nil && time.Now().Before(exp) {
		// (If the machine stalled past exp, the check is inconclusive.)
		return fmt.Errorf("before expiry: %w", err)
	}
	// Stores may keep whole seconds: allow one more second.
	t := time.NewTimer(time.Until(exp.Add(1100 * time.Millisecond)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	if err := mustMiss(ctx, s, "short"); err != nil {
		return fmt.Errorf("after expiry: %w", err)
	}
	m, err := s.ListUser(ctx, "alice")
	if err != nil {
		return err
	}
	if len(m) != 0 {
		return fmt.Errorf("ListUser after expiry lists %d records", len(m))
	}
	// A request that loaded the session before it expired cannot extend
	// it, nor renew it into a fresh id (the row may still be present).
	if err := mustNotWrite(ctx, s, "short", record("alice", "extended")); err != nil {
		return fmt.Errorf("after expiry: %w", err)
	}
	if err := mustNotRotate(ctx, s, "short", "renewed", record("alice", "renewed")); err != nil {
		return fmt.Errorf("after expiry: %w", err)
	}
	return nil
}

func deleteMissing(ctx context.Context, s session.Store) error {
	if err := s.Delete(ctx, "no-such-id"); err != nil {
		return fmt.Errorf("Delete(missing) = %w, want nil", err)
	}
	if err := s.DeleteUser(ctx, "no-such-user"); err != nil {
		return fmt.Errorf("DeleteUser(missing) = %w, want nil", err)
	}
	return nil
}

func deleteCase(ctx context.Context, s session.Store) error {
	a, b := record("alice", "a"), record("alice", "b")
	if err := s.Create(ctx, "a", a); err != nil {
		return err
	}
	if err := s.Create(ctx, "b", b); err != nil {
		return err
	}
	if err := s.Delete(ctx, "a"); err != nil {
		return err
	}
	if err := mustMiss(ctx, s, "a"); err != nil {
		return err
	}
	if err := mustFind(ctx, s, "b", b); err != nil {
		return err
	}
	m, err := s.ListUser(ctx, "alice")
	if err != nil {
		return err
	}
	if _, ok := m["b"]; len(m) != 1 || !ok {
		return fmt.Errorf("ListUser after Delete lists %d records, want only b", len(m))
	}
	return nil
}

func listUser(ctx context.Context, s session.Store) error {
	want := map[string]session.Record{"a1": record("alice", "1"), "a2": record("alice", "2")}
	for id, r := range want {
		if err := s.Create(ctx, id, r); err != nil {
			return err
		}
	}
	if err := s.Create(ctx, "b1", record("bob", "3")); err != nil {
		return err
	}
	if err := s.Create(ctx, "anon", record("", "4")); err != nil {
		return err
	}
	got, err := s.ListUser(ctx, "alice")
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("ListUser(alice) has %d records, want %d", len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			return fmt.Errorf("ListUser(alice) lacks %q", id)
		}
		if err := sameRecord(g, w); err != nil {
			return fmt.Errorf("ListUser(alice)[%q]: %w", id, err)
		}
	}
	none, err := s.ListUser(ctx, "carol")
	if err != nil {
		return err
	}
	if len(none) != 0 {
		return fmt.Errorf("ListUser(carol) has %d records, want 0", len(none))
	}
	return nil
}

func deleteUser(ctx context.Context, s session.Store) error {
	recs := map[string]session.Record{
		"a1": record("alice", "1"), "a2": record("alice", "2"),
		"b1": record("bob", "3"), "al": record("alice2", "4"), "anon": record("", "5"),
	}
	for id, r := range recs {
		if err := s.Create(ctx, id, r); err != nil {
			return err
		}
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		return err
	}
	for _, id := range []string{"a1", "a2"} {
		if err := mustMiss(ctx, s, id); err != nil {
			return fmt.Errorf("after DeleteUser(alice): %w", err)
		}
	}
	for _, id := range []string{"b1", "al", "anon"} {
		if err := mustFind(ctx, s, id, recs[id]); err != nil {
			return fmt.Errorf("DeleteUser(alice) touched another user: %w", err)
		}
	}
	m, err := s.ListUser(ctx, "alice")
	if err != nil {
		return err
	}
	if len(m) != 0 {
		return fmt.Errorf("ListUser(alice) after DeleteUser lists %d records", len(m))
	}
	return nil
}

func userChange(ctx context.Context, s session.Store) error {
	if err := s.Create(ctx, "id0", record("", "anon")); err != nil {
		return err
	}
	if found, err := s.Rotate(ctx, "id0", "id1", record("alice", "a")); err != nil || !found {
		return fmt.Errorf("store.Rotate(anonymous to alice) = %v, %v", found, err)
	}
	bob := record("bob", "b")
	if found, err := s.Rotate(ctx, "id1", "id2", bob); err != nil || !found {
		return fmt.Errorf("store.Rotate(alice to bob) = %v, %v", found, err)
	}
	m, err := s.ListUser(ctx, "alice")
	if err != nil {
		return err
	}
	if len(m) != 0 {
		return fmt.Errorf("ListUser(alice) still lists the session rotated to bob")
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		return err
	}
	if err := mustFind(ctx, s, "id2", bob); err != nil {
		return fmt.Errorf("DeleteUser(old user) removed the record now of bob: %w", err)
	}
	m, err = s.ListUser(ctx, "bob")
	if err != nil {
		return err
	}
	if len(m) != 1 {
		return fmt.Errorf("ListUser(bob) lists %d records, want 1", len(m))
	}
	return nil
}

func binarySafe(ctx context.Context, s session.Store) error {
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	datas := map[string][]byte{
		"nul":     {0, 'a', 0, 0, 'b', 0},
		"badutf8": {0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, '\\', '\'', '"'},
		"big":     big,
		"empty":   {},
	}
	for id, d := range datas {
		r := record("alice", "")
		r.Data = d
		r.SecretHash = []byte{0, 0xff, 0x00, 0x80, '%', '*'}
		if err := s.Create(ctx, id, r); err != nil {
			return fmt.Errorf("Create(%s): %w", id, err)
		}
		got, found, err := s.Find(ctx, id)
		if err != nil || !found {
			return fmt.Errorf("store.Find(%s) = found %v, err %v", id, found, err)
		}
		if !bytes.Equal(got.Data, d) || !bytes.Equal(got.SecretHash, r.SecretHash) {
			return fmt.Errorf("store.Find(%s): bytes changed (%d bytes back, want %d)", id, len(got.Data), len(d))
		}
	}
	return nil
}

// hostile are ids and user ids with special meaning in Redis globs, SQL
// LIKE and key separators.
var hostile = []string{"*", "%", ":", "_", "'", `"`, `\`, "a*", "a%", "[a]", "?", "'; DROP TABLE sessions; --", "{tag}", "x:y", " ", "ü"}

func hostileIDs(ctx context.Context, s session.Store) error {
	// Decoys that a glob or LIKE pattern built from a hostile id would match.
	decoys := []string{"a", "ab", "abc", "x", "xy", "b"}
	// Keep what was saved: a record rebuilt later could fall in the next
	// second.
	saved := map[string]session.Record{}
	for _, id := range decoys {
		saved[id] = record(id, "decoy:"+id)
		if err := s.Create(ctx, id, saved[id]); err != nil {
			return err
		}
	}
	for _, id := range hostile {
		saved[id] = record(id, "data:"+id)
		if err := s.Create(ctx, id, saved[id]); err != nil {
			return fmt.Errorf("Create(%q): %w", id, err)
		}
	}
	for _, id := range hostile {
		if err := mustFind(ctx, s, id, saved[id]); err != nil {
			return err
		}
		m, err := s.ListUser(ctx, id)
		if err != nil {
			return fmt.Errorf("ListUser(%q): %w", id, err)
		}
		if _, ok := m[id]; len(m) != 1 || !ok {
			return fmt.Errorf("ListUser(%q) lists %d records, want exactly its own", id, len(m))
		}
	}
	for _, id := range hostile {
		if err := s.Delete(ctx, id); err != nil {
			return err
		}
		if err := s.DeleteUser(ctx, id); err != nil {
			return err
		}
	}
	for _, id := range decoys {
		if err := mustFind(ctx, s, id, saved[id]); err != nil {
			return fmt.Errorf("a hostile Delete/DeleteUser removed %q: %w", id, err)
		}
	}
	for _, id := range hostile {
		if err := mustMiss(ctx, s, id); err != nil {
			return err
		}
	}
	return nil
}

func cancelledContext(ctx context.Context, s session.Store) error {
	if err := s.Create(ctx, "id1", record("alice", "x")); err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	check := func(op string, err error) error {
		if !errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s with cancelled ctx: err = %v, want context.Canceled", op, err)
		}
		return nil
	}
	_, found, err := s.Find(cctx, "id1")
	if e := check("Find", err); e != nil {
		return e
	}
	if found {
		return fmt.Errorf("store.Find with cancelled ctx reported found")
	}
	_, err = s.ListUser(cctx, "alice")
	return errors.Join(
		check("Create", s.Create(cctx, "id2", record("alice", "y"))),
		check("Update", second(s.Update(cctx, "id1", record("alice", "z")))),
		check("Rotate", second(s.Rotate(cctx, "id1", "id3", record("alice", "z")))),
		check("Delete", s.Delete(cctx, "id1")),
		check("ListUser", err),
		check("DeleteUser", s.DeleteUser(cctx, "alice")),
	)
}

func second(_ bool, err error) error { return err }

func concurrent(ctx context.Context, s session.Store) error {
	const n = 64
	if err := s.Create(ctx, "shared", record("bob", "shared")); err != nil {
		return err
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			own := fmt.Sprintf("g%d", i)
			for j := range 10 {
				r := record("alice", fmt.Sprintf("%d-%d", i, j))
				var err error
				if j == 0 {
					err = s.Create(ctx, own, r)
				} else if found, e := s.Update(ctx, own, r); e != nil || !found {
					err = fmt.Errorf("store.Update(%q) = %v, %v", own, found, e)
				}
				if err != nil {
					errs[i] = err
					return
				}
				if err := mustFind(ctx, s, own, r); err != nil {
					errs[i] = err
					return
				}
				// Everyone also hammers one shared id.
				if found, err := s.Update(ctx, "shared", record("bob", "shared")); err != nil || !found {
					errs[i] = fmt.Errorf("store.Update(shared) = %v, %v", found, err)
					return
				}
				if _, _, err := s.Find(ctx, "shared"); err != nil {
					errs[i] = err
					return
				}
				if _, err := s.ListUser(ctx, "alice"); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	m, err := s.ListUser(ctx, "alice")
	if err != nil {
		return err
	}
	if len(m) != n {
		return fmt.Errorf("after %d concurrent writers ListUser lists %d records", n, len(m))
	}
	for k := range m {
		if !strings.HasPrefix(k, "g") {
			return fmt.Errorf("unexpected id %q", k)
		}
	}
	return nil
}
