package main

import (
	"path/filepath"
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/internal/testenv"
)

// The example's own user table (what examples/README.md shows a host
// writing) passes the UserStore conformance suite on SQLite and
// PostgreSQL, the MFAEnabled and concurrent-update cases included: each
// case gets a table of its own (a new SQLite file, a new PostgreSQL
// database).
func TestSQLAccountsPassUserStoreSuite(t *testing.T) {
	open := func(t *testing.T, kind, dsn string) authkit.UserStore {
		t.Helper()
		st, err := openSQLAccounts(t.Context(), kind, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	t.Run("sqlite", func(t *testing.T) {
		authkittest.RunUserStore(t, func(t *testing.T) authkit.UserStore {
			return open(t, "sqlite", filepath.Join(t.TempDir(), "users.db"))
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.Postgres(t)
		authkittest.RunUserStore(t, func(t *testing.T) authkit.UserStore {
			return open(t, "postgres", freshPostgresDB(t, dsn))
		})
	})
}
