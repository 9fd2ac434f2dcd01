// Package jwttest checks implementations of [jwt.RefreshStore] (refresh
// families and the per-user not-before) against their documented contract.
//
// Run runs each case as a parallel subtest; Test runs the same cases
// without subtests and returns the joined failures, so the suite's own
// tests can prove it rejects broken stores.
//
// Time contract: stored times are compared with a tolerance of one second, so
// stores with microsecond (PostgreSQL) or second precision pass; a zero
// UsedAt must stay exactly zero. Every case passes its own times to Rotate,
// so expiry and the grace window are tested without waiting; one case (short
// TTL) waits about two seconds of real time because a store may also drop
// expired records on its own clock. The cases use random ids, so they do not
// depend on an empty backend, but New should still return an isolated store.
package jwttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/jwt"
)

// Tolerance is the accepted difference between a stored and a returned time.
const Tolerance = time.Second

// Harness describes a backend for [RunHarness].
type Harness struct {
	// New returns an empty, isolated store and registers its cleanup with
	// t.Cleanup. Required.
	New func(t *testing.T) jwt.RefreshStore
	// Lose, if set, makes s lose every record it keeps, its epoch
	// included, as a Redis flush, an eviction of everything or a process
	// restart would, and returns the store to use afterwards (s itself, or
	// a new store over the same backend). It enables the data-loss case.
	Lose func(t *testing.T, s jwt.RefreshStore) jwt.RefreshStore
	// Now, if set, is the clock the cases take their times from (default
	// time.Now). A harness sets it, and the store's own application clock,
	// ahead of or behind the server's clock to check that the store keeps
	// records for their lifetime whatever the server's clock says.
	Now func() time.Time
}

type env struct {
	s    jwt.RefreshStore
	lose func() jwt.RefreshStore // nil: no loss case
	now  func() time.Time
}

// Run runs every case; newStore returns an empty, isolated store and
// registers its cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) jwt.RefreshStore) {
	t.Helper()
	RunHarness(t, Harness{New: newStore})
}

// RunHarness runs every case, the data-loss case only if h.Lose is set.
func RunHarness(t *testing.T, h Harness) {
	t.Helper()
	cases := suite.Suite[env]{Name: "jwttest", Cases: allCases()}
	if h.Lose == nil {
		cases.Skip = map[string]string{lossCase: "the harness cannot make the store lose data"}
	}
	now := h.Now
	if now == nil {
		now = time.Now
	}
	cases.Run(t, func(t *testing.T) env {
		s := h.New(t)
		e := env{s: s, now: now}
		if h.Lose != nil {
			e.lose = func() jwt.RefreshStore { return h.Lose(t, s) }
		}
		return e
	})
}

// Test runs the cases concurrently, each on its own store from newStore,
// and returns errors.Join of the failures, each prefixed with its case
// name. lose may be nil (the data-loss case is then skipped).
func Test(newStore func() (jwt.RefreshStore, error), lose func(jwt.RefreshStore) jwt.RefreshStore) error {
	cases := suite.Suite[env]{Name: "jwttest", Cases: allCases()}
	if lose == nil {
		cases.Skip = map[string]string{lossCase: "no lose function"}
	}
	return cases.Test(func() (env, error) {
		s, err := newStore()
		if err != nil {
			return env{}, err
		}
		e := env{s: s, now: time.Now}
		if lose != nil {
			e.lose = func() jwt.RefreshStore { return lose(s) }
		}
		return e, nil
	})
}

func rid(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// idIn returns a fresh token id in shard (see jwt.RefreshShard).
func idIn(shard string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return jwt.RefreshTokenID(jwt.RefreshTokenPrefix + shard + base64.RawURLEncoding.EncodeToString(b[:]))
}

func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d < Tolerance && d > -Tolerance
}

var facts = jwt.SignIn{AMR: []string{"pwd", "otp"}, ACR: "urn:example:loa:2", MFA: true}

// first returns the first token of a new family of user, signed in at now.
func first(user string, now time.Time) jwt.RefreshToken {
	in := facts
	in.AuthTime = now
	in.AMR = slices.Clone(facts.AMR)
	return jwt.RefreshToken{ID: idIn(jwt.RefreshShard(user)), FamilyID: rid("f-"), UserID: user, IssuedAt: now,
		Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(24 * time.Hour), SignIn: in}
}

func create(ctx context.Context, s jwt.RefreshStore, t jwt.RefreshToken) error {
	created, err := s.Create(ctx, t)
	if err != nil {
		return fmt.Errorf("store Create: %w", err)
	}
	if !created {
		return fmt.Errorf("store Create: created=false for a sign-in with no later not-before")
	}
	return nil
}

// rotation rotates id at now with a fresh successor in id's shard; the
// successor carries junk family fields and facts the store must ignore.
func rotation(id string, now time.Time, grace time.Duration) jwt.Rotation {
	shard, _ := jwt.RefreshIDShard(id)
	sealed := make([]byte, 40)
	_, _ = rand.Read(sealed)
	return jwt.Rotation{ID: id, Now: now, Grace: grace, Sealed: sealed,
		Next: jwt.RefreshToken{ID: idIn(shard), IssuedAt: now, Expiry: now.Add(time.Hour),
			FamilyID: "junk", UserID: "junk", FamilyExpiry: now.Add(1000 * time.Hour),
			SignIn: jwt.SignIn{AuthTime: now.Add(time.Hour), AMR: []string{"junk"}, ACR: "junk"}}}
}

func rotate(ctx context.Context, s jwt.RefreshStore, r jwt.Rotation, want jwt.RotateOutcome) (jwt.RotateResult, error) {
	res, err := s.Rotate(ctx, r)
	if err != nil {
		return res, fmt.Errorf("store Rotate: %w", err)
	}
	if res.Outcome != want {
		return res, fmt.Errorf("store Rotate: outcome %s, want %s", outcome(res.Outcome), outcome(want))
	}
	return res, nil
}

func outcome(o jwt.RotateOutcome) string {
	switch o {
	case jwt.RotateInvalid:
		return "RotateInvalid"
	case jwt.Rotated:
		return "Rotated"
	case jwt.RotateRetried:
		return "RotateRetried"
	case jwt.RotateReused:
		return "RotateReused"
	}
	return fmt.Sprintf("RotateOutcome(%d)", int(o))
}

// sameFamily checks that got carries the family facts of want.
func sameFamily(got, want jwt.RefreshToken) error {
	if got.FamilyID != want.FamilyID || got.UserID != want.UserID {
		return fmt.Errorf("ids differ: got family %q user %q, want %q %q", got.FamilyID, got.UserID, want.FamilyID, want.UserID)
	}
	if !near(got.FamilyExpiry, want.FamilyExpiry) {
		return fmt.Errorf("FamilyExpiry %v, want ≈%v", got.FamilyExpiry, want.FamilyExpiry)
	}
	g, w := got.SignIn, want.SignIn
	if !near(g.AuthTime, w.AuthTime) || !slices.Equal(g.AMR, w.AMR) || g.ACR != w.ACR || g.MFA != w.MFA {
		return fmt.Errorf("sign-in facts %+v, want %+v (stored with the family, never taken from the rotation)", g, w)
	}
	return nil
}

func allCases() []suite.Case[env] { return slices.Concat(refreshCases, updateSignInCases) }

const lossCase = "DataLossFailsClosed"

var refreshCases = []suite.Case[env]{
	{Name: "RotateMissing", Check: func(ctx context.Context, e env) error {
		_, err := rotate(ctx, e.s, rotation(idIn(jwt.RefreshShard(rid("u-"))), e.now(), 0), jwt.RotateInvalid)
		return err
	}},
	{Name: "RotateRoundTrip", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		r := rotation(t.ID, now.Add(time.Minute), 0)
		res, err := rotate(ctx, e.s, r, jwt.Rotated)
		if err != nil {
			return err
		}
		n := res.Token
		if n.ID != r.Next.ID || !near(n.IssuedAt, r.Next.IssuedAt) || !near(n.Expiry, r.Next.Expiry) || !n.UsedAt.IsZero() {
			return fmt.Errorf("successor record %+v, want id %q issued %v expiry %v unused", n, r.Next.ID, r.Next.IssuedAt, r.Next.Expiry)
		}
		return sameFamily(n, t)
	}},
	{Name: "SignInFactsCarriedUnchanged", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now.Add(-time.Hour))
		t.Expiry = now.Add(time.Hour)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		id := t.ID
		for i := range 4 {
			res, err := rotate(ctx, e.s, rotation(id, now.Add(time.Duration(i)*time.Minute), 0), jwt.Rotated)
			if err != nil {
				return fmt.Errorf("rotation %d: %w", i+1, err)
			}
			if err := sameFamily(res.Token, t); err != nil {
				return fmt.Errorf("rotation %d: %w", i+1, err)
			}
			id = res.Token.ID
		}
		return nil
	}},
	{Name: "SuccessorExpiryCappedAtFamily", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		t.FamilyExpiry = now.Add(30 * time.Minute)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		res, err := rotate(ctx, e.s, rotation(t.ID, now, 0), jwt.Rotated)
		if err != nil {
			return err
		}
		if !near(res.Token.Expiry, t.FamilyExpiry) {
			return fmt.Errorf("successor Expiry %v, want the family's %v", res.Token.Expiry, t.FamilyExpiry)
		}
		return nil
	}},
	{Name: "SecondRotateWithoutGraceIsReuseAndRevokes", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		other := first(t.UserID, now)
		for _, x := range []jwt.RefreshToken{t, other} {
			if err := create(ctx, e.s, x); err != nil {
				return err
			}
		}
		res, err := rotate(ctx, e.s, rotation(t.ID, now, 0), jwt.Rotated)
		if err != nil {
			return err
		}
		reused, err := rotate(ctx, e.s, rotation(t.ID, now.Add(time.Second), 0), jwt.RotateReused)
		if err != nil {
			return fmt.Errorf("second presentation: %w", err)
		}
		if reused.Token.ID != t.ID || reused.Token.UserID != t.UserID || reused.Token.FamilyID != t.FamilyID {
			return fmt.Errorf("reuse verdict carries %+v, want the presented token's record", reused.Token)
		}
		if _, err := rotate(ctx, e.s, rotation(res.Token.ID, now.Add(2*time.Second), 0), jwt.RotateInvalid); err != nil {
			return fmt.Errorf("newest token after reuse: %w", err)
		}
		if _, err := rotate(ctx, e.s, rotation(other.ID, now, 0), jwt.Rotated); err != nil {
			return fmt.Errorf("another family of the same user: %w", err)
		}
		return nil
	}},
	{Name: "RetryWithinGraceReturnsSameSuccessor", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		r1 := rotation(t.ID, now, 5*time.Second)
		res, err := rotate(ctx, e.s, r1, jwt.Rotated)
		if err != nil {
			return err
		}
		r2 := rotation(t.ID, now.Add(4*time.Second), 5*time.Second)
		again, err := rotate(ctx, e.s, r2, jwt.RotateRetried)
		if err != nil {
			return fmt.Errorf("retry within grace: %w", err)
		}
		if again.Token.ID != res.Token.ID || !bytes.Equal(again.Sealed, r1.Sealed) {
			return fmt.Errorf("retry got successor %q sealed %x, want %q and %x", again.Token.ID, again.Sealed, res.Token.ID, r1.Sealed)
		}
		if err := sameFamily(again.Token, t); err != nil {
			return err
		}
		// The retry stored nothing: its own successor does not exist.
		if _, err := rotate(ctx, e.s, rotation(r2.Next.ID, now.Add(5*time.Second), 0), jwt.RotateInvalid); err != nil {
			return fmt.Errorf("successor offered by the retry: %w", err)
		}
		if _, err := rotate(ctx, e.s, rotation(res.Token.ID, now.Add(5*time.Second), 0), jwt.Rotated); err != nil {
			return fmt.Errorf("the one successor: %w", err)
		}
		return nil
	}},
	{Name: "RetryAfterGraceIsReuse", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		res, err := rotate(ctx, e.s, rotation(t.ID, now, 5*time.Second), jwt.Rotated)
		if err != nil {
			return err
		}
		if _, err := rotate(ctx, e.s, rotation(t.ID, now.Add(5*time.Second), 5*time.Second), jwt.RotateReused); err != nil {
			return fmt.Errorf("presented again at the end of the window: %w", err)
		}
		_, err = rotate(ctx, e.s, rotation(res.Token.ID, now.Add(6*time.Second), 5*time.Second), jwt.RotateInvalid)
		return err
	}},
	{Name: "SupersededTwiceIsReuse", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		g := 30 * time.Second
		r2, err := rotate(ctx, e.s, rotation(t.ID, now, g), jwt.Rotated)
		if err != nil {
			return err
		}
		r3, err := rotate(ctx, e.s, rotation(r2.Token.ID, now.Add(time.Second), g), jwt.Rotated)
		if err != nil {
			return err
		}
		if _, err := rotate(ctx, e.s, rotation(t.ID, now.Add(2*time.Second), g), jwt.RotateReused); err != nil {
			return fmt.Errorf("token whose successor was rotated, within the window: %w", err)
		}
		_, err = rotate(ctx, e.s, rotation(r3.Token.ID, now.Add(3*time.Second), g), jwt.RotateInvalid)
		return err
	}},
	{Name: "ExpiredIsInvalid", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		t.Expiry = now.Add(10 * time.Minute)
		f := first(rid("u-"), now)
		f.FamilyExpiry, f.Expiry = now.Add(20*time.Minute), now.Add(20*time.Minute)
		for _, x := range []jwt.RefreshToken{t, f} {
			if err := create(ctx, e.s, x); err != nil {
				return err
			}
		}
		if _, err := rotate(ctx, e.s, rotation(t.ID, now.Add(10*time.Minute), 0), jwt.RotateInvalid); err != nil {
			return fmt.Errorf("token at its expiry: %w", err)
		}
		// The successor would outlive nothing: the family itself is over.
		res, err := rotate(ctx, e.s, rotation(f.ID, now, 0), jwt.Rotated)
		if err != nil {
			return err
		}
		if _, err := rotate(ctx, e.s, rotation(res.Token.ID, now.Add(20*time.Minute), 0), jwt.RotateInvalid); err != nil {
			return fmt.Errorf("token at its family's expiry: %w", err)
		}
		return nil
	}},
	{Name: "ShortExpiryKeptUntilItsTime", Check: func(ctx context.Context, e env) error {
		// A store that expires records on its own clock must not drop them
		// early: a server clock ahead of the application's, or an absolute
		// expiry computed from the application's clock, fails this.
		now := e.now()
		t := first(rid("u-"), now)
		t.Expiry, t.FamilyExpiry = now.Add(40*time.Second), now.Add(50*time.Second)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		res, err := rotate(ctx, e.s, rotation(t.ID, e.now(), 0), jwt.Rotated)
		if err != nil {
			return err
		}
		if _, err := rotate(ctx, e.s, rotation(t.ID, e.now(), 0), jwt.RotateReused); err != nil {
			return fmt.Errorf("used token's record (reuse detection): %w", err)
		}
		_, err = rotate(ctx, e.s, rotation(res.Token.ID, e.now(), 0), jwt.RotateInvalid)
		return err
	}},
	{Name: "ShortTTLHonoured", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		t.Expiry = now.Add(1500 * time.Millisecond)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		select {
		case <-time.After(2500 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		_, err := rotate(ctx, e.s, rotation(t.ID, e.now(), 0), jwt.RotateInvalid)
		return err
	}},
	{Name: "RevokeToken", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		keep := first(t.UserID, now)
		for _, x := range []jwt.RefreshToken{t, keep} {
			if err := create(ctx, e.s, x); err != nil {
				return err
			}
		}
		res, err := rotate(ctx, e.s, rotation(t.ID, now, 0), jwt.Rotated)
		if err != nil {
			return err
		}
		// Revoking through the old, used token ends the newest one too.
		if user, found, err := e.s.RevokeToken(ctx, t.ID); err != nil || !found || user != t.UserID {
			return fmt.Errorf("store RevokeToken: user=%q found=%v err=%v, want %q", user, found, err, t.UserID)
		}
		if _, err := rotate(ctx, e.s, rotation(res.Token.ID, now, 30*time.Second), jwt.RotateInvalid); err != nil {
			return fmt.Errorf("newest token of a revoked family: %w", err)
		}
		if _, err := rotate(ctx, e.s, rotation(t.ID, now, 30*time.Second), jwt.RotateInvalid); err != nil {
			return fmt.Errorf("used token of a revoked family (within grace): %w", err)
		}
		if _, found, err := e.s.RevokeToken(ctx, idIn("000")); err != nil || found {
			return fmt.Errorf("store RevokeToken(unknown): found=%v err=%v, want false, nil", found, err)
		}
		_, err = rotate(ctx, e.s, rotation(keep.ID, now, 0), jwt.Rotated)
		return err
	}},
	{Name: "RevokeUser", Check: func(ctx context.Context, e env) error {
		now := e.now()
		u, v := rid("u-"), rid("u-")
		a, b, c := first(u, now), first(u, now), first(v, now)
		for _, t := range []jwt.RefreshToken{a, b, c} {
			if err := create(ctx, e.s, t); err != nil {
				return err
			}
		}
		ra, err := rotate(ctx, e.s, rotation(a.ID, now, 0), jwt.Rotated)
		if err != nil {
			return err
		}
		if err := e.s.RevokeUser(ctx, u); err != nil {
			return fmt.Errorf("store RevokeUser: %w", err)
		}
		for _, id := range []string{ra.Token.ID, b.ID} {
			if _, err := rotate(ctx, e.s, rotation(id, now, 0), jwt.RotateInvalid); err != nil {
				return fmt.Errorf("token of a revoked user: %w", err)
			}
		}
		if _, err := rotate(ctx, e.s, rotation(c.ID, now, 0), jwt.Rotated); err != nil {
			return fmt.Errorf("other user's token: %w", err)
		}
		if err := e.s.RevokeUser(ctx, rid("nouser-")); err != nil {
			return fmt.Errorf("store RevokeUser(unknown): %w", err)
		}
		later := first(u, now.Add(time.Second))
		if err := create(ctx, e.s, later); err != nil {
			return fmt.Errorf("sign-in after RevokeUser: %w", err)
		}
		_, err = rotate(ctx, e.s, rotation(later.ID, now.Add(time.Second), 0), jwt.Rotated)
		return err
	}},
	{Name: "CreateAfterNotBeforeRefused", Check: func(ctx context.Context, e env) error {
		now := e.now()
		u := rid("u-")
		if err := e.s.SetNotBefore(ctx, u, now); err != nil {
			return err
		}
		early := first(u, now.Add(-2*time.Second))
		created, err := e.s.Create(ctx, early)
		if err != nil || created {
			return fmt.Errorf("store Create for a sign-in before the not-before: created=%v err=%v, want false, nil", created, err)
		}
		if _, err := rotate(ctx, e.s, rotation(early.ID, now, 0), jwt.RotateInvalid); err != nil {
			return fmt.Errorf("refused family: %w", err)
		}
		late := first(u, now.Add(2*time.Second))
		if err := create(ctx, e.s, late); err != nil {
			return fmt.Errorf("sign-in after the not-before: %w", err)
		}
		_, err = rotate(ctx, e.s, rotation(late.ID, now.Add(2*time.Second), 0), jwt.Rotated)
		return err
	}},
	{Name: "RotateAfterNotBeforeIsInvalid", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		// No RevokeUser: the not-before alone must end the older sign-in.
		if err := e.s.SetNotBefore(ctx, t.UserID, now.Add(2*time.Second)); err != nil {
			return err
		}
		_, err := rotate(ctx, e.s, rotation(t.ID, now.Add(3*time.Second), 0), jwt.RotateInvalid)
		return err
	}},
	{Name: "RetryAfterLogoutEverywhereIsInvalid", Check: func(ctx context.Context, e env) error {
		// A retry within the grace window must not hand out the successor
		// of a family that a "log out everywhere" ended after the rotation:
		// neither through the not-before alone nor through RevokeUser.
		now := e.now()
		g := 30 * time.Second
		for _, revoke := range []bool{false, true} {
			t := first(rid("u-"), now)
			if err := create(ctx, e.s, t); err != nil {
				return err
			}
			if _, err := rotate(ctx, e.s, rotation(t.ID, now, g), jwt.Rotated); err != nil {
				return err
			}
			if err := e.s.SetNotBefore(ctx, t.UserID, now.Add(time.Second)); err != nil {
				return err
			}
			if revoke {
				if err := e.s.RevokeUser(ctx, t.UserID); err != nil {
					return err
				}
			}
			if res, err := rotate(ctx, e.s, rotation(t.ID, now.Add(2*time.Second), g), jwt.RotateInvalid); err != nil {
				return fmt.Errorf("retry after logout everywhere (RevokeUser=%v) got successor %q: %w", revoke, res.Token.ID, err)
			}
		}
		return nil
	}},
	{Name: "RetryFromClockFarBehindIsReuse", Check: func(ctx context.Context, e env) error {
		// An instance whose clock lags the one that rotated must not keep
		// the retry window open for as long as it lags.
		now := e.now()
		g := 5 * time.Second
		t := first(rid("u-"), now.Add(-time.Hour))
		t.Expiry = now.Add(time.Hour)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		if _, err := rotate(ctx, e.s, rotation(t.ID, now, g), jwt.Rotated); err != nil {
			return err
		}
		if _, err := rotate(ctx, e.s, rotation(t.ID, now.Add(-2*time.Second), g), jwt.RotateRetried); err != nil {
			return fmt.Errorf("retry from a clock 2 s behind (within the window): %w", err)
		}
		if _, err := rotate(ctx, e.s, rotation(t.ID, now.Add(-10*time.Minute), g), jwt.RotateReused); err != nil {
			return fmt.Errorf("presentation from a clock 10 min behind: %w", err)
		}
		return nil
	}},
	{Name: "RetryAfterSuccessorExpiredIsNotRetried", Check: func(ctx context.Context, e env) error {
		// The family's absolute expiry caps the successor: a retry after it
		// hands out nothing.
		now := e.now()
		t := first(rid("u-"), now)
		t.FamilyExpiry = now.Add(10 * time.Minute)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		if _, err := rotate(ctx, e.s, rotation(t.ID, now.Add(10*time.Minute-time.Second), time.Minute), jwt.Rotated); err != nil {
			return err
		}
		res, err := e.s.Rotate(ctx, rotation(t.ID, now.Add(10*time.Minute+time.Second), time.Minute))
		if err != nil {
			return err
		}
		if res.Outcome == jwt.Rotated || res.Outcome == jwt.RotateRetried {
			return fmt.Errorf("retry after the family's expiry: outcome %s, want RotateInvalid or RotateReused", outcome(res.Outcome))
		}
		return nil
	}},
	{Name: "SignInRacingLogoutEverywhereNeverLives", Check: func(ctx context.Context, e env) error {
		// A sign-in that checked its credentials before a "log out
		// everywhere" and creates its family while the logout runs: whatever
		// the interleaving, that family never rotates.
		now := e.now()
		const n = 32
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				u := rid("u-")
				t := first(u, now)
				start := make(chan struct{})
				var created bool
				var cerr error
				var inner sync.WaitGroup
				inner.Go(func() { <-start; created, cerr = e.s.Create(ctx, t) })
				inner.Go(func() {
					<-start
					if err := e.s.SetNotBefore(ctx, u, now.Add(time.Second)); err != nil {
						errs[i] = err
						return
					}
					if err := e.s.RevokeUser(ctx, u); err != nil {
						errs[i] = err
					}
				})
				close(start)
				inner.Wait()
				if errs[i] != nil || cerr != nil {
					errs[i] = errors.Join(errs[i], cerr)
					return
				}
				res, err := e.s.Rotate(ctx, rotation(t.ID, now.Add(2*time.Second), 0))
				if err != nil || res.Outcome != jwt.RotateInvalid {
					errs[i] = fmt.Errorf("family of a sign-in before the logout (created=%v): outcome %s err=%v, want RotateInvalid",
						created, outcome(res.Outcome), err)
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}},
	{Name: "ConcurrentRotateOneSuccessor", Check: func(ctx context.Context, e env) error {
		return concurrentRotate(ctx, e, 5*time.Second)
	}},
	{Name: "ConcurrentRotateWithoutGrace", Check: func(ctx context.Context, e env) error {
		return concurrentRotate(ctx, e, 0)
	}},
	{Name: "HostileIDs", Check: func(ctx context.Context, e env) error {
		// Ids are stored literally: no two of these may share a record.
		now := e.now()
		hostile := []string{"*", "%", ":", "_", "'", `"`, `\`, "a b", "{x}", "}{", "[a-z]", "?", "ü", "*:*"}
		suffix := rid("")
		var toks []jwt.RefreshToken
		for i, h := range hostile {
			t := first(h+suffix+"u", now)
			t.FamilyID = h + suffix + "f"
			toks = append(toks, t)
			if err := create(ctx, e.s, t); err != nil {
				return fmt.Errorf("user %q: %w", t.UserID, err)
			}
			if err := e.s.SetNotBefore(ctx, h+suffix+"nb", now.Add(time.Duration(i)*time.Hour)); err != nil {
				return err
			}
		}
		// Revoking the user named "*…" must touch nothing else.
		if err := e.s.RevokeUser(ctx, toks[0].UserID); err != nil {
			return err
		}
		if _, err := rotate(ctx, e.s, rotation(toks[0].ID, now, 0), jwt.RotateInvalid); err != nil {
			return err
		}
		for _, t := range toks[1:] {
			res, err := rotate(ctx, e.s, rotation(t.ID, now, 0), jwt.Rotated)
			if err != nil {
				return fmt.Errorf("user %q: %w", t.UserID, err)
			}
			if err := sameFamily(res.Token, t); err != nil {
				return fmt.Errorf("user %q: %w (ids must be stored literally)", t.UserID, err)
			}
		}
		for i, h := range hostile {
			got, found, err := e.s.NotBefore(ctx, h+suffix+"nb")
			if err != nil || !found || !near(got, now.Add(time.Duration(i)*time.Hour)) {
				return fmt.Errorf("not-before of %q: %v found=%v err=%v", h+suffix+"nb", got, found, err)
			}
		}
		return nil
	}},
	{Name: "CancelledContext", Check: func(ctx context.Context, e env) error {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		now := e.now()
		u := rid("u-")
		var errs []error
		if _, err := e.s.Create(cctx, first(u, now)); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store Create: err=%v, want context.Canceled", err))
		}
		if _, err := e.s.Rotate(cctx, rotation(idIn("000"), now, 0)); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store Rotate: err=%v, want context.Canceled", err))
		}
		if _, _, err := e.s.RevokeToken(cctx, idIn("000")); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store RevokeToken: err=%v, want context.Canceled", err))
		}
		if err := e.s.RevokeUser(cctx, u); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store RevokeUser: err=%v, want context.Canceled", err))
		}
		if err := e.s.SetNotBefore(cctx, u, now); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store SetNotBefore: err=%v, want context.Canceled", err))
		}
		if _, _, err := e.s.NotBefore(cctx, u); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store NotBefore: err=%v, want context.Canceled", err))
		}
		return errors.Join(errs...)
	}},
	{Name: "NotBeforeMissing", Check: func(ctx context.Context, e env) error {
		// No record: found=false, or the store's epoch, which is not in
		// the future.
		got, found, err := e.s.NotBefore(ctx, rid("u-"))
		if err != nil || found && got.After(e.now().Add(Tolerance)) {
			return fmt.Errorf("got %v found=%v err=%v, want nothing or an epoch not in the future", got, found, err)
		}
		return nil
	}},
	{Name: "NotBeforeLaterWins", Check: func(ctx context.Context, e env) error {
		u, at := rid("u-"), e.now()
		if err := e.s.SetNotBefore(ctx, u, at); err != nil {
			return err
		}
		got, found, err := e.s.NotBefore(ctx, u)
		if err != nil || !found || !near(got, at) {
			return fmt.Errorf("got %v found=%v err=%v, want ≈%v", got, found, err, at)
		}
		if err := e.s.SetNotBefore(ctx, u, at.Add(-time.Hour)); err != nil {
			return err
		}
		got, _, err = e.s.NotBefore(ctx, u)
		if err != nil || !near(got, at) {
			return fmt.Errorf("earlier time overwrote later: got %v err=%v, want ≈%v", got, err, at)
		}
		if err := e.s.SetNotBefore(ctx, u, at.Add(time.Hour)); err != nil {
			return err
		}
		got, _, err = e.s.NotBefore(ctx, u)
		if err != nil || !near(got, at.Add(time.Hour)) {
			return fmt.Errorf("later time not stored: got %v err=%v", got, err)
		}
		return nil
	}},
	{Name: "NotBeforeConcurrentLatestWins", Check: func(ctx context.Context, e env) error {
		u, base := rid("u-"), e.now().Truncate(time.Second)
		const n = 64
		var wg sync.WaitGroup
		errc := make(chan error, 2*n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.s.SetNotBefore(ctx, u, base.Add(time.Duration(i)*time.Minute)); err != nil {
					errc <- err
				}
				if _, _, err := e.s.NotBefore(ctx, u); err != nil {
					errc <- err
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			return err
		}
		got, _, err := e.s.NotBefore(ctx, u)
		want := base.Add((n - 1) * time.Minute)
		if err != nil || !near(got, want) {
			return fmt.Errorf("after %d concurrent sets got %v err=%v, want ≈%v", n, got, err, want)
		}
		return nil
	}},
	{Name: lossCase, Check: func(ctx context.Context, e env) error {
		u, v := rid("u-"), rid("v-")
		if err := e.s.SetNotBefore(ctx, u, e.now().Add(-time.Hour)); err != nil {
			return err
		}
		before := e.now()
		s := e.lose()
		// Every access token issued before the loss is refused, for users
		// whose record was lost and for users who never had one.
		for _, user := range []string{u, v} {
			got, found, err := s.NotBefore(ctx, user)
			if err != nil || !found || got.Before(before.Add(-Tolerance)) {
				return fmt.Errorf("not-before of %q after the loss: %v found=%v err=%v, want ≥ %v", user, got, found, err, before)
			}
		}
		// A sign-in after the loss still works.
		now := e.now().Add(Tolerance)
		t := first(v, now)
		if err := create(ctx, s, t); err != nil {
			return fmt.Errorf("sign-in after the loss: %w", err)
		}
		_, err := rotate(ctx, s, rotation(t.ID, now, 0), jwt.Rotated)
		return err
	}},
}

// concurrentRotate presents one token from 64 goroutines at once, each
// offering its own successor: exactly one successor may be stored; with a
// grace window every other caller gets that one back, without one every
// other caller sees reuse and the family ends.
func concurrentRotate(ctx context.Context, e env, grace time.Duration) error {
	s, now := e.s, e.now()
	t := first(rid("u-"), now)
	if err := create(ctx, s, t); err != nil {
		return err
	}
	const n = 64
	rots := make([]jwt.Rotation, n)
	res := make([]jwt.RotateResult, n)
	errs := make([]error, n)
	for i := range rots {
		rots[i] = rotation(t.ID, now, grace)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res[i], errs[i] = s.Rotate(ctx, rots[i])
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	winner := -1
	counts := map[jwt.RotateOutcome]int{}
	for i, r := range res {
		counts[r.Outcome]++
		if r.Outcome == jwt.Rotated {
			winner = i
		}
	}
	if counts[jwt.Rotated] != 1 {
		return fmt.Errorf("%d goroutines: %d rotated, want exactly 1 (outcomes %v)", n, counts[jwt.Rotated], counts)
	}
	if grace > 0 && counts[jwt.RotateRetried] != n-1 {
		return fmt.Errorf("%d goroutines: %d retries got the successor, want %d (outcomes %v)", n, counts[jwt.RotateRetried], n-1, counts)
	}
	// Without a window the first late caller is reuse and ends the family;
	// the later ones find it revoked.
	if grace == 0 && (counts[jwt.RotateReused] < 1 || counts[jwt.RotateRetried] != 0) {
		return fmt.Errorf("%d goroutines without a grace window: outcomes %v, want 1 rotated, the rest reused or invalid", n, counts)
	}
	if grace > 0 {
		for i, r := range res {
			if i != winner && (r.Token.ID != rots[winner].Next.ID || !bytes.Equal(r.Sealed, rots[winner].Sealed)) {
				return fmt.Errorf("a retry got successor %q, want the winner's %q", r.Token.ID, rots[winner].Next.ID)
			}
		}
	}
	// Never two live successors: only the winner's was stored (and, without
	// a grace window, the reuse ended even that one).
	live := 0
	for _, r := range rots {
		out, err := s.Rotate(ctx, rotation(r.Next.ID, now, 0))
		if err != nil {
			return err
		}
		if out.Outcome == jwt.Rotated {
			live++
		}
	}
	wantLive := 0
	if grace > 0 {
		wantLive = 1
	}
	if live != wantLive {
		return fmt.Errorf("%d live successors, want %d", live, wantLive)
	}
	return nil
}
