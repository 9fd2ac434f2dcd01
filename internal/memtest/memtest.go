// Package memtest gives the module's tests an in-memory [memstore.Store]
// in one call.
package memtest

import (
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/store/memstore"
)

// New returns a new, empty [memstore.Store] on the clock now (nil means
// time.Now), failing t if it cannot be built.
func New(t testing.TB, now func() time.Time) *memstore.Store {
	t.Helper()
	st, err := memstore.New(memstore.Config{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Clock is a settable clock, safe for concurrent use, for the Now of a
// store or a manager under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock that reads t until it is moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
