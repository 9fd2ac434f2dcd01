package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/internal/testenv"
	"github.com/authkit-go/authkit/store/sqlstore"
)

func TestMain(m *testing.M) {
	storetestkit.Main(childRoles)
	// The conformance cases mostly wait (TTL cases sleep ~2.7 s of real
	// time, others wait on the database).
	storetestkit.Flags(16)
	code := m.Run()
	pg.mu.Lock()
	if pg.db != nil {
		pg.db.Close()
	}
	pg.mu.Unlock()
	os.Exit(code)
}

// pg is the one PostgreSQL pool shared by the test cases; each case gets
// its own schema on it, so cases never see each other's rows and nothing
// is ever truncated.
var pg struct {
	mu  sync.Mutex
	db  *sql.DB
	dsn string
}

// pgDSN returns the test server's DSN (skipping without one, failing under
// CI=true).
func pgDSN(t testing.TB) string {
	t.Helper()
	return testenv.Postgres(t)
}

func pgPool(t testing.TB) *sql.DB {
	t.Helper()
	dsn := pgDSN(t)
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.db == nil {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(24)
		db.SetMaxIdleConns(24)
		pg.db, pg.dsn = db, dsn
	}
	return pg.db
}

func randName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newSchema creates a fresh schema and drops it (CASCADE) when t ends.
func newSchema(t testing.TB) string {
	t.Helper()
	db := pgPool(t)
	schema := randName("sqlstore_t_")
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// newPG returns a migrated store in a fresh schema of the test server.
func newPG(t testing.TB, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	cfg.DB = pgPool(t)
	cfg.Dialect = sqlstore.Postgres
	cfg.Schema = newSchema(t)
	return migrated(t, cfg)
}

// sqlitePath returns a new database file path in t's temp dir.
func sqlitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "auth.db")
}

func openSQLite(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(8)
	t.Cleanup(func() { db.Close() })
	return db
}

// newSQLite returns a migrated store on a new database file.
func newSQLite(t testing.TB, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	cfg.DB = openSQLite(t, sqlitePath(t))
	cfg.Dialect = sqlstore.SQLite
	return migrated(t, cfg)
}

func migrated(t testing.TB, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	if cfg.Timeout == 0 {
		// The parallel cases share one pool of 24 connections, so a call
		// can queue for a connection longer than the production default;
		// Config.Timeout itself is tested in timeout_test.go.
		cfg.Timeout = 30 * time.Second
	}
	st, err := sqlstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// dialect is one backend under test: new returns an empty, isolated,
// migrated store configured with cfg.
type dialect struct {
	name string
	new  func(t testing.TB, cfg sqlstore.Config) *sqlstore.Store
}

var dialects = []dialect{
	{"SQLite", newSQLite},
	{"Postgres", newPG},
}

// forEachDialect runs f in a subtest per dialect; the PostgreSQL one skips
// when AUTHKIT_TEST_POSTGRES_DSN is unset (fails under CI=true).
func forEachDialect(t *testing.T, f func(t *testing.T, d dialect)) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			if d.name == "Postgres" {
				pgDSN(t)
			}
			f(t, d)
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// kitStores are st's accessors for the shared drivers.
func kitStores(st *sqlstore.Store) storetestkit.Stores {
	return storetestkit.Stores{Attempts: st.Attempts(), Tickets: st.Tickets(),
		Sessions: st.Sessions(), RefreshTokens: st.RefreshTokens(), NotBefore: st.NotBefore(),
		MFA: st.MFA(), TOTPReplay: st.TOTPReplay()}
}
