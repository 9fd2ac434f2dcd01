package sqlstore_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// countRows returns the number of rows in one of st's tables.
func countRows(t testing.TB, st *sqlstore.Store, table string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+st.Table(table)).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// checkVersion asserts that st reports every shipped migration applied,
// each recorded once (versions are numbered 1..latest).
func checkVersion(t testing.TB, st *sqlstore.Store) {
	t.Helper()
	applied, latest, err := st.Version(context.Background())
	if err != nil || latest < 1 || applied != latest {
		t.Fatalf("Version = %d, %d, %v; want applied == latest >= 1", applied, latest, err)
	}
	if n := countRows(t, st, "schema_migrations"); n != int(latest) {
		t.Fatalf("schema_migrations has %d rows; want %d", n, latest)
	}
}

func TestMigrate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		t.Run("VersionBeforeMigrate", func(t *testing.T) {
			t.Parallel()
			st := unmigrated(t, d)
			applied, latest, err := st.Version(t.Context())
			if err != nil || applied != 0 || latest < 1 {
				t.Fatalf("Version before Migrate = %d, %d, %v; want 0, >=1, nil", applied, latest, err)
			}
			must(t, st.Migrate(t.Context()))
			checkVersion(t, st)
		})
		t.Run("Idempotent", func(t *testing.T) {
			t.Parallel()
			st := d.new(t, sqlstore.Config{})
			ctx := t.Context()
			must(t, st.Sessions().Create(ctx, "kept", liveRecord("u1")))
			var appliedAt int64
			must(t, st.DB().QueryRowContext(ctx, "SELECT applied_at FROM "+st.Table("schema_migrations")+" WHERE version = 1").Scan(&appliedAt))
			for range 2 {
				must(t, st.Migrate(ctx))
			}
			checkVersion(t, st)
			var again int64
			must(t, st.DB().QueryRowContext(ctx, "SELECT applied_at FROM "+st.Table("schema_migrations")+" WHERE version = 1").Scan(&again))
			if again != appliedAt {
				t.Errorf("migration 1 re-recorded: applied_at %d, then %d", appliedAt, again)
			}
			if _, found, err := st.Sessions().Find(ctx, "kept"); !found || err != nil {
				t.Errorf("a row written before the second Migrate: found=%v err=%v", found, err)
			}
		})
		t.Run("Concurrent", func(t *testing.T) {
			t.Parallel()
			// Several pools (as several processes would have) migrate one
			// empty database at once; on PostgreSQL the schema does not
			// exist yet either.
			const pools = 6
			stores := make([]*sqlstore.Store, pools)
			switch d.name {
			case "SQLite":
				path := sqlitePath(t)
				for i := range stores {
					stores[i] = newStore(t, sqlstore.Config{DB: openSQLite(t, path), Dialect: sqlstore.SQLite})
				}
			default:
				schema := randName("sqlstore_t_")
				dropSchemaLater(t, schema)
				for i := range stores {
					stores[i] = newStore(t, sqlstore.Config{DB: ownPGPool(t, ""), Dialect: sqlstore.Postgres, Schema: schema})
				}
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, st := range stores {
				wg.Go(func() {
					<-start
					if err := st.Migrate(t.Context()); err != nil {
						t.Errorf("pool %d: Migrate: %v", i, err)
					}
				})
			}
			close(start)
			wg.Wait()
			for _, st := range stores {
				checkVersion(t, st)
			}
			must(t, stores[0].Users().CreateUser(t.Context(), authkit.User{ID: "u1", Email: "a@example.com"}))
			if n, err := stores[pools-1].Users().Len(t.Context()); err != nil || n != 1 {
				t.Errorf("Len through another pool = %d, %v; want 1", n, err)
			}
		})
		t.Run("PrefixIsolation", func(t *testing.T) {
			t.Parallel()
			// Two prefixes in one database (on PostgreSQL, in one schema).
			var a, b *sqlstore.Store
			if d.name == "SQLite" {
				db := openSQLite(t, sqlitePath(t))
				a = migrated(t, sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: "app_a_"})
				b = migrated(t, sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: "-"})
				if got := b.Table("users"); got != "users" {
					t.Errorf(`TablePrefix "-": Table("users") = %q`, got)
				}
			} else {
				schema := newSchema(t)
				a = migrated(t, sqlstore.Config{DB: pgPool(t), Dialect: sqlstore.Postgres, Schema: schema, TablePrefix: "app_a_"})
				b = migrated(t, sqlstore.Config{DB: pgPool(t), Dialect: sqlstore.Postgres, Schema: schema, TablePrefix: "-"})
				if got, want := b.Table("users"), schema+".users"; got != want {
					t.Errorf(`TablePrefix "-": Table("users") = %q, want %q`, got, want)
				}
			}
			checkIsolated(t, a, b)
		})
		t.Run("SchemaIsolation", func(t *testing.T) {
			t.Parallel()
			if d.name == "SQLite" {
				t.Skip("Schema is PostgreSQL only; SQLite isolates by file or TablePrefix")
			}
			// Same prefix, two schemas, one pool.
			a := migrated(t, sqlstore.Config{DB: pgPool(t), Dialect: sqlstore.Postgres, Schema: newSchema(t)})
			b := migrated(t, sqlstore.Config{DB: pgPool(t), Dialect: sqlstore.Postgres, Schema: newSchema(t)})
			checkIsolated(t, a, b)
		})
		t.Run("SearchPath", func(t *testing.T) {
			t.Parallel()
			if d.name == "SQLite" {
				t.Skip("PostgreSQL only")
			}
			// Without Config.Schema, names resolve through the connection's
			// search_path, for Migrate, Version and every statement.
			schema := newSchema(t)
			st := newStore(t, sqlstore.Config{DB: ownPGPool(t, schema), Dialect: sqlstore.Postgres})
			if applied, _, err := st.Version(t.Context()); err != nil || applied != 0 {
				t.Fatalf("Version before Migrate = %d, %v", applied, err)
			}
			must(t, st.Migrate(t.Context()))
			checkVersion(t, st)
			var ok bool
			must(t, pgPool(t).QueryRowContext(t.Context(), "SELECT to_regclass($1) IS NOT NULL", schema+".authkit_users").Scan(&ok))
			if !ok {
				t.Errorf("tables were not created in the search_path schema %s", schema)
			}
		})
		t.Run("SQLiteNeedsBusyTimeout", func(t *testing.T) {
			t.Parallel()
			if d.name != "SQLite" {
				t.Skip("SQLite only")
			}
			for _, dsn := range []string{"", "?_pragma=busy_timeout(0)", "?_pragma=journal_mode(WAL)"} {
				path := sqlitePath(t)
				db, err := sql.Open("sqlite", path+dsn)
				must(t, err)
				t.Cleanup(func() { db.Close() })
				st := newStore(t, sqlstore.Config{DB: db, Dialect: sqlstore.SQLite})
				err = st.Migrate(t.Context())
				if err == nil || !strings.Contains(err.Error(), "busy_timeout") {
					t.Errorf("Migrate on %q = %v; want a busy_timeout error", dsn, err)
				}
				if applied, _, err := st.Version(t.Context()); err != nil || applied != 0 {
					t.Errorf("after the refused Migrate on %q: Version = %d, %v; want 0, nil", dsn, applied, err)
				}
			}
		})
	})
}

// checkIsolated writes through a and checks that b sees none of it.
func checkIsolated(t *testing.T, a, b *sqlstore.Store) {
	t.Helper()
	ctx := t.Context()
	if a.Table("users") == b.Table("users") {
		t.Fatalf("both stores use %s", a.Table("users"))
	}
	must(t, a.Sessions().Create(ctx, "s1", liveRecord("u1")))
	if _, found, err := a.Sessions().Find(ctx, "s1"); !found || err != nil {
		t.Fatalf("a lost its own session: found=%v err=%v", found, err)
	}
	must(t, a.Users().CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com"}))
	if _, found, err := b.Sessions().Find(ctx, "s1"); found || err != nil {
		t.Errorf("b sees a's session: found=%v err=%v", found, err)
	}
	if n, err := b.Users().Len(ctx); n != 0 || err != nil {
		t.Errorf("b.Len = %d, %v; want 0", n, err)
	}
	// The same email is free in b.
	must(t, b.Users().CreateUser(ctx, authkit.User{ID: "u2", Email: "a@example.com"}))
	if u, _, err := a.Users().UserByLogin(ctx, "a@example.com"); err != nil || u.ID != "u1" {
		t.Errorf("a's user after b's insert: %+v, %v", u, err)
	}
}

// newStore is sqlstore.New that fails the test on error.
func newStore(t testing.TB, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// unmigrated returns a store on an empty database (SQLite) or a fresh,
// not yet created, schema (PostgreSQL).
func unmigrated(t *testing.T, d dialect) *sqlstore.Store {
	t.Helper()
	if d.name == "SQLite" {
		return newStore(t, sqlstore.Config{DB: openSQLite(t, sqlitePath(t)), Dialect: sqlstore.SQLite})
	}
	schema := randName("sqlstore_t_")
	dropSchemaLater(t, schema)
	return newStore(t, sqlstore.Config{DB: pgPool(t), Dialect: sqlstore.Postgres, Schema: schema})
}

// dropSchemaLater drops schema, if it exists, when t ends.
func dropSchemaLater(t testing.TB, schema string) {
	db := pgPool(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
}

// ownPGPool opens a PostgreSQL pool of its own (closed when t ends), with
// search_path set to searchPath if it is not empty.
func ownPGPool(t testing.TB, searchPath string) *sql.DB {
	t.Helper()
	dsn := pgDSN(t)
	if searchPath != "" {
		u, err := url.Parse(dsn)
		must(t, err)
		q := u.Query()
		q.Set("search_path", searchPath)
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	db, err := sql.Open("pgx", dsn)
	must(t, err)
	db.SetMaxOpenConns(4)
	t.Cleanup(func() { db.Close() })
	return db
}

// liveRecord returns a session record of userID valid for an hour of wall
// time.
func liveRecord(userID string) session.Record {
	now := time.Now()
	return session.Record{UserID: userID, SecretHash: []byte("hash"), Data: []byte("data"), CreatedAt: now, LastSeen: now,
		IdleExpiry: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}
}
