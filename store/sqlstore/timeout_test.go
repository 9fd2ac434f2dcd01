package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// TestBlackholedDatabaseAnswersWithinTimeout: with a PostgreSQL address
// that accepts connections and never answers, every method of every
// adapter (Migrate and Purge excepted) returns an error within about
// Config.Timeout although the caller's context has no deadline. Only a
// generous upper bound is checked.
func TestBlackholedDatabaseAnswersWithinTimeout(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", "postgres://authkit@"+storetestkit.Blackhole(t)+"/authkit?sslmode=disable")
	must(t, err)
	t.Cleanup(func() { db.Close() }) // after the parallel subtests
	const timeout = 300 * time.Millisecond
	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Timeout: timeout})
	must(t, err)
	calls := storetestkit.Calls(kitStores(st), "t", "t2")
	calls["Users.UserByLogin"] = func(ctx context.Context) error {
		_, _, err := st.Users().UserByLogin(ctx, "a@example.com")
		return err
	}
	calls["Users.UserByID"] = func(ctx context.Context) error { _, _, err := st.Users().UserByID(ctx, "u"); return err }
	calls["Users.CreateUser"] = func(ctx context.Context) error {
		return st.Users().CreateUser(ctx, authkit.User{ID: "u", Email: "a@example.com"})
	}
	calls["Users.SetPasswordHash"] = func(ctx context.Context) error { return st.Users().SetPasswordHash(ctx, "u", "h") }
	calls["Users.UpdateUser"] = func(ctx context.Context) error {
		return st.Users().UpdateUser(ctx, "u", func(*authkit.User) {})
	}
	calls["Users.Len"] = func(ctx context.Context) error { _, err := st.Users().Len(ctx); return err }
	calls["Version"] = func(ctx context.Context) error { _, _, err := st.Version(ctx); return err }
	storetestkit.CheckBounded(t, calls, timeout, nil)
}
