package memstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/store/memstore"
)

var _ authkit.AttemptStore = (*memstore.Attempts)(nil)

// TestAttemptsFixedWindow checks the window with an injected clock: it starts
// at the first Incr, later Incr calls do not extend it, and at windowEnd the
// key is absent again (the lock is temporary).
func TestAttemptsFixedWindow(t *testing.T) {
	ctx := t.Context()
	clk := memtest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	a := memtest.New(t, clk.Now).Attempts()
	start := clk.Now()
	const window = 15 * time.Minute
	for i := 1; i <= 3; i++ {
		n, end, err := a.Incr(ctx, "login:eve@example.com", window)
		if err != nil || n != i || !end.Equal(start.Add(window)) {
			t.Fatalf("Incr #%d = %d, %v, %v; want %d, %v, nil", i, n, end, err, i, start.Add(window))
		}
		clk.Add(time.Minute)
	}
	clk.Add(window - 3*time.Minute - time.Nanosecond)
	if n, _, _ := a.Count(ctx, "login:eve@example.com"); n != 3 {
		t.Fatalf("Count 1ns before windowEnd = %d, want 3", n)
	}
	clk.Add(time.Nanosecond)
	if n, end, err := a.Count(ctx, "login:eve@example.com"); n != 0 || !end.IsZero() || err != nil {
		t.Fatalf("Count at windowEnd = %d, %v, %v; want 0, zero, nil", n, end, err)
	}
	n, end, _ := a.Incr(ctx, "login:eve@example.com", window)
	if n != 1 || !end.Equal(clk.Now().Add(window)) {
		t.Fatalf("Incr after expiry = %d, %v; want 1 in a new window", n, end)
	}
}

// TestAttemptsConcurrentIncrementsAreExact: 200 concurrent failures for one account give
// exactly 200, each count seen once (atomic counter), under -race.
func TestAttemptsConcurrentIncrementsAreExact(t *testing.T) {
	a := memtest.New(t, nil).Attempts()
	const workers = 200
	seen := make([]int, workers+1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			n, _, err := a.Incr(context.Background(), "login:victim", time.Hour)
			if err != nil || n < 1 || n > workers {
				t.Errorf("Incr = %d, %v", n, err)
				return
			}
			mu.Lock()
			seen[n]++
			mu.Unlock()
		})
	}
	wg.Wait()
	for n := 1; n <= workers; n++ {
		if seen[n] != 1 {
			t.Fatalf("count %d returned %d times, want exactly once", n, seen[n])
		}
	}
	if n, _, _ := a.Count(context.Background(), "login:victim"); n != workers {
		t.Fatalf("Count = %d, want %d", n, workers)
	}
}

func TestAttemptsPurge(t *testing.T) {
	ctx := t.Context()
	clk := memtest.NewClock(time.Unix(1_700_000_000, 0))
	a := memtest.New(t, clk.Now).Attempts()
	for _, k := range []string{"a", "b", "c"} {
		if _, _, err := a.Incr(ctx, k, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := a.Incr(ctx, "d", time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	a.Purge()
	if got := a.Len(); got != 1 {
		t.Fatalf("Len after Purge = %d, want 1 (only the unexpired key)", got)
	}
	// A zero window never keeps the key.
	if n, _, _ := a.Incr(ctx, "z", 0); n != 1 || a.Len() != 1 {
		t.Fatalf("Incr with zero window = %d, Len %d; want 1, 1", n, a.Len())
	}
}
