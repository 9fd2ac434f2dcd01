package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
)

func TestTicketsExpireByInjectedClockAndPurge(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := memtest.New(t, func() time.Time { return now }).Tickets()
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if err := s.Put(ctx, authkit.PurposePasswordReset, k, []byte(k), now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, authkit.PurposePasswordReset, "c", []byte("c"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	now = now.Add(time.Minute) // the expiry is exclusive: at it the ticket is dead
	if _, found, err := s.Take(ctx, authkit.PurposePasswordReset, "a"); err != nil || found {
		t.Fatalf("Take at expiry = found %v, err %v; want not found", found, err)
	}
	if n := s.Purge(); n != 1 {
		t.Fatalf("Purge = %d, want 1 (b)", n)
	}
	if n := s.Len(); n != 1 {
		t.Fatalf("Len after purge = %d, want 1 (c)", n)
	}
	if data, found, err := s.Take(ctx, authkit.PurposePasswordReset, "c"); err != nil || !found || string(data) != "c" {
		t.Fatalf("Take(c) = %q, %v, %v; want \"c\", found", data, found, err)
	}
}

func TestTicketsPutInThePastRemovesTheRecord(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := memtest.New(t, func() time.Time { return now }).Tickets()
	ctx := context.Background()
	if err := s.Put(ctx, "p", "k", []byte("live"), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "p", "k", []byte("dead"), now); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 0 {
		t.Fatalf("Len = %d after replacing with an expired record, want 0", n)
	}
}
