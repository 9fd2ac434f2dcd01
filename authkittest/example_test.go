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
			st, err := memstore.New(memstore.Config{})
			if err != nil {
				t.Fatal(err)
			}
			return st.Attempts()
		})
	}
}

// A host application checks its own UserStore over its own table the same
// way, with a fresh table (or schema) per case.
func ExampleRunUserStore() {
	_ = func(t *testing.T) {
		authkittest.RunUserStore(t, func(t *testing.T) authkit.UserStore {
			st, err := memstore.New(memstore.Config{}) // your store over a fresh table here
			if err != nil {
				t.Fatal(err)
			}
			return st.Users()
		})
	}
}

// One ticket store serves every purpose; its suite runs like the others.
func ExampleRunTicketStore() {
	_ = func(t *testing.T) {
		authkittest.RunTicketStore(t, func(t *testing.T) authkit.TicketStore {
			st, err := memstore.New(memstore.Config{}) // your store over a fresh table here
			if err != nil {
				t.Fatal(err)
			}
			return st.Tickets()
		})
	}
}
