package authkittest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/suite"
)

var ticketCases = suite.Suite[authkit.TicketStore]{Name: "authkittest", Cases: []suite.Case[authkit.TicketStore]{
	{Name: "TakeMissing", Check: tkTakeMissing},
	{Name: "RoundTripBinary", Check: tkRoundTripBinary},
	{Name: "KeepsOwnCopy", Check: tkKeepsOwnCopy},
	{Name: "PurposesAreNamespaces", Check: tkPurposes},
	{Name: "PutReplaces", Check: tkPutReplaces},
	{Name: "SingleUse", Check: tkSingleUse},
	{Name: "ExpiredIsMissing", Check: tkExpiredIsMissing},
	{Name: "ExpiredPutReplaces", Check: tkExpiredPutReplaces},
	{Name: "OpaqueKeys", Check: tkOpaqueKeys},
	{Name: "CancelledContext", Check: tkCancelled},
	{Name: "ConcurrentKeys", Check: tkConcurrentKeys},
	{Name: "AtomicTake", Check: tkAtomicTake},
	{Name: "FarFutureExpiry", Check: tkFarFuture},
	{Name: "TakeRacesPut", Check: tkTakeRacesPut},
}}

// RunTicketStore runs the [authkit.TicketStore] conformance cases, each in
// its own parallel subtest. newStore is called once per case and returns
// an empty, isolated store (for a server-backed store: a fresh random key
// prefix or table per call); it registers its cleanup with t.Cleanup.
//
// Contract checked: Take of a missing, already taken or expired record
// returns found=false and a nil error; Put then Take returns the data byte
// for byte (empty, binary and 64 KiB records included) and the store keeps
// its own copy; the same key under two purposes holds two records, and no
// join of purpose and key can make two pairs meet; Put replaces, also with
// an already expired record (the old one is then gone); Take is atomic (of
// 64 concurrent Takes of one record exactly one wins); a Take racing a
// replacing Put gets the old record (the new one stays) or the new one,
// never nothing; an expiry past the year 2262 (beyond Unix nanoseconds)
// still lies in the future; keys and purposes
// are opaque (':', '{', '}', '%', '*', '?', quotes, backslashes, spaces,
// unicode); a cancelled context yields an error satisfying
// errors.Is(err, context.Canceled) and changes nothing. Expiry is checked
// with expiries already in the past by the real clock, so the suite never
// waits; a store with its own clock or TTLs checks the passing of time in
// its own tests.
func RunTicketStore(t *testing.T, newStore func(t *testing.T) authkit.TicketStore) {
	t.Helper()
	ticketCases.Run(t, newStore)
}

// TestTicketStore runs the same cases concurrently without subtests and
// returns errors.Join of the failures, each prefixed with its case name.
func TestTicketStore(newStore func() (authkit.TicketStore, error)) error {
	return ticketCases.Test(newStore)
}

// tkPurpose is the purpose of the cases that use only one.
const tkPurpose = "authkittest"

func tkPut(ctx context.Context, s authkit.TicketStore, purpose, key string, data []byte, ttl time.Duration) error {
	if err := s.Put(ctx, purpose, key, data, time.Now().Add(ttl)); err != nil {
		return fmt.Errorf("got: Put(%q, %q): %w; want nil", purpose, key, err)
	}
	return nil
}

// tkExpect takes (purpose, key) and checks the outcome: want nil means
// "not found".
func tkExpect(ctx context.Context, s authkit.TicketStore, purpose, key string, want []byte) error {
	got, found, err := s.Take(ctx, purpose, key)
	if err != nil {
		return fmt.Errorf("got: Take(%q, %q) error %w; want nil", purpose, key, err)
	}
	if want == nil {
		if found {
			return fmt.Errorf("got: Take(%q, %q) found %.40q; want not found", purpose, key, got)
		}
		return nil
	}
	if !found {
		return fmt.Errorf("got: Take(%q, %q) not found; want %.40q", purpose, key, want)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("got: Take(%q, %q) = %d bytes %.40q; want %d bytes %.40q", purpose, key, len(got), got, len(want), want)
	}
	return nil
}

func tkTakeMissing(ctx context.Context, s authkit.TicketStore) error {
	return tkExpect(ctx, s, tkPurpose, "never-put", nil)
}

func tkRoundTripBinary(ctx context.Context, s authkit.TicketStore) error {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	records := map[string][]byte{
		"empty":   {},
		"nul":     {0},
		"bytes":   all,
		"invalid": []byte("\xff\xfe{\"json\":1}\x00\r\n'\"%*\u2028"),
		"64KiB":   big,
	}
	for k, data := range records {
		if err := tkPut(ctx, s, tkPurpose, k, data, time.Hour); err != nil {
			return err
		}
	}
	for k, data := range records {
		if err := tkExpect(ctx, s, tkPurpose, k, data); err != nil {
			return err
		}
	}
	return nil
}

func tkKeepsOwnCopy(ctx context.Context, s authkit.TicketStore) error {
	data := []byte("original")
	if err := tkPut(ctx, s, tkPurpose, "copy", data, time.Hour); err != nil {
		return err
	}
	copy(data, "CHANGED!") // the caller reuses its buffer
	return tkExpect(ctx, s, tkPurpose, "copy", []byte("original"))
}

func tkPurposes(ctx context.Context, s authkit.TicketStore) error {
	// The same key under two purposes, and pairs whose naive joins collide
	// ("a:b" + "c" and "a" + "b:c").
	puts := []struct{ purpose, key, data string }{
		{authkit.PurposePasswordReset, "k", "reset"},
		{authkit.PurposeVerifyEmail, "k", "verify"},
		{"a:b", "c", "a:b|c"},
		{"a", "b:c", "a|b:c"},
		{"a", "", "a|"},
		{"", "a", "|a"},
	}
	for _, p := range puts {
		if err := tkPut(ctx, s, p.purpose, p.key, []byte(p.data), time.Hour); err != nil {
			return err
		}
	}
	if err := tkExpect(ctx, s, "oauth_state", "k", nil); err != nil {
		return fmt.Errorf("%w (a purpose never put must hold nothing)", err)
	}
	for _, p := range puts {
		if err := tkExpect(ctx, s, p.purpose, p.key, []byte(p.data)); err != nil {
			return fmt.Errorf("%w (each (purpose, key) pair is its own record)", err)
		}
	}
	return nil
}

func tkPutReplaces(ctx context.Context, s authkit.TicketStore) error {
	if err := tkPut(ctx, s, tkPurpose, "ow", []byte("old, and longer than the new one"), time.Hour); err != nil {
		return err
	}
	if err := tkPut(ctx, s, tkPurpose, "ow", []byte("new"), 2*time.Hour); err != nil {
		return err
	}
	if err := tkExpect(ctx, s, tkPurpose, "ow", []byte("new")); err != nil {
		return err
	}
	return tkExpect(ctx, s, tkPurpose, "ow", nil)
}

func tkSingleUse(ctx context.Context, s authkit.TicketStore) error {
	if err := tkPut(ctx, s, tkPurpose, "once", []byte("x"), time.Hour); err != nil {
		return err
	}
	if err := tkExpect(ctx, s, tkPurpose, "once", []byte("x")); err != nil {
		return err
	}
	for range 2 {
		if err := tkExpect(ctx, s, tkPurpose, "once", nil); err != nil {
			return fmt.Errorf("%w (single use)", err)
		}
	}
	return nil
}

func tkExpiredIsMissing(ctx context.Context, s authkit.TicketStore) error {
	for _, ttl := range []time.Duration{-2 * time.Second, -time.Hour, -30 * 24 * time.Hour} {
		k := fmt.Sprint("past", ttl)
		if err := tkPut(ctx, s, tkPurpose, k, []byte("x"), ttl); err != nil {
			return fmt.Errorf("%w (a past expiry is not an error: the record is simply never found)", err)
		}
		if err := tkExpect(ctx, s, tkPurpose, k, nil); err != nil {
			return fmt.Errorf("%w (expired %v ago)", err, -ttl)
		}
	}
	return nil
}

func tkExpiredPutReplaces(ctx context.Context, s authkit.TicketStore) error {
	if err := tkPut(ctx, s, tkPurpose, "gone", []byte("live"), time.Hour); err != nil {
		return err
	}
	if err := tkPut(ctx, s, tkPurpose, "gone", []byte("dead"), -time.Minute); err != nil {
		return err
	}
	if err := tkExpect(ctx, s, tkPurpose, "gone", nil); err != nil {
		return fmt.Errorf("%w (Put with a past expiry replaces the live record)", err)
	}
	return nil
}

// tkOddStrings are keys and purposes that mean something to Redis (hash
// tags, glob patterns, the ':' separator), SQL (LIKE wildcards, quotes) or
// a naive encoder.
var tkOddStrings = []string{
	"*", "%", "_", "?", "[a]", ":", "a:*", "{", "}", "{tag}", "}{", "'", `"`, `\`, "a b", "%%",
	"x'; DROP TABLE tickets; --", "é", "e\u0301", "日本", "\u2028", "\U0001F511",
}

func tkOpaqueKeys(ctx context.Context, s authkit.TicketStore) error {
	for i, k := range tkOddStrings {
		if err := tkPut(ctx, s, tkPurpose, k, []byte(fmt.Sprint("key-", i)), time.Hour); err != nil {
			return err
		}
		if err := tkPut(ctx, s, k, "k", []byte(fmt.Sprint("purpose-", i)), time.Hour); err != nil {
			return err
		}
	}
	// A pattern-like key taken first must give only its own record.
	for i, k := range tkOddStrings {
		if err := tkExpect(ctx, s, tkPurpose, k, []byte(fmt.Sprint("key-", i))); err != nil {
			return fmt.Errorf("%w (keys are literal)", err)
		}
		if err := tkExpect(ctx, s, k, "k", []byte(fmt.Sprint("purpose-", i))); err != nil {
			return fmt.Errorf("%w (purposes are literal)", err)
		}
	}
	return nil
}

func tkCancelled(ctx context.Context, s authkit.TicketStore) error {
	if err := tkPut(ctx, s, tkPurpose, "kept", []byte("x"), time.Hour); err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cctx, tkPurpose, "new", []byte("y"), time.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("got: Put with a cancelled ctx = %v; want errors.Is(err, context.Canceled)", err)
	}
	if _, _, err := s.Take(cctx, tkPurpose, "kept"); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("got: Take with a cancelled ctx = %v; want errors.Is(err, context.Canceled)", err)
	}
	if err := tkExpect(ctx, s, tkPurpose, "new", nil); err != nil {
		return fmt.Errorf("%w (a cancelled Put stores nothing)", err)
	}
	if err := tkExpect(ctx, s, tkPurpose, "kept", []byte("x")); err != nil {
		return fmt.Errorf("%w (a cancelled Take removes nothing)", err)
	}
	return nil
}

func tkConcurrentKeys(ctx context.Context, s authkit.TicketStore) error {
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, data := fmt.Sprint("conc-", i), []byte(fmt.Sprint("data-", i))
			if errs[i] = tkPut(ctx, s, tkPurpose, k, data, time.Hour); errs[i] == nil {
				errs[i] = tkExpect(ctx, s, tkPurpose, k, data)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func tkAtomicTake(ctx context.Context, s authkit.TicketStore) error {
	const n = 64
	if err := tkPut(ctx, s, tkPurpose, "race", []byte("prize"), time.Hour); err != nil {
		return err
	}
	var wins atomic.Int32
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			data, found, err := s.Take(ctx, tkPurpose, "race")
			switch {
			case err != nil:
				errs[i] = err
			case found && string(data) != "prize":
				errs[i] = fmt.Errorf("got: Take = %q; want \"prize\"", data)
			case found:
				wins.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if w := wins.Load(); w != 1 {
		return fmt.Errorf("got: %d of %d concurrent Takes found the record; want exactly 1 (Take must be atomic)", w, n)
	}
	return nil
}

func tkFarFuture(ctx context.Context, s authkit.TicketStore) error {
	// Past what Unix nanoseconds (year 2262) or a millisecond TTL can hold.
	for i, exp := range []time.Time{time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)} {
		k := fmt.Sprint("far-", i)
		if err := s.Put(ctx, tkPurpose, k, []byte("x"), exp); err != nil {
			return fmt.Errorf("got: Put with expiry %v: %w; want nil", exp, err)
		}
		if err := tkExpect(ctx, s, tkPurpose, k, []byte("x")); err != nil {
			return fmt.Errorf("%w (expiry %v is in the future)", err, exp)
		}
	}
	return nil
}

// tkTakeRacesPut races a Take with a Put replacing the record: the Take
// gets the old record (and the new one stays) or the new one (and nothing
// stays), never neither and never both.
func tkTakeRacesPut(ctx context.Context, s authkit.TicketStore) error {
	for r := range 32 {
		k := fmt.Sprint("swap-", r)
		if err := tkPut(ctx, s, tkPurpose, k, []byte("old"), time.Hour); err != nil {
			return err
		}
		var got []byte
		var found bool
		var terr, perr error
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; got, found, terr = s.Take(ctx, tkPurpose, k) })
		wg.Go(func() { <-start; perr = tkPut(ctx, s, tkPurpose, k, []byte("new"), time.Hour) })
		close(start)
		wg.Wait()
		if err := errors.Join(terr, perr); err != nil {
			return err
		}
		var rest []byte
		switch {
		case !found:
			return fmt.Errorf("got: Take racing a replacing Put found nothing (round %d); want the old or the new record", r)
		case string(got) == "old":
			rest = []byte("new")
		case string(got) != "new":
			return fmt.Errorf("got: Take racing a replacing Put = %q; want \"old\" or \"new\"", got)
		}
		if err := tkExpect(ctx, s, tkPurpose, k, rest); err != nil {
			return fmt.Errorf("%w (after Take got %q, round %d)", err, got, r)
		}
	}
	return nil
}
