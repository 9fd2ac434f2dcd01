package authkittest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/suite"
)

var oneTimeCases = suite.Suite[authkit.OneTimeTokenStore]{Name: "authkittest", Cases: []suite.Case[authkit.OneTimeTokenStore]{
	{Name: "TakeMissing", Check: otTakeMissing},
	{Name: "RoundTrip", Check: otRoundTrip},
	{Name: "SingleUse", Check: otSingleUse},
	{Name: "Overwrite", Check: otOverwrite},
	{Name: "ExpiredIsMissing", Check: otExpiredIsMissing},
	{Name: "ShortTTL", Check: otShortTTL},
	{Name: "KeysIndependent", Check: otKeysIndependent},
	{Name: "HostileKeys", Check: otHostileKeys},
	{Name: "BinarySafeFields", Check: otBinarySafe},
	{Name: "CancelledContext", Check: otCancelled},
	{Name: "ConcurrentSaveTake", Check: otConcurrentKeys},
	{Name: "AtomicTake", Check: otAtomicTake},
}}

// RunOneTimeTokenStore runs the [authkit.OneTimeTokenStore] conformance
// cases, each in its own parallel subtest. newStore is called once per case
// and returns an empty, isolated store (for a server-backed store: a fresh
// random key prefix or table per call); it registers its cleanup with
// t.Cleanup.
//
// Contract checked: Take of a missing, already taken or
// expired hash returns found=false and a nil error; Save then Take returns the
// record with Expiry equal within [TimeTolerance] (stores may keep whole
// seconds or microseconds) and string fields byte-for-byte; Take is atomic
// (of 64 concurrent Takes of one hash exactly one wins); Save replaces; keys
// are opaque (`*`, `%`, `:`, quotes, spaces); a cancelled context yields an
// error satisfying errors.Is(err, context.Canceled). One case (ShortTTL)
// waits about 4 s for a 3 s expiry to pass, since real servers' clocks
// cannot be injected.
func RunOneTimeTokenStore(t *testing.T, newStore func(t *testing.T) authkit.OneTimeTokenStore) {
	t.Helper()
	oneTimeCases.Run(t, newStore)
}

// TestOneTimeTokenStore runs the same cases concurrently without subtests and
// returns errors.Join of the failures, each prefixed with its case name.
func TestOneTimeTokenStore(newStore func() (authkit.OneTimeTokenStore, error)) error {
	return oneTimeCases.Test(newStore)
}

// otHash returns a realistic key: 64 lowercase hex characters, distinct per seed.
func otHash(seed string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; b.Len() < 64; i++ {
		c := seed[i%len(seed)] + byte(i)
		b.WriteByte(hex[c%16])
	}
	return seed + ":" + b.String()[len(seed)+1:]
}

func otRecord(uid string, ttl time.Duration) authkit.OneTimeToken {
	return authkit.OneTimeToken{
		Purpose: authkit.PurposePasswordReset,
		UserID:  uid,
		Email:   uid + "@example.com",
		Expiry:  time.Now().Add(ttl).Truncate(time.Second),
	}
}

func otEqual(got, want authkit.OneTimeToken) error {
	if got.Purpose != want.Purpose || got.UserID != want.UserID || got.Email != want.Email || !near(got.Expiry, want.Expiry) {
		return fmt.Errorf("got: record %+v, want %+v (Expiry within %v)", got, want, TimeTolerance)
	}
	return nil
}

func otTakeMissing(ctx context.Context, s authkit.OneTimeTokenStore) error {
	got, found, err := s.Take(ctx, otHash("missing"))
	if err != nil || found {
		return fmt.Errorf("got: Take(missing) = %+v, %v, %v; want found=false, nil error", got, found, err)
	}
	return nil
}

func otRoundTrip(ctx context.Context, s authkit.OneTimeTokenStore) error {
	for _, purpose := range []string{authkit.PurposePasswordReset, authkit.PurposeVerifyEmail} {
		h := otHash("rt" + purpose)
		want := otRecord("user-"+purpose, time.Hour)
		want.Purpose = purpose
		if err := s.Save(ctx, h, want); err != nil {
			return fmt.Errorf("got: Save: %w", err)
		}
		got, found, err := s.Take(ctx, h)
		if err != nil || !found {
			return fmt.Errorf("got: Take after Save = found %v, err %v; want found", found, err)
		}
		if err := otEqual(got, want); err != nil {
			return err
		}
	}
	return nil
}

func otSingleUse(ctx context.Context, s authkit.OneTimeTokenStore) error {
	h := otHash("single")
	if err := s.Save(ctx, h, otRecord("u1", time.Hour)); err != nil {
		return err
	}
	if _, found, err := s.Take(ctx, h); err != nil || !found {
		return fmt.Errorf("got: first Take found=%v err=%v; want found", found, err)
	}
	for i := range 2 {
		if got, found, err := s.Take(ctx, h); err != nil || found {
			return fmt.Errorf("got: Take #%d after the first = %+v, %v, %v; want found=false (single use)", i+2, got, found, err)
		}
	}
	return nil
}

func otOverwrite(ctx context.Context, s authkit.OneTimeTokenStore) error {
	h := otHash("overwrite")
	if err := s.Save(ctx, h, otRecord("first", time.Hour)); err != nil {
		return err
	}
	want := otRecord("second", 2*time.Hour)
	want.Purpose = authkit.PurposeVerifyEmail
	if err := s.Save(ctx, h, want); err != nil {
		return err
	}
	got, found, err := s.Take(ctx, h)
	if err != nil || !found {
		return fmt.Errorf("got: Take after overwrite found=%v err=%v", found, err)
	}
	return otEqual(got, want)
}

func otExpiredIsMissing(ctx context.Context, s authkit.OneTimeTokenStore) error {
	h := otHash("expired")
	rec := otRecord("u-exp", 0)
	rec.Expiry = time.Now().Add(-time.Hour)
	if err := s.Save(ctx, h, rec); err != nil {
		return fmt.Errorf("got: Save with a past expiry: %w; want nil (it must simply never be found)", err)
	}
	if got, found, err := s.Take(ctx, h); err != nil || found {
		return fmt.Errorf("got: Take(expired) = %+v, %v, %v; want found=false, nil error", got, found, err)
	}
	return nil
}

func otShortTTL(ctx context.Context, s authkit.OneTimeTokenStore) error {
	live, dead := otHash("ttl-live"), otHash("ttl-dead")
	rec := otRecord("u-ttl", 0)
	exp := time.Now().Add(3 * time.Second)
	rec.Expiry = exp
	if err := s.Save(ctx, dead, rec); err != nil {
		return err
	}
	if err := s.Save(ctx, live, rec); err != nil {
		return err
	}
	// Immediately after Save the record is there.
	if _, found, err := s.Take(ctx, live); err != nil || !found {
		return fmt.Errorf("got: Take right after Save (expiry in 3s) found=%v err=%v; want found", found, err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(exp) + time.Second): // stores may keep whole seconds
	}
	if got, found, err := s.Take(ctx, dead); err != nil || found {
		return fmt.Errorf("got: Take 1s after the expiry = %+v, %v, %v; want found=false", got, found, err)
	}
	return nil
}

func otKeysIndependent(ctx context.Context, s authkit.OneTimeTokenStore) error {
	a, b := otHash("ka"), otHash("kb")
	ra, rb := otRecord("user-a", time.Hour), otRecord("user-b", time.Hour)
	if err := s.Save(ctx, a, ra); err != nil {
		return err
	}
	if err := s.Save(ctx, b, rb); err != nil {
		return err
	}
	got, found, err := s.Take(ctx, a)
	if err != nil || !found {
		return fmt.Errorf("got: Take(a) found=%v err=%v", found, err)
	}
	if err := otEqual(got, ra); err != nil {
		return err
	}
	got, found, err = s.Take(ctx, b)
	if err != nil || !found {
		return fmt.Errorf("got: Take(b) after Take(a) found=%v err=%v; taking one key must not remove another", found, err)
	}
	return otEqual(got, rb)
}

func otHostileKeys(ctx context.Context, s authkit.OneTimeTokenStore) error {
	keys := []string{"*", "%", "_", ":", "a:*", "'", `"`, `\`, "a b", "%%", "[a]", "?", "x'; DROP TABLE t; --"}
	for i, k := range keys {
		if err := s.Save(ctx, k, otRecord(fmt.Sprintf("hostile-%d", i), time.Hour)); err != nil {
			return fmt.Errorf("got: Save(%q): %w", k, err)
		}
	}
	// A pattern-like key must not match others: "*" taken first must give only its own record.
	for i, k := range keys {
		got, found, err := s.Take(ctx, k)
		if err != nil || !found {
			return fmt.Errorf("got: Take(%q) found=%v err=%v; want found", k, found, err)
		}
		if want := fmt.Sprintf("hostile-%d", i); got.UserID != want {
			return fmt.Errorf("got: Take(%q) returned UserID %q, want %q (keys must be literal)", k, got.UserID, want)
		}
	}
	return nil
}

func otBinarySafe(ctx context.Context, s authkit.OneTimeTokenStore) error {
	h := otHash("binary")
	want := authkit.OneTimeToken{
		Purpose: authkit.PurposeVerifyEmail,
		UserID:  "ü-\u2028-'\"%*-\x01",
		Email:   "Ünïcødé+tag@exämple.com",
		Expiry:  time.Now().Add(time.Hour).Truncate(time.Second),
	}
	if err := s.Save(ctx, h, want); err != nil {
		return err
	}
	got, found, err := s.Take(ctx, h)
	if err != nil || !found {
		return fmt.Errorf("got: Take found=%v err=%v", found, err)
	}
	return otEqual(got, want)
}

func otCancelled(ctx context.Context, s authkit.OneTimeTokenStore) error {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	h := otHash("cancel")
	if err := s.Save(cctx, h, otRecord("u", time.Hour)); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("got: Save with cancelled ctx = %v; want errors.Is(err, context.Canceled)", err)
	}
	if _, _, err := s.Take(cctx, h); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("got: Take with cancelled ctx = %v; want errors.Is(err, context.Canceled)", err)
	}
	return nil
}

func otConcurrentKeys(ctx context.Context, s authkit.OneTimeTokenStore) error {
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			h := otHash(fmt.Sprintf("conc%d", i))
			want := otRecord(fmt.Sprintf("user-%d", i), time.Hour)
			if err := s.Save(ctx, h, want); err != nil {
				errs[i] = err
				return
			}
			got, found, err := s.Take(ctx, h)
			if err != nil || !found {
				errs[i] = fmt.Errorf("goroutine %d: Take found=%v err=%v", i, found, err)
				return
			}
			errs[i] = otEqual(got, want)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func otAtomicTake(ctx context.Context, s authkit.OneTimeTokenStore) error {
	const n = 64
	h := otHash("atomic")
	if err := s.Save(ctx, h, otRecord("u-atomic", time.Hour)); err != nil {
		return err
	}
	var wins atomic.Int32
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, found, err := s.Take(ctx, h)
			if err != nil {
				errs[i] = err
				return
			}
			if found {
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
		return fmt.Errorf("got: %d of %d concurrent Takes found the token; want exactly 1 (Take must be atomic)", w, n)
	}
	return nil
}
