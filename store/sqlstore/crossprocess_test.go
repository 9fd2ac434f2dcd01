package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// The cross-process tests re-execute the test binary; TestMain hands a
// child to the body its role names (storetestkit.Main).
var childRoles = map[string]func(args []byte) int{
	"race":    storetestkit.Child(openChild, raceChild),
	"revoke":  storetestkit.Child(openChild, revokeChild),
	"rotate":  storetestkit.Child(openChild, rotateChild),
	"migrate": storetestkit.Child(openChild, migrateChild),
	"passkey": storetestkit.Child(openChild, passkeyChild),
}

// childArgs tell a child which database to open.
type childArgs struct {
	Dialect string // "sqlite" or "postgres"
	DSN     string // the SQLite file or the PostgreSQL DSN
	Schema  string
}

// childStore returns a migrated store of dialect d and the arguments a
// child needs to open it.
func childStore(t *testing.T, d dialect) (*sqlstore.Store, childArgs) {
	if d.name == "SQLite" {
		path := sqlitePath(t)
		return migrated(t, sqlstore.Config{DB: openSQLite(t, path), Dialect: sqlstore.SQLite}), childArgs{Dialect: "sqlite", DSN: path}
	}
	st := newPG(t, sqlstore.Config{})
	return st, childArgs{Dialect: "postgres", DSN: pgDSN(t), Schema: st.Table("")[:strings.Index(st.Table(""), ".")]}
}

// openChild opens a child's own pool and store and connects it.
func openChild(a childArgs) (*sqlstore.Store, func(), error) {
	// Generous: the children connect and race on a loaded test machine;
	// Config.Timeout itself is tested in timeout_test.go.
	cfg := sqlstore.Config{Schema: a.Schema, Dialect: sqlstore.Postgres, Timeout: 30 * time.Second}
	driver, dsn := "pgx", a.DSN
	if a.Dialect == "sqlite" {
		cfg.Dialect, driver, dsn = sqlstore.SQLite, "sqlite", sqlstore.SQLiteDSN(a.DSN)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, nil, err
	}
	cfg.DB = db
	st, err := sqlstore.New(cfg)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return st, func() { db.Close() }, db.PingContext(context.Background()) // connect before the race
}

// crossRace is the race of TestCrossProcess.
var crossRace = storetestkit.RaceConfig{Rounds: 20, Goroutines: 4, Slot: 40 * time.Millisecond,
	Token: func(i int) string { return fmt.Sprintf("cross-token-%d", i) }, Next: rand.Text}

func raceStores(st *sqlstore.Store) storetestkit.RaceStores {
	return storetestkit.RaceStores{Refresh: st.RefreshTokens(), TOTP: st.TOTPReplay(), MFA: st.MFA(), Tickets: st.Tickets()}
}

// TestCrossProcess races two OS processes, each with its own pool and
// several goroutines, on the same refresh tokens, TOTP steps, backup codes
// and MFA enrollment versions (storetestkit.CrossProcess): exactly one
// caller in all wins each.
func TestCrossProcess(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		st, args := childStore(t, d)
		storetestkit.CrossProcess(t, raceStores(st), crossRace, 2, "race", args)
	})
}

func raceChild(st *sqlstore.Store, _ int) int {
	return storetestkit.RaceChild(raceStores(st), crossRace)
}

// TestMigrateCrossProcess starts several processes that each run Migrate
// at the same instant on one empty database (on PostgreSQL, a schema that
// does not exist yet): all succeed and every migration is applied once.
func TestMigrateCrossProcess(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		var st *sqlstore.Store
		var args childArgs
		if d.name == "SQLite" {
			path := sqlitePath(t)
			st = newStore(t, sqlstore.Config{DB: openSQLite(t, path), Dialect: sqlstore.SQLite})
			args = childArgs{Dialect: "sqlite", DSN: path}
		} else {
			schema := randName("sqlstore_t_")
			dropSchemaLater(t, schema)
			st = newStore(t, sqlstore.Config{DB: pgPool(t), Dialect: sqlstore.Postgres, Schema: schema})
			args = childArgs{Dialect: "postgres", DSN: pgDSN(t), Schema: schema}
		}
		g := storetestkit.Start(t, 3, "migrate", args)
		g.Go(time.Now().Add(50 * time.Millisecond))
		for i, o := range g.Outputs() {
			if o.Err != nil || string(o.Out) != "migrated\n" {
				t.Errorf("child %d: %v, output %q", i, o.Err, o.Out)
			}
		}
		checkVersion(t, st)
	})
}

// migrateChild runs Migrate at the start instant and prints "migrated".
func migrateChild(st *sqlstore.Store, _ int) int {
	start, err := storetestkit.Ready()
	if err != nil {
		return storetestkit.Fail(err)
	}
	time.Sleep(time.Until(start))
	if err := st.Migrate(context.Background()); err != nil {
		storetestkit.Fail(err)
		return 1
	}
	fmt.Println("migrated")
	return 0
}

func mustCreate(t testing.TB, s jwt.RefreshStore, rec jwt.RefreshToken) {
	t.Helper()
	if ok, err := s.Create(t.Context(), rec); err != nil || !ok {
		t.Fatalf("refresh Create: created=%v err=%v", ok, err)
	}
}
