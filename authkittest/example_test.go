package authkittest_test

import (
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/store/memstore"
)

// A store adapter's test file runs the suite against a fresh, isolated store
// per case (for a server-backed store: a unique key prefix or table).
func ExampleRunAttemptStore() {
	_ = func(t *testing.T) {
		authkittest.RunAttemptStore(t, func(t *testing.T) authkit.AttemptStore {
			return memstore.NewAttempts(memstore.AttemptsConfig{})
		})
	}
}
