// Package memtest gives the module's tests an in-memory [memstore.Store]
// in one call.
package memtest

import (
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
