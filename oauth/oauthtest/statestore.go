package oauthtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/oauth"
)

// Contract notes for implementers, checked below: Pending.Expiry may come
// back truncated to whole seconds (SQL stores) but never later than saved
// and never more than one second earlier; strings are UTF-8 text without
// NUL bytes (PostgreSQL TEXT refuses NUL) and round-trip exactly.

var stateCases = suite.Suite[oauth.StateStore]{Name: "oauthtest", Cases: []suite.Case[oauth.StateStore]{
	{Name: "take_missing", Check: caseTakeMissing},
	{Name: "round_trip", Check: caseRoundTrip},
	{Name: "take_once", Check: caseTakeOnce},
	{Name: "overwrite", Check: caseOverwrite},
	{Name: "expired_is_missing", Check: caseExpired},
	{Name: "short_ttl_honoured", Check: caseShortTTL},
	{Name: "isolation", Check: caseIsolation},
	{Name: "text_safe", Check: caseTextSafe},
	{Name: "hostile_ids", Check: caseHostileIDs},
	{Name: "cancelled_context", Check: caseCancelled},
	{Name: "concurrent", Check: caseConcurrent},
	{Name: "atomic_take", Check: caseAtomicTake},
}}

// RunStateStore checks an [oauth.StateStore] implementation against its
// documented contract, one parallel subtest per case. newStore is called
// once per case and returns an empty, isolated store; it registers its own
// cleanup with t.Cleanup. One case waits about 4 s for a real TTL.
func RunStateStore(t *testing.T, newStore func(t *testing.T) oauth.StateStore) {
	t.Helper()
	stateCases.Run(t, newStore)
}

// TestStateStore runs the same cases concurrently, without subtests, and
// returns errors.Join of the failures, each prefixed "oauthtest: <case>:".
func TestStateStore(newStore func() (oauth.StateStore, error)) error {
	return stateCases.Test(newStore)
}

func pending(tag string, expiry time.Time) oauth.Pending {
	return oauth.Pending{
		Verifier:    "verifier-" + tag + strings.Repeat("v", 30),
		Nonce:       "nonce-" + tag,
		RedirectURI: "https://app.example.com/callback",
		ReturnTo:    "/after/" + tag,
		Expiry:      expiry,
	}
}

func samePending(got, want oauth.Pending) error {
	if got.Verifier != want.Verifier || got.Nonce != want.Nonce || got.RedirectURI != want.RedirectURI || got.ReturnTo != want.ReturnTo {
		return fmt.Errorf("got %+v, want %+v", got, want)
	}
	if d := want.Expiry.Sub(got.Expiry); d < 0 || d > time.Second {
		return fmt.Errorf("expiry %v, want %v (at most 1 s earlier)", got.Expiry, want.Expiry)
	}
	return nil
}

func expectTake(ctx context.Context, s oauth.StateStore, state string, want *oauth.Pending) error {
	got, found, err := s.Take(ctx, state)
	if err != nil {
		return fmt.Errorf("Take(%q): %w", state, err)
	}
	if want == nil {
		if found {
			return fmt.Errorf("Take(%q) found %+v, want not found", state, got)
		}
		return nil
	}
	if !found {
		return fmt.Errorf("Take(%q) not found", state)
	}
	return samePending(got, *want)
}

func caseTakeMissing(ctx context.Context, s oauth.StateStore) error {
	return expectTake(ctx, s, "never-saved", nil)
}

func caseRoundTrip(ctx context.Context, s oauth.StateStore) error {
	p := pending("rt", time.Now().Add(time.Hour))
	if err := s.Save(ctx, "st-rt", p); err != nil {
		return err
	}
	return expectTake(ctx, s, "st-rt", &p)
}

func caseTakeOnce(ctx context.Context, s oauth.StateStore) error {
	p := pending("once", time.Now().Add(time.Hour))
	if err := s.Save(ctx, "st-once", p); err != nil {
		return err
	}
	if err := expectTake(ctx, s, "st-once", &p); err != nil {
		return err
	}
	if err := expectTake(ctx, s, "st-once", nil); err != nil {
		return fmt.Errorf("second take: %w", err)
	}
	return nil
}

func caseOverwrite(ctx context.Context, s oauth.StateStore) error {
	p1, p2 := pending("one", time.Now().Add(time.Hour)), pending("two", time.Now().Add(2*time.Hour))
	if err := s.Save(ctx, "st-ow", p1); err != nil {
		return err
	}
	if err := s.Save(ctx, "st-ow", p2); err != nil {
		return err
	}
	return expectTake(ctx, s, "st-ow", &p2)
}

func caseExpired(ctx context.Context, s oauth.StateStore) error {
	if err := s.Save(ctx, "st-exp", pending("exp", time.Now().Add(-time.Minute))); err != nil {
		return err
	}
	return expectTake(ctx, s, "st-exp", nil)
}

func caseShortTTL(ctx context.Context, s oauth.StateStore) error {
	exp := time.Now().Add(3 * time.Second)
	p := pending("ttl", exp)
	for _, k := range []string{"st-ttl-a", "st-ttl-b"} {
		if err := s.Save(ctx, k, p); err != nil {
			return err
		}
	}
	if err := expectTake(ctx, s, "st-ttl-a", &p); err != nil {
		return fmt.Errorf("before expiry: %w", err)
	}
	// Wait past the expiry, leaving room for stores that round to seconds.
	select {
	case <-time.After(time.Until(exp) + 1100*time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := expectTake(ctx, s, "st-ttl-b", nil); err != nil {
		return fmt.Errorf("after expiry: %w", err)
	}
	return nil
}

func caseIsolation(ctx context.Context, s oauth.StateStore) error {
	pa, pb := pending("a", time.Now().Add(time.Hour)), pending("b", time.Now().Add(time.Hour))
	if err := s.Save(ctx, "st-a", pa); err != nil {
		return err
	}
	if err := s.Save(ctx, "st-b", pb); err != nil {
		return err
	}
	if err := expectTake(ctx, s, "st-a", &pa); err != nil {
		return err
	}
	return expectTake(ctx, s, "st-b", &pb)
}

func caseTextSafe(ctx context.Context, s oauth.StateStore) error {
	p := oauth.Pending{
		Verifier:    strings.Repeat("~._-", 32),
		Nonce:       "ñ€𝄞 \"quoted\" 'single' \\back\\slash",
		RedirectURI: "https://app.example.com/cb?x=1&y=%2F",
		ReturnTo:    "/" + strings.Repeat("päth/", 200) + "?q=%25*:'\"",
		Expiry:      time.Now().Add(time.Hour),
	}
	if err := s.Save(ctx, "st-text", p); err != nil {
		return err
	}
	return expectTake(ctx, s, "st-text", &p)
}

func caseHostileIDs(ctx context.Context, s oauth.StateStore) error {
	ids := []string{"*", "%", ":", "'", `"`, "_", `\`, "st-*", "st-%", "{tag}", "a b", "ü"}
	// One expiry for all: a value rebuilt later could drift past the
	// tolerance on a loaded machine.
	exp := time.Now().Add(time.Hour)
	for i, id := range ids {
		if err := s.Save(ctx, id, pending(fmt.Sprint(i), exp)); err != nil {
			return fmt.Errorf("Save(%q): %w", id, err)
		}
	}
	if err := expectTake(ctx, s, "st-", nil); err != nil { // no prefix matching
		return err
	}
	for i, id := range ids {
		p := pending(fmt.Sprint(i), exp)
		if err := expectTake(ctx, s, id, &p); err != nil {
			return err
		}
	}
	return nil
}

func caseCancelled(_ context.Context, s oauth.StateStore) error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Save(ctx, "st-cancel", pending("c", time.Now().Add(time.Hour))); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("save with a cancelled ctx: err = %v, want context.Canceled", err)
	}
	if _, _, err := s.Take(ctx, "st-cancel"); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("take with a cancelled ctx: err = %v, want context.Canceled", err)
	}
	return nil
}

func caseConcurrent(ctx context.Context, s oauth.StateStore) error {
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("st-conc-%d", i)
			p := pending(id, time.Now().Add(time.Hour))
			if err := s.Save(ctx, id, p); err != nil {
				errs[i] = err
				return
			}
			errs[i] = expectTake(ctx, s, id, &p)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func caseAtomicTake(ctx context.Context, s oauth.StateStore) error {
	const n = 64
	p := pending("atomic", time.Now().Add(time.Hour))
	if err := s.Save(ctx, "st-atomic", p); err != nil {
		return err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	var errs []error
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, found, err := s.Take(ctx, "st-atomic")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if found {
				wins++
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if wins != 1 {
		return fmt.Errorf("%d of %d concurrent takes found the state, want exactly 1", wins, n)
	}
	return nil
}
