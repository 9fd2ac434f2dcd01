// Package jwttest checks implementations of [jwt.RefreshStore] and
// [jwt.NotBeforeStore] against their documented contracts.
//
// Run and RunNotBefore run each case as a parallel subtest; Test and
// TestNotBefore run the same cases without subtests and return the joined
// failures, so the suite's own tests can prove it rejects broken stores.
//
// Time contract: stored times are compared with a tolerance of one second, so
// stores with microsecond (PostgreSQL) or second (SQLite) precision pass; a
// zero UsedAt must stay exactly zero. One case (short TTL) waits about two
// seconds of real time because real servers' clocks cannot be injected.
// The cases use random ids, so they do not depend on an empty backend, but
// newStore should still return an isolated store.
package jwttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// Tolerance is the accepted difference between a stored and a returned time.
const Tolerance = time.Second

type refreshCase struct {
	name string
	run  func(ctx context.Context, s jwt.RefreshStore) error
}

type nbCase struct {
	name string
	run  func(ctx context.Context, s jwt.NotBeforeStore) error
}

// Run runs the RefreshStore cases; newStore returns an empty, isolated store
// and registers its cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) jwt.RefreshStore) {
	t.Helper()
	for _, c := range refreshCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.run(t.Context(), newStore(t)); err != nil {
				t.Error(err)
			}
		})
	}
}

// Test runs the RefreshStore cases concurrently, each on its own store from
// newStore, and returns errors.Join of the failures, each prefixed with its
// case name.
func Test(newStore func() (jwt.RefreshStore, error)) error {
	errs := make([]error, len(refreshCases))
	var wg sync.WaitGroup
	for i, c := range refreshCases {
		s, err := newStore()
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.run(context.Background(), s); err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// RunNotBefore runs the NotBeforeStore cases.
func RunNotBefore(t *testing.T, newStore func(t *testing.T) jwt.NotBeforeStore) {
	t.Helper()
	for _, c := range nbCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.run(t.Context(), newStore(t)); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestNotBefore is Test for NotBeforeStore.
func TestNotBefore(newStore func() (jwt.NotBeforeStore, error)) error {
	var errs []error
	for _, c := range nbCases {
		s, err := newStore()
		if err != nil {
			return err
		}
		if err := c.run(context.Background(), s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

func rid(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d < Tolerance && d > -Tolerance
}

func tok(id, fam, user string, now time.Time) jwt.RefreshToken {
	return jwt.RefreshToken{ID: id, FamilyID: fam, UserID: user, IssuedAt: now,
		Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(24 * time.Hour)}
}

func mustFound(ctx context.Context, s jwt.RefreshStore, id string, now time.Time, want bool) error {
	_, found, err := s.Use(ctx, id, now)
	if err != nil {
		return fmt.Errorf("store Use(%q): %w", id, err)
	}
	if found != want {
		return fmt.Errorf("store Use(%q): found=%v, want %v", id, found, want)
	}
	return nil
}

var refreshCases = []refreshCase{
	{"UseMissing", func(ctx context.Context, s jwt.RefreshStore) error {
		return mustFound(ctx, s, rid("missing-"), time.Now(), false)
	}},
	{"RoundTrip", func(ctx context.Context, s jwt.RefreshStore) error {
		now := time.Now()
		want := tok(rid("t-"), rid("f-"), rid("u-"), now)
		if err := s.Create(ctx, want); err != nil {
			return fmt.Errorf("store Create: %w", err)
		}
		got, found, err := s.Use(ctx, want.ID, now)
		if err != nil || !found {
			return fmt.Errorf("store Use: found=%v err=%v", found, err)
		}
		if got.ID != want.ID || got.FamilyID != want.FamilyID || got.UserID != want.UserID {
			return fmt.Errorf("ids differ: got %+v want %+v", got, want)
		}
		if !near(got.IssuedAt, want.IssuedAt) || !near(got.Expiry, want.Expiry) || !near(got.FamilyExpiry, want.FamilyExpiry) {
			return fmt.Errorf("times differ: got %+v want %+v", got, want)
		}
		if !got.UsedAt.IsZero() {
			return fmt.Errorf("first Use returned UsedAt=%v, want zero", got.UsedAt)
		}
		return nil
	}},
	{"SecondUseReportsReuse", func(ctx context.Context, s jwt.RefreshStore) error {
		now := time.Now()
		t := tok(rid("t-"), rid("f-"), rid("u-"), now)
		if err := s.Create(ctx, t); err != nil {
			return err
		}
		first := now.Add(time.Minute)
		if p, _, err := s.Use(ctx, t.ID, first); err != nil || !p.UsedAt.IsZero() {
			return fmt.Errorf("first Use: UsedAt=%v err=%v", p.UsedAt, err)
		}
		p, found, err := s.Use(ctx, t.ID, now.Add(2*time.Minute))
		if err != nil || !found {
			return fmt.Errorf("second Use: found=%v err=%v", found, err)
		}
		if p.UsedAt.IsZero() || !near(p.UsedAt, first) {
			return fmt.Errorf("second Use: UsedAt=%v, want ≈%v", p.UsedAt, first)
		}
		return nil
	}},
	{"ExpiredIsMissing", func(ctx context.Context, s jwt.RefreshStore) error {
		now := time.Now()
		t := tok(rid("t-"), rid("f-"), rid("u-"), now.Add(-2*time.Hour))
		t.Expiry = now.Add(-time.Hour)
		if err := s.Create(ctx, t); err != nil {
			return fmt.Errorf("store Create with past expiry: %w", err)
		}
		return mustFound(ctx, s, t.ID, now, false)
	}},
	{"ShortTTLHonoured", func(ctx context.Context, s jwt.RefreshStore) error {
		now := time.Now()
		a := tok(rid("t-"), rid("f-"), rid("u-"), now)
		a.Expiry = now.Add(1500 * time.Millisecond)
		b := a
		b.ID = rid("t-")
		if err := s.Create(ctx, a); err != nil {
			return err
		}
		if err := s.Create(ctx, b); err != nil {
			return err
		}
		if err := mustFound(ctx, s, a.ID, time.Now(), true); err != nil {
			return fmt.Errorf("before expiry: %w", err)
		}
		select {
		case <-time.After(2500 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		return mustFound(ctx, s, b.ID, time.Now(), false)
	}},
	{"RevokeFamily", func(ctx context.Context, s jwt.RefreshStore) error {
		now := time.Now()
		user, fam, other := rid("u-"), rid("f-"), rid("f-")
		old, newest, keep := tok(rid("t-"), fam, user, now), tok(rid("t-"), fam, user, now), tok(rid("t-"), other, user, now)
		for _, t := range []jwt.RefreshToken{old, newest, keep} {
			if err := s.Create(ctx, t); err != nil {
				return err
			}
		}
		if err := mustFound(ctx, s, old.ID, now, true); err != nil {
			return err
		}
		if err := s.RevokeFamily(ctx, fam); err != nil {
			return fmt.Errorf("store RevokeFamily: %w", err)
		}
		if err := mustFound(ctx, s, newest.ID, now, false); err != nil {
			return fmt.Errorf("newest token of revoked family: %w", err)
		}
		if err := mustFound(ctx, s, old.ID, now, false); err != nil {
			return fmt.Errorf("used token of revoked family: %w", err)
		}
		return mustFound(ctx, s, keep.ID, now, true)
	}},
	{"CreateIntoRevokedFamilyIsDead", func(ctx context.Context, s jwt.RefreshStore) error {
		now := time.Now()
		user, fam := rid("u-"), rid("f-")
		first := tok(rid("t-"), fam, user, now)
		if err := s.Create(ctx, first); err != nil {
			return err
		}
		if err := s.RevokeFamily(ctx, fam); err != nil {
			return err
		}
		late := tok(rid("t-"), fam, user, now)
		if err := s.Create(ctx, late); err != nil {
			return fmt.Errorf("store Create into revoked family: %w", err)
		}
		return mustFound(ctx, s, late.ID, now, false)
	}},
	{"RevokeMissingFamilyIsNil", func(ctx context.Context, s jwt.RefreshStore) error {
		if err := s.RevokeFamily(ctx, rid("nofam-")); err != nil {
			return err
		}
		return s.RevokeUser(ctx, rid("nouser-"))
	}},
	{"RevokeUser", func(ctx context.Context, s jwt.RefreshStore) error {
		now := time.Now()
		u, v := rid("u-"), rid("u-")
		a, b, c := tok(rid("t-"), rid("f-"), u, now), tok(rid("t-"), rid("f-"), u, now), tok(rid("t-"), rid("f-"), v, now)
		for _, t := range []jwt.RefreshToken{a, b, c} {
			if err := s.Create(ctx, t); err != nil {
				return err
			}
		}
		if err := s.RevokeUser(ctx, u); err != nil {
			return fmt.Errorf("store RevokeUser: %w", err)
		}
		if err := mustFound(ctx, s, a.ID, now, false); err != nil {
			return err
		}
		if err := mustFound(ctx, s, b.ID, now, false); err != nil {
			return err
		}
		if err := mustFound(ctx, s, c.ID, now, true); err != nil {
			return fmt.Errorf("other user's token: %w", err)
		}
		later := tok(rid("t-"), rid("f-"), u, now)
		if err := s.Create(ctx, later); err != nil {
			return err
		}
		return mustFound(ctx, s, later.ID, now, true)
	}},
	{"HostileIDs", func(ctx context.Context, s jwt.RefreshStore) error {
		now := time.Now()
		hostile := []string{"*", "%", ":", "_", "'", `"`, `\`, "a b", "{x}", "[a-z]", "?", "ü", "*:*"}
		suffix := rid("")
		var toks []jwt.RefreshToken
		for i, h := range hostile {
			t := tok(h+suffix, h+suffix+"f", h+suffix+"u", now)
			if i == 0 {
				t = tok(h+suffix, h+suffix+"f", h+suffix+"u", now)
			}
			toks = append(toks, t)
			if err := s.Create(ctx, t); err != nil {
				return fmt.Errorf("store Create(%q): %w", t.ID, err)
			}
		}
		// Revoking the family and the user named "*…" must touch nothing else.
		if err := s.RevokeFamily(ctx, toks[0].FamilyID); err != nil {
			return err
		}
		if err := s.RevokeUser(ctx, "*"+suffix+"u"); err != nil {
			return err
		}
		if err := s.RevokeFamily(ctx, "%"); err != nil {
			return err
		}
		if err := mustFound(ctx, s, toks[0].ID, now, false); err != nil {
			return err
		}
		for _, t := range toks[1:] {
			p, found, err := s.Use(ctx, t.ID, now)
			if err != nil || !found || p.ID != t.ID || p.FamilyID != t.FamilyID || p.UserID != t.UserID {
				return fmt.Errorf("hostile id %q: found=%v err=%v rec=%+v", t.ID, found, err, p)
			}
		}
		return nil
	}},
	{"CancelledContext", func(ctx context.Context, s jwt.RefreshStore) error {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		now := time.Now()
		var errs []error
		if err := s.Create(cctx, tok(rid("t-"), rid("f-"), rid("u-"), now)); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store Create: err=%v, want context.Canceled", err))
		}
		if _, _, err := s.Use(cctx, rid("t-"), now); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store Use: err=%v, want context.Canceled", err))
		}
		if err := s.RevokeFamily(cctx, rid("f-")); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store RevokeFamily: err=%v, want context.Canceled", err))
		}
		if err := s.RevokeUser(cctx, rid("u-")); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store RevokeUser: err=%v, want context.Canceled", err))
		}
		return errors.Join(errs...)
	}},
	{"ConcurrentUseOneWinner", func(ctx context.Context, s jwt.RefreshStore) error {
		now := time.Now()
		t := tok(rid("t-"), rid("f-"), rid("u-"), now)
		if err := s.Create(ctx, t); err != nil {
			return err
		}
		const n = 64
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners, found := 0, 0
		var errs []error
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				p, f, err := s.Use(ctx, t.ID, now)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if f {
					found++
					if p.UsedAt.IsZero() {
						winners++
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if winners != 1 || found != n {
			return fmt.Errorf("%d goroutines: %d saw an unused token, %d found it; want exactly 1 and %d", n, winners, found, n)
		}
		return nil
	}},
	{"ConcurrentMixed", func(ctx context.Context, s jwt.RefreshStore) error {
		now := time.Now()
		const n = 64
		var wg sync.WaitGroup
		errc := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := tok(rid("t-"), rid("f-"), rid("u-"), now)
				if err := s.Create(ctx, t); err != nil {
					errc <- err
					return
				}
				if err := mustFound(ctx, s, t.ID, now, true); err != nil {
					errc <- err
					return
				}
				if err := s.RevokeFamily(ctx, t.FamilyID); err != nil {
					errc <- err
					return
				}
				if err := mustFound(ctx, s, t.ID, now, false); err != nil {
					errc <- err
				}
			}()
		}
		wg.Wait()
		close(errc)
		var errs []error
		for err := range errc {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}},
}

var nbCases = []nbCase{
	{"Missing", func(ctx context.Context, s jwt.NotBeforeStore) error {
		_, found, err := s.NotBefore(ctx, rid("u-"))
		if err != nil || found {
			return fmt.Errorf("found=%v err=%v, want false, nil", found, err)
		}
		return nil
	}},
	{"RoundTrip", func(ctx context.Context, s jwt.NotBeforeStore) error {
		u, at := rid("u-"), time.Now()
		if err := s.SetNotBefore(ctx, u, at); err != nil {
			return err
		}
		got, found, err := s.NotBefore(ctx, u)
		if err != nil || !found || !near(got, at) {
			return fmt.Errorf("got %v found=%v err=%v, want ≈%v", got, found, err, at)
		}
		return nil
	}},
	{"LaterWins", func(ctx context.Context, s jwt.NotBeforeStore) error {
		u, at := rid("u-"), time.Now()
		if err := s.SetNotBefore(ctx, u, at); err != nil {
			return err
		}
		if err := s.SetNotBefore(ctx, u, at.Add(-time.Hour)); err != nil {
			return err
		}
		got, _, err := s.NotBefore(ctx, u)
		if err != nil || !near(got, at) {
			return fmt.Errorf("earlier time overwrote later: got %v err=%v, want ≈%v", got, err, at)
		}
		if err := s.SetNotBefore(ctx, u, at.Add(time.Hour)); err != nil {
			return err
		}
		got, _, err = s.NotBefore(ctx, u)
		if err != nil || !near(got, at.Add(time.Hour)) {
			return fmt.Errorf("later time not stored: got %v err=%v", got, err)
		}
		return nil
	}},
	{"HostileIDs", func(ctx context.Context, s jwt.NotBeforeStore) error {
		at := time.Now().Truncate(time.Second)
		suffix := rid("")
		hostile := []string{"*", "%", ":", "'", `"`, `\`, "a b", "?"}
		for i, h := range hostile {
			if err := s.SetNotBefore(ctx, h+suffix, at.Add(time.Duration(i)*time.Hour)); err != nil {
				return err
			}
		}
		if _, found, err := s.NotBefore(ctx, "x"+suffix); err != nil || found {
			return fmt.Errorf("unrelated user found=%v err=%v", found, err)
		}
		for i, h := range hostile {
			got, found, err := s.NotBefore(ctx, h+suffix)
			if err != nil || !found || !near(got, at.Add(time.Duration(i)*time.Hour)) {
				return fmt.Errorf("%q: got %v found=%v err=%v (ids must be stored literally)", h, got, found, err)
			}
		}
		return nil
	}},
	{"CancelledContext", func(ctx context.Context, s jwt.NotBeforeStore) error {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		var errs []error
		if err := s.SetNotBefore(cctx, rid("u-"), time.Now()); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store SetNotBefore: err=%v, want context.Canceled", err))
		}
		if _, _, err := s.NotBefore(cctx, rid("u-")); !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store NotBefore: err=%v, want context.Canceled", err))
		}
		return errors.Join(errs...)
	}},
	{"ConcurrentLatestWins", func(ctx context.Context, s jwt.NotBeforeStore) error {
		u, base := rid("u-"), time.Now().Truncate(time.Second)
		const n = 64
		var wg sync.WaitGroup
		errc := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.SetNotBefore(ctx, u, base.Add(time.Duration(i)*time.Minute)); err != nil {
					errc <- err
				}
				if _, _, err := s.NotBefore(ctx, u); err != nil {
					errc <- err
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			return err
		}
		got, _, err := s.NotBefore(ctx, u)
		want := base.Add((n - 1) * time.Minute)
		if err != nil || !near(got, want) {
			return fmt.Errorf("after %d concurrent sets got %v err=%v, want ≈%v", n, got, err, want)
		}
		return nil
	}},
}
