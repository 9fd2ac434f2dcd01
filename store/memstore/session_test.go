package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/memstore"
)

func TestSessionsPurgeAndLazyExpiry(t *testing.T) {
	clk := memtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := memtest.New(t, clk.Now).Sessions()
	ctx := context.Background()
	rec := func(user string, ttl time.Duration) session.Record {
		now := clk.Now()
		return session.Record{UserID: user, SecretHash: []byte{1}, CreatedAt: now, LastSeen: now,
			IdleExpiry: now.Add(ttl), AbsoluteExpiry: now.Add(time.Hour)}
	}
	for id, r := range map[string]session.Record{
		"short1": rec("alice", time.Minute), "short2": rec("bob", time.Minute), "long": rec("alice", 50*time.Minute),
	} {
		if err := s.Create(ctx, id, r); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Purge(); got != 0 {
		t.Fatalf("Purge before expiry = %d, want 0", got)
	}
	clk.Add(2 * time.Minute)
	// Lazy: touching an expired record drops it.
	if _, found, err := s.Find(ctx, "short1"); found || err != nil {
		t.Fatalf("Find(expired) = %v, %v", found, err)
	}
	if got := s.Len(); got != 2 {
		t.Fatalf("Len after lazy drop = %d, want 2", got)
	}
	if got := s.Purge(); got != 1 {
		t.Fatalf("Purge = %d, want 1 (short2)", got)
	}
	if got := s.Len(); got != 1 {
		t.Fatalf("Len after Purge = %d, want 1", got)
	}
	m, err := s.ListUser(ctx, "alice")
	if err != nil || len(m) != 1 {
		t.Fatalf("ListUser(alice) = %d records, %v", len(m), err)
	}
	clk.Add(time.Hour) // past the absolute expiry of "long"
	if _, found, _ := s.Find(ctx, "long"); found {
		t.Fatal("record found past its absolute expiry")
	}
}

// TestSessionsRunPurgesOnATimer: an anonymous visitor's expired record is
// reclaimed by the sweeper the host starts, and the sweeper stops with its
// context.
func TestSessionsRunPurgesOnATimer(t *testing.T) {
	clk := memtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := memtest.New(t, clk.Now).Sessions()
	now := clk.Now()
	for i := range 100 {
		if err := s.Create(t.Context(), fmt.Sprint("anon", i), session.Record{SecretHash: []byte{1}, CreatedAt: now,
			LastSeen: now, IdleExpiry: now.Add(time.Minute), AbsoluteExpiry: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, time.Millisecond) }()
	clk.Add(2 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for s.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Len = %d long after every record expired: Run does not purge", s.Len())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel = %v, want context.Canceled", err)
	}
	if err := memstore.PurgeEvery(t.Context(), 0); err == nil {
		t.Fatal("PurgeEvery with a zero interval = nil error")
	}
}

// TestNewStartsNoGoroutine: only the host's Run or PurgeEvery purges.
func TestNewStartsNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 10 {
		_ = memtest.New(t, nil).Sessions()
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("New started %d goroutines", after-before)
	}
}

// TestSessionsRotateOntoExpiredIDLeavesNoForeignIndexEntry: a Rotate whose
// new id still holds an expired, unpurged record of another user replaces
// it without leaving the id in that user's index, so the other user's
// "your devices" page does not list the new session and their "log out
// everywhere" does not end it.
func TestSessionsRotateOntoExpiredIDLeavesNoForeignIndexEntry(t *testing.T) {
	clk := memtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := memtest.New(t, clk.Now).Sessions()
	ctx := context.Background()
	rec := func(user string, ttl time.Duration) session.Record {
		now := clk.Now()
		return session.Record{UserID: user, SecretHash: []byte{1}, CreatedAt: now, LastSeen: now,
			IdleExpiry: now.Add(ttl), AbsoluteExpiry: now.Add(time.Hour)}
	}
	if err := s.Create(ctx, "reused", rec("bob", time.Minute)); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute) // bob's record expired, not purged
	if err := s.Create(ctx, "old", rec("alice", time.Minute)); err != nil {
		t.Fatal(err)
	}
	if found, err := s.Rotate(ctx, "old", "reused", rec("alice", time.Minute)); !found || err != nil {
		t.Fatalf("Rotate = %v, %v; want true, nil", found, err)
	}
	if m, err := s.ListUser(ctx, "bob"); err != nil || len(m) != 0 {
		t.Fatalf("ListUser(bob) = %v, %v; want no records (alice's session listed as bob's)", m, err)
	}
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Find(ctx, "reused"); !found || err != nil {
		t.Fatalf("Find(alice's session) after DeleteUser(bob) = %v, %v; want found", found, err)
	}
}
