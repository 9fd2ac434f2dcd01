package sqlstore_test

import (
	"testing"
	"time"

	"github.com/authkit-go/authkit/store/sqlstore"
)

// TestTicketExpiresByConfigNow: with an injected clock, a ticket is found
// until its expiry and missing from it on (the expiry is exclusive), and
// the Take that finds it expired deletes the row; a Put whose expiry has
// already passed stores nothing and removes the live row it replaces.
func TestTicketExpiresByConfigNow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		clock := newClock(t0)
		st := d.new(t, sqlstore.Config{Now: clock.Now})
		tk, ctx := st.Tickets(), t.Context()
		exp := t0.Add(time.Minute)
		must(t, tk.Put(ctx, "p", "early", []byte("x"), exp))
		must(t, tk.Put(ctx, "p", "at", []byte("x"), exp))
		clock.Advance(time.Minute - time.Microsecond)
		if _, found, err := tk.Take(ctx, "p", "early"); err != nil || !found {
			t.Fatalf("Take 1µs before the expiry = found %v, err %v; want found", found, err)
		}
		clock.Advance(time.Microsecond)
		if _, found, err := tk.Take(ctx, "p", "at"); err != nil || found {
			t.Fatalf("Take at the expiry = found %v, err %v; want not found", found, err)
		}
		if n := countRows(t, st, "tickets"); n != 0 {
			t.Fatalf("%d rows after taking the expired ticket; want 0", n)
		}
		must(t, tk.Put(ctx, "p", "k", []byte("live"), clock.Now().Add(time.Hour)))
		must(t, tk.Put(ctx, "p", "k", []byte("dead"), clock.Now()))
		if n := countRows(t, st, "tickets"); n != 0 {
			t.Fatalf("%d rows after a Put with a past expiry; want 0", n)
		}
	})
}

// TestTicketExpiryRoundsUpToMicroseconds: an expiry between two
// microseconds is kept as the later one, so a ticket never expires early.
func TestTicketExpiryRoundsUpToMicroseconds(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		clock := newClock(t0)
		st := d.new(t, sqlstore.Config{Now: clock.Now})
		tk, ctx := st.Tickets(), t.Context()
		must(t, tk.Put(ctx, "p", "k", []byte("x"), t0.Add(time.Minute+500*time.Nanosecond)))
		clock.Advance(time.Minute)
		if _, found, err := tk.Take(ctx, "p", "k"); err != nil || !found {
			t.Fatalf("Take 500ns before the expiry = found %v, err %v; want found", found, err)
		}
	})
}
