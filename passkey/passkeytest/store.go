package passkeytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/passkey"
)

// TimeTolerance is how far a round-tripped time may drift from the saved
// one: stores may truncate to whole seconds.
const TimeTolerance = time.Second

// Credential store case names, as they appear in subtest names and
// [CaseError.Case].
const (
	GetMissing         = "GetMissing"
	RoundTrip          = "RoundTrip"
	AddDuplicate       = "AddDuplicate"
	BinaryIDs          = "BinaryIDs"
	ListOrder          = "ListOrder"
	Rename             = "Rename"
	Remove             = "Remove"
	RemoveKeepLast     = "RemoveKeepLast"
	UpdateUse          = "UpdateUse"
	NoAliasing         = "NoAliasing"
	RaceUpdateUse      = "RaceUpdateUse"
	RaceRemoveKeepLast = "RaceRemoveKeepLast"
	RaceRemoveLastTwo  = "RaceRemoveLastTwo"
	CancelledContext   = "CancelledContext"
	RaceAddSameID      = "RaceAddSameID"
	ReaddByOtherUser   = "ReaddByOtherUser"
	OddUserIDs         = "OddUserIDs"
)

// CaseError reports one failed case: [Test] returns errors.Join of one
// per failed case.
type CaseError = suite.CaseError

var credCases = suite.Suite[passkey.CredentialStore]{Name: "passkeytest", Cases: []suite.Case[passkey.CredentialStore]{
	{Name: GetMissing, Check: getMissing},
	{Name: RoundTrip, Check: roundTrip},
	{Name: AddDuplicate, Check: addDuplicate},
	{Name: BinaryIDs, Check: binaryIDs},
	{Name: ListOrder, Check: listOrder},
	{Name: Rename, Check: rename},
	{Name: Remove, Check: remove},
	{Name: RemoveKeepLast, Check: removeKeepLast},
	{Name: UpdateUse, Check: updateUse},
	{Name: NoAliasing, Check: noAliasing},
	{Name: RaceUpdateUse, Check: raceUpdateUse},
	{Name: RaceRemoveKeepLast, Check: raceRemoveKeepLast},
	{Name: RaceRemoveLastTwo, Check: raceRemoveLastTwo},
	{Name: CancelledContext, Check: cancelledContext},
	{Name: RaceAddSameID, Check: raceAddSameID},
	{Name: ReaddByOtherUser, Check: readdByOtherUser},
	{Name: OddUserIDs, Check: oddUserIDs},
}}

// Run checks a [passkey.CredentialStore], each case in a parallel subtest.
// newStore is called once per case and must return an empty, isolated
// store; it registers any cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) passkey.CredentialStore) {
	t.Helper()
	credCases.Run(t, newStore)
}

// Test runs every credential store case concurrently, each on its own
// store from newStore, and returns errors.Join of one [*CaseError] per
// failed case.
func Test(newStore func() (passkey.CredentialStore, error)) error {
	return credCases.Test(newStore)
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func cred(user string, id string, created time.Time) passkey.Credential {
	return passkey.Credential{
		ID:                []byte(id),
		UserID:            user,
		UserHandle:        []byte("handle-" + user + "\x00\xff"),
		Name:              "Key " + id,
		PublicKey:         []byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x00},
		AttestationFormat: "none",
		AAGUID:            make([]byte, 16),
		Transports:        []string{"internal", "hybrid"},
		SignCount:         7,
		UserVerified:      true,
		BackupEligible:    true,
		BackupState:       false,
		CreatedAt:         created,
	}
}

func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -TimeTolerance && d < TimeTolerance && a.IsZero() == b.IsZero()
}

func sameCred(got, want passkey.Credential) error {
	switch {
	case !bytes.Equal(got.ID, want.ID), got.UserID != want.UserID, !bytes.Equal(got.UserHandle, want.UserHandle),
		got.Name != want.Name, !bytes.Equal(got.PublicKey, want.PublicKey), got.AttestationFormat != want.AttestationFormat,
		!bytes.Equal(got.AAGUID, want.AAGUID), !slices.Equal(got.Transports, want.Transports),
		got.SignCount != want.SignCount, got.UserVerified != want.UserVerified,
		got.BackupEligible != want.BackupEligible, got.BackupState != want.BackupState,
		!near(got.CreatedAt, want.CreatedAt), !near(got.LastUsedAt, want.LastUsedAt):
		return fmt.Errorf("got %+v, want %+v", got, want)
	}
	return nil
}

func expectGet(ctx context.Context, s passkey.CredentialStore, id []byte, want *passkey.Credential) error {
	got, found, err := s.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("s.Get(%q): %w", id, err)
	}
	if want == nil {
		if found {
			return fmt.Errorf("s.Get(%q) found %+v, want not found", id, got)
		}
		return nil
	}
	if !found {
		return fmt.Errorf("s.Get(%q) not found", id)
	}
	return sameCred(got, *want)
}

func expectList(ctx context.Context, s passkey.CredentialStore, user string, ids ...string) error {
	got, err := s.List(ctx, user)
	if err != nil {
		return fmt.Errorf("s.List(%q): %w", user, err)
	}
	var gotIDs []string
	for _, c := range got {
		gotIDs = append(gotIDs, string(c.ID))
		if c.UserID != user {
			return fmt.Errorf("s.List(%q) returned a credential of %q", user, c.UserID)
		}
	}
	if !slices.Equal(gotIDs, ids) {
		return fmt.Errorf("s.List(%q) = %q, want %q", user, gotIDs, ids)
	}
	return nil
}

func add(ctx context.Context, s passkey.CredentialStore, cs ...passkey.Credential) error {
	for _, c := range cs {
		ok, err := s.Add(ctx, c)
		if err != nil {
			return fmt.Errorf("s.Add(%q): %w", c.ID, err)
		}
		if !ok {
			return fmt.Errorf("s.Add(%q) = false on a new id", c.ID)
		}
	}
	return nil
}

func getMissing(ctx context.Context, s passkey.CredentialStore) error {
	if err := expectGet(ctx, s, []byte("never-added"), nil); err != nil {
		return err
	}
	return expectList(ctx, s, "nobody")
}

func roundTrip(ctx context.Context, s passkey.CredentialStore) error {
	c := cred("alice", "rt-1", base)
	c.LastUsedAt = base.Add(time.Hour)
	if err := add(ctx, s, c); err != nil {
		return err
	}
	if err := expectGet(ctx, s, c.ID, &c); err != nil {
		return err
	}
	got, err := s.List(ctx, "alice")
	if err != nil || len(got) != 1 {
		return fmt.Errorf("s.List = %d credentials, %v", len(got), err)
	}
	return sameCred(got[0], c)
}

func addDuplicate(ctx context.Context, s passkey.CredentialStore) error {
	a := cred("alice", "dup", base)
	if err := add(ctx, s, a); err != nil {
		return err
	}
	b := cred("mallory", "dup", base.Add(time.Minute))
	b.PublicKey = []byte("attacker key")
	ok, err := s.Add(ctx, b)
	if err != nil {
		return err
	}
	if ok {
		return errors.New("s.Add of an existing id (other user) = true")
	}
	if err := expectGet(ctx, s, a.ID, &a); err != nil {
		return err
	}
	return expectList(ctx, s, "mallory")
}

func binaryIDs(ctx context.Context, s passkey.CredentialStore) error {
	ids := []string{"ab", "abc", "a\x00b", "a\x00c", "\xff\xfe", "%_*"}
	for i, id := range ids {
		if err := add(ctx, s, cred("u", id, base.Add(time.Duration(i)*time.Second))); err != nil {
			return err
		}
	}
	for i, id := range ids {
		want := cred("u", id, base.Add(time.Duration(i)*time.Second))
		if err := expectGet(ctx, s, []byte(id), &want); err != nil {
			return err
		}
	}
	if err := expectGet(ctx, s, []byte("a"), nil); err != nil { // no prefix matching
		return err
	}
	return expectList(ctx, s, "u", ids...)
}

func listOrder(ctx context.Context, s passkey.CredentialStore) error {
	if err := add(ctx, s,
		cred("alice", "third", base.Add(2*time.Hour)),
		cred("bob", "bobs", base),
		cred("alice", "first", base),
		cred("alice", "second", base.Add(time.Hour)),
	); err != nil {
		return err
	}
	if err := expectList(ctx, s, "alice", "first", "second", "third"); err != nil {
		return err
	}
	return expectList(ctx, s, "bob", "bobs")
}

func rename(ctx context.Context, s passkey.CredentialStore) error {
	c := cred("alice", "rn", base)
	if err := add(ctx, s, c); err != nil {
		return err
	}
	if ok, err := s.Rename(ctx, "mallory", c.ID, "stolen"); err != nil || ok {
		return fmt.Errorf("s.Rename by another user = %v, %v; want false", ok, err)
	}
	if ok, err := s.Rename(ctx, "alice", []byte("missing"), "x"); err != nil || ok {
		return fmt.Errorf("s.Rename of a missing id = %v, %v; want false", ok, err)
	}
	if ok, err := s.Rename(ctx, "alice", c.ID, "Phone ☎"); err != nil || !ok {
		return fmt.Errorf("s.Rename = %v, %v; want true", ok, err)
	}
	c.Name = "Phone ☎"
	return expectGet(ctx, s, c.ID, &c)
}

func expectRemove(ctx context.Context, s passkey.CredentialStore, user, id string, keepLast bool, want passkey.RemoveResult) error {
	got, err := s.Remove(ctx, user, []byte(id), keepLast)
	if err != nil {
		return fmt.Errorf("s.Remove(%q, %q): %w", user, id, err)
	}
	if got.Removed != want.Removed || got.Last != want.Last || !slices.EqualFunc(got.Remaining, want.Remaining, bytes.Equal) {
		return fmt.Errorf("s.Remove(%q, %q, %v) = %+v, want %+v", user, id, keepLast, got, want)
	}
	return nil
}

func remove(ctx context.Context, s passkey.CredentialStore) error {
	a, b := cred("alice", "rm-a", base), cred("alice", "rm-b", base.Add(time.Second))
	if err := add(ctx, s, a, b, cred("bob", "rm-bob", base)); err != nil {
		return err
	}
	if err := expectRemove(ctx, s, "mallory", "rm-a", false, passkey.RemoveResult{}); err != nil {
		return err
	}
	if err := expectGet(ctx, s, a.ID, &a); err != nil {
		return err
	}
	if err := expectRemove(ctx, s, "alice", "rm-a", false, passkey.RemoveResult{Removed: true, Remaining: [][]byte{b.ID}}); err != nil {
		return err
	}
	if err := expectGet(ctx, s, a.ID, nil); err != nil {
		return err
	}
	if err := expectRemove(ctx, s, "alice", "rm-a", false, passkey.RemoveResult{Remaining: [][]byte{b.ID}}); err != nil {
		return err
	}
	if err := expectRemove(ctx, s, "alice", "rm-b", false, passkey.RemoveResult{Removed: true}); err != nil {
		return err
	}
	if err := expectList(ctx, s, "alice"); err != nil {
		return err
	}
	// The id is free again.
	if err := add(ctx, s, a); err != nil {
		return err
	}
	return expectList(ctx, s, "bob", "rm-bob")
}

func removeKeepLast(ctx context.Context, s passkey.CredentialStore) error {
	a, b := cred("alice", "kl-a", base), cred("alice", "kl-b", base.Add(time.Second))
	if err := add(ctx, s, a, b); err != nil {
		return err
	}
	if err := expectRemove(ctx, s, "alice", "kl-a", true, passkey.RemoveResult{Removed: true, Remaining: [][]byte{b.ID}}); err != nil {
		return err
	}
	if err := expectRemove(ctx, s, "alice", "kl-b", true, passkey.RemoveResult{Last: true, Remaining: [][]byte{b.ID}}); err != nil {
		return err
	}
	return expectGet(ctx, s, b.ID, &b)
}

func updateUse(ctx context.Context, s passkey.CredentialStore) error {
	c := cred("alice", "uu", base)
	if err := add(ctx, s, c); err != nil {
		return err
	}
	u := passkey.Use{SignCount: 9, LastUsedAt: base.Add(time.Hour), UserVerified: true, BackupEligible: false, BackupState: true}
	if ok, err := s.UpdateUse(ctx, c.ID, 6, u); err != nil || ok {
		return fmt.Errorf("s.UpdateUse with a stale count = %v, %v; want false", ok, err)
	}
	if err := expectGet(ctx, s, c.ID, &c); err != nil {
		return err
	}
	if ok, err := s.UpdateUse(ctx, []byte("missing"), 0, u); err != nil || ok {
		return fmt.Errorf("s.UpdateUse of a missing id = %v, %v; want false", ok, err)
	}
	if ok, err := s.UpdateUse(ctx, c.ID, 7, u); err != nil || !ok {
		return fmt.Errorf("s.UpdateUse = %v, %v; want true", ok, err)
	}
	c.SignCount, c.LastUsedAt, c.BackupEligible, c.BackupState = 9, u.LastUsedAt, false, true
	return expectGet(ctx, s, c.ID, &c)
}

func noAliasing(ctx context.Context, s passkey.CredentialStore) error {
	c := cred("alice", "alias", base)
	want := cred("alice", "alias", base)
	if err := add(ctx, s, c); err != nil {
		return err
	}
	c.ID[0], c.PublicKey[0], c.UserHandle[0], c.AAGUID[0], c.Transports[0] = 'X', 'X', 'X', 'X', "X"
	got, _, err := s.Get(ctx, want.ID)
	if err != nil {
		return err
	}
	if len(got.PublicKey) > 0 {
		got.PublicKey[0] = 'Y'
	}
	if len(got.Transports) > 0 {
		got.Transports[0] = "Y"
	}
	list, err := s.List(ctx, "alice")
	if err != nil {
		return err
	}
	for _, l := range list {
		if len(l.ID) > 0 {
			l.ID[0] = 'Z'
		}
	}
	return expectGet(ctx, s, want.ID, &want)
}

func raceUpdateUse(ctx context.Context, s passkey.CredentialStore) error {
	c := cred("alice", "race-uu", base)
	if err := add(ctx, s, c); err != nil {
		return err
	}
	const n = 16
	var wins atomic.Int32
	var won atomic.Uint32
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			count := uint32(8 + i)
			ok, err := s.UpdateUse(ctx, c.ID, 7, passkey.Use{SignCount: count, LastUsedAt: base})
			if err != nil {
				errs <- err
			}
			if ok {
				wins.Add(1)
				won.Store(count)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if n := wins.Load(); n != 1 {
		return fmt.Errorf("%d of 16 concurrent UpdateUse from count 7 succeeded, want 1", n)
	}
	got, _, err := s.Get(ctx, c.ID)
	if err != nil {
		return err
	}
	if got.SignCount != won.Load() {
		return fmt.Errorf("stored sign count %d after the race, the winner wrote %d", got.SignCount, won.Load())
	}
	return nil
}

// removeAllKeepLast removes each of ids (all of user's credentials) with
// keepLast from its own goroutine and checks that exactly one removal was
// refused as the last and that its credential is the one left.
func removeAllKeepLast(ctx context.Context, s passkey.CredentialStore, user string, ids []string) error {
	results := make([]passkey.RemoveResult, len(ids))
	errs := make(chan error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			res, err := s.Remove(ctx, user, []byte(id), true)
			if err != nil {
				errs <- err
			}
			results[i] = res
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	removed, kept := 0, []string(nil)
	for i, res := range results {
		switch {
		case res.Removed && !res.Last:
			removed++
		case res.Last && !res.Removed:
			kept = append(kept, ids[i])
		default:
			return fmt.Errorf("s.Remove(%q) of an existing credential = %+v, want Removed or Last", ids[i], res)
		}
	}
	if removed != len(ids)-1 || len(kept) != 1 {
		return fmt.Errorf("%d of %d concurrent keepLast removals deleted and %d were refused as the last, want %d and 1",
			removed, len(ids), len(kept), len(ids)-1)
	}
	return expectList(ctx, s, user, kept[0])
}

func raceRemoveKeepLast(ctx context.Context, s passkey.CredentialStore) error {
	var ids []string
	for i := range 8 {
		id := fmt.Sprintf("race-rm-%d", i)
		ids = append(ids, id)
		if err := add(ctx, s, cred("alice", id, base.Add(time.Duration(i)*time.Second))); err != nil {
			return err
		}
	}
	return removeAllKeepLast(ctx, s, "alice", ids)
}

// raceRemoveLastTwo is the narrowest race: a user with two credentials
// removes both at once with keepLast, many times over.
func raceRemoveLastTwo(ctx context.Context, s passkey.CredentialStore) error {
	for r := range 20 {
		user := fmt.Sprintf("two-%d", r)
		ids := []string{fmt.Sprintf("two-%d-a", r), fmt.Sprintf("two-%d-b", r)}
		if err := add(ctx, s, cred(user, ids[0], base), cred(user, ids[1], base.Add(time.Second))); err != nil {
			return err
		}
		if err := removeAllKeepLast(ctx, s, user, ids); err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
	}
	return nil
}

func cancelledContext(ctx context.Context, s passkey.CredentialStore) error {
	c := cred("alice", "cc", base)
	if err := add(ctx, s, c); err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.List(cctx, "alice"); err == nil {
		return errors.New("s.List with a cancelled context: no error")
	}
	if _, _, err := s.Get(cctx, c.ID); err == nil {
		return errors.New("s.Get with a cancelled context: no error")
	}
	if _, err := s.Add(cctx, cred("alice", "cc2", base)); err == nil {
		return errors.New("s.Add with a cancelled context: no error")
	}
	if _, err := s.UpdateUse(cctx, c.ID, 7, passkey.Use{SignCount: 8}); err == nil {
		return errors.New("s.UpdateUse with a cancelled context: no error")
	}
	if _, err := s.Remove(cctx, "alice", c.ID, false); err == nil {
		return errors.New("s.Remove with a cancelled context: no error")
	}
	return expectGet(ctx, s, c.ID, &c)
}

// raceAddSameID has many users add one credential id at once: exactly one
// Add succeeds, and the id belongs to that user alone.
func raceAddSameID(ctx context.Context, s passkey.CredentialStore) error {
	for r := range 10 {
		id := fmt.Sprintf("contested-%d", r)
		const n = 8
		won := make([]bool, n)
		errs := make(chan error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				ok, err := s.Add(ctx, cred(fmt.Sprintf("user-%d-%d", r, i), id, base))
				if err != nil {
					errs <- err
				}
				won[i] = ok
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		winner := -1
		for i, ok := range won {
			if ok {
				if winner >= 0 {
					return fmt.Errorf("round %d: users %d and %d both added id %q", r, winner, i, id)
				}
				winner = i
			}
		}
		if winner < 0 {
			return fmt.Errorf("round %d: no Add of a new id %q succeeded", r, id)
		}
		want := cred(fmt.Sprintf("user-%d-%d", r, winner), id, base)
		if err := expectGet(ctx, s, []byte(id), &want); err != nil {
			return err
		}
		for i := range n {
			user := fmt.Sprintf("user-%d-%d", r, i)
			var err error
			if i == winner {
				err = expectList(ctx, s, user, id)
			} else {
				err = expectList(ctx, s, user)
			}
			if err != nil {
				return fmt.Errorf("round %d: %w", r, err)
			}
		}
	}
	return nil
}

// readdByOtherUser: once its owner removed a credential, its id may be
// added by another user, and then every lookup by id (Get, UpdateUse) and
// every owner-scoped call (Rename, Remove) sees the new owner only. A
// Remove by a user who does not own the id changes nothing.
func readdByOtherUser(ctx context.Context, s passkey.CredentialStore) error {
	a := cred("alice", "moved", base)
	if err := add(ctx, s, a); err != nil {
		return err
	}
	if err := expectRemove(ctx, s, "mallory", "moved", false, passkey.RemoveResult{}); err != nil {
		return fmt.Errorf("%w (Remove by a non-owner)", err)
	}
	if err := expectGet(ctx, s, a.ID, &a); err != nil {
		return err
	}
	if ok, err := s.Add(ctx, cred("mallory", "moved", base)); err != nil || ok {
		return fmt.Errorf("s.Add of an id another user holds, after a refused Remove = %v, %v; want false", ok, err)
	}
	if err := expectRemove(ctx, s, "alice", "moved", false, passkey.RemoveResult{Removed: true}); err != nil {
		return err
	}
	if err := expectGet(ctx, s, a.ID, nil); err != nil {
		return err
	}
	b := cred("bob", "moved", base.Add(time.Minute))
	b.PublicKey = []byte("bob's key")
	b.SignCount = 0
	if err := add(ctx, s, b); err != nil {
		return fmt.Errorf("%w (re-adding a removed id for another user)", err)
	}
	if err := expectGet(ctx, s, b.ID, &b); err != nil {
		return err
	}
	if ok, err := s.UpdateUse(ctx, b.ID, 7, passkey.Use{SignCount: 8}); err != nil || ok {
		return fmt.Errorf("s.UpdateUse from alice's old count = %v, %v; want false", ok, err)
	}
	if ok, err := s.Rename(ctx, "alice", b.ID, "stolen"); err != nil || ok {
		return fmt.Errorf("s.Rename by the former owner = %v, %v; want false", ok, err)
	}
	if err := expectRemove(ctx, s, "alice", "moved", false, passkey.RemoveResult{}); err != nil {
		return fmt.Errorf("%w (Remove by the former owner)", err)
	}
	if err := expectList(ctx, s, "alice"); err != nil {
		return err
	}
	return expectGet(ctx, s, b.ID, &b)
}

// oddUserIDs stores credentials for user ids that a naive key layout would
// confuse (hash-tag braces, separators, NUL, prefixes of each other): each
// user sees only its own credentials, and the keepLast count is per user.
func oddUserIDs(ctx context.Context, s passkey.CredentialStore) error {
	users := []string{"a", "a}", "{a", "{a}", "a:", ":a", "a\x00", "a\x00b", "a%7D", "a%", "", "}{", "*"}
	for i, u := range users {
		if err := add(ctx, s, cred(u, fmt.Sprintf("odd-%d", i), base)); err != nil {
			return fmt.Errorf("user %q: %w", u, err)
		}
	}
	for i, u := range users {
		if err := expectList(ctx, s, u, fmt.Sprintf("odd-%d", i)); err != nil {
			return err
		}
		want := cred(u, fmt.Sprintf("odd-%d", i), base)
		if err := expectGet(ctx, s, want.ID, &want); err != nil {
			return err
		}
	}
	for i, u := range users {
		// Each user holds exactly one credential, whatever the others hold.
		if err := expectRemove(ctx, s, u, fmt.Sprintf("odd-%d", i), true,
			passkey.RemoveResult{Last: true, Remaining: [][]byte{[]byte(fmt.Sprintf("odd-%d", i))}}); err != nil {
			return fmt.Errorf("user %q: %w", u, err)
		}
	}
	return nil
}
