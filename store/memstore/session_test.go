package memstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/session/sessiontest"
	"github.com/authkit-go/authkit/store/memstore"
)

func TestSessionsConformance(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store { return memstore.NewSessions(nil) })
}

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestSessionsPurgeAndLazyExpiry(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := memstore.NewSessions(clk.Now)
	ctx := context.Background()
	rec := func(user string, ttl time.Duration) session.Record {
		now := clk.Now()
		return session.Record{UserID: user, SecretHash: []byte{1}, CreatedAt: now, LastSeen: now,
			IdleExpiry: now.Add(ttl), AbsoluteExpiry: now.Add(time.Hour)}
	}
	for id, r := range map[string]session.Record{
		"short1": rec("alice", time.Minute), "short2": rec("bob", time.Minute), "long": rec("alice", 50*time.Minute),
	} {
		if err := s.Save(ctx, id, r); err != nil {
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
