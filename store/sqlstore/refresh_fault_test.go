package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// Fault tests of refresh rotation: whatever fails between or around the
// statements of a rotation, a client that did nothing wrong and presents
// its token again keeps its sign-in (no family burned, no reuse verdict),
// there is never more than one live successor, and a presentation after
// the grace window is still reuse.

// faultConnector opens connections whose statements (and commits) go
// through f: the armed one fails "before" without running it, or "after"
// once the database has run it (the reply is lost).
type faultConnector struct {
	drv  driver.Driver
	name string
	f    *storetestkit.Faults
}

func (c faultConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.name)
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: conn, f: c.f}, nil
}

func (c faultConnector) Driver() driver.Driver { return c.drv }

type faultConn struct {
	driver.Conn
	f *storetestkit.Faults
}

func (c *faultConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &faultTx{Tx: tx, f: c.f}, nil
}

func (c *faultConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	mode := c.f.Next()
	if mode == "before" {
		return nil, storetestkit.ErrInjected
	}
	res, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	if mode == "after" {
		return nil, storetestkit.ErrInjected
	}
	return res, err
}

func (c *faultConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	mode := c.f.Next()
	if mode == "before" {
		return nil, storetestkit.ErrInjected
	}
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if mode == "after" {
		if err == nil {
			rows.Close()
		}
		return nil, storetestkit.ErrInjected
	}
	return rows, err
}

type faultTx struct {
	driver.Tx
	f *storetestkit.Faults
}

func (t *faultTx) Commit() error {
	switch t.f.Next() {
	case "before":
		_ = t.Tx.Rollback()
		return storetestkit.ErrInjected
	case "after":
		_ = t.Tx.Commit()
		return storetestkit.ErrInjected
	}
	return t.Tx.Commit()
}

// faultStore returns a migrated store whose connections go through f.
func faultStore(t *testing.T, d dialect, f *storetestkit.Faults) *sqlstore.Store {
	t.Helper()
	base := d.new(t, sqlstore.Config{}) // migrated, isolated
	var name string
	var dsn sqlstore.Config
	if d.name == "Postgres" {
		name = pgDSN(t)
		dsn = sqlstore.Config{Dialect: sqlstore.Postgres, Schema: strings.TrimSuffix(base.Table(""), ".authkit_")}
	} else {
		name = sqlstore.SQLiteDSN(sqliteFile(t, base))
		dsn = sqlstore.Config{Dialect: sqlstore.SQLite}
	}
	db := sql.OpenDB(faultConnector{drv: base.DB().Driver(), name: name, f: f})
	t.Cleanup(func() { db.Close() })
	dsn.DB = db
	st, err := sqlstore.New(dsn)
	must(t, err)
	return st
}

// sqliteFile returns the file of a SQLite store's main database.
func sqliteFile(t *testing.T, st *sqlstore.Store) string {
	t.Helper()
	var seq int
	var name, file string
	must(t, st.DB().QueryRowContext(t.Context(), "PRAGMA database_list").Scan(&seq, &name, &file))
	return file
}

// TestRefreshFaultAtEveryStatement fails each statement of a rotation
// (and its commit), once before the database runs it and once after (a
// lost reply), on both dialects (storetestkit.FaultAtEveryStep).
func TestRefreshFaultAtEveryStatement(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		f := storetestkit.NewFaults()
		st := faultStore(t, d, f)
		storetestkit.FaultAtEveryStep(t, st.RefreshTokens(), f, 3, "statement")
	})
}

// TestRefreshTerminatedConnections rotates refresh tokens from several
// clients while their PostgreSQL backends are terminated
// (pg_terminate_backend) over and over; a client retries a failed
// rotation with the same token. No client is ever told its token was
// reused, and every family ends with one live successor.
func TestRefreshTerminatedConnections(t *testing.T) {
	t.Parallel()
	base := newPG(t, sqlstore.Config{})
	app := randName("authkit_kill_")
	u, err := url.Parse(pgDSN(t))
	must(t, err)
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	must(t, err)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(8)
	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: strings.TrimSuffix(base.Table(""), ".authkit_")})
	must(t, err)
	m, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st.RefreshTokens(), GraceWindow: jwt.MaxGraceWindow})
	must(t, err)
	ctx := t.Context()

	stop := make(chan struct{})
	var killed atomic.Int64
	var killer sync.WaitGroup
	killer.Go(func() {
		// Terminate the clients' backends, in a rotation or idle in the
		// pool, a bounded number of times.
		for killed.Load() < 30 {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			var n int64
			err := pgPool(t).QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE application_name = $1 AND pid <> pg_backend_pid()`, app).Scan(&n)
			if err == nil {
				killed.Add(n)
			}
		}
	})
	const clients, rounds = 4, 15
	final := make([]string, clients)
	var wg sync.WaitGroup
	var failures atomic.Int64
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			var tok string
			for {
				var err error
				if tok, _, err = m.Issue(ctx, fmt.Sprint("term-", c), jwt.SignIn{}); err == nil {
					break
				}
			}
			for range rounds {
				for attempt := 0; ; attempt++ {
					next, _, err := m.Refresh(ctx, tok)
					if err == nil {
						tok = next
						break
					}
					if errors.Is(err, jwt.ErrTokenReused) || errors.Is(err, jwt.ErrInvalidToken) || attempt > 50 {
						errs <- fmt.Errorf("client %d: %w", c, err)
						return
					}
					failures.Add(1)
				}
			}
			final[c] = tok
		})
	}
	wg.Wait()
	close(stop)
	killer.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The pool may still hold terminated connections: retry system errors.
	refresh := func(tok string) (string, error) {
		for attempt := 0; ; attempt++ {
			next, _, err := m.Refresh(ctx, tok)
			if err == nil || errors.Is(err, jwt.ErrTokenReused) || errors.Is(err, jwt.ErrInvalidToken) || attempt > 10 {
				return next, err
			}
		}
	}
	for c, tok := range final {
		if tok == "" {
			continue
		}
		next, err := refresh(tok)
		if err != nil {
			t.Errorf("client %d, final token: %v", c, err)
			continue
		}
		if again, err := refresh(tok); err != nil || again != next {
			t.Errorf("client %d presented again: %q %v, want %q", c, again, err, next)
		}
	}
	t.Logf("%d backends terminated, %d rotations failed and were retried", killed.Load(), failures.Load())
	if killed.Load() == 0 {
		t.Error("no backend was terminated: the test did not test anything")
	}
}

// TestRefreshKilledMidRotation SIGKILLs a process that rotates refresh
// tokens in a loop on PostgreSQL, then presents each family's last token
// the client knows (storetestkit.KillMidRotation): every family rotates,
// no reuse, one successor.
func TestRefreshKilledMidRotation(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	st := migrated(t, sqlstore.Config{DB: pgPool(t), Dialect: sqlstore.Postgres, Schema: schema})
	storetestkit.KillMidRotation(t, st.RefreshTokens(), 10, "rotate", childArgs{Dialect: "postgres", DSN: pgDSN(t), Schema: schema})
}

func rotateChild(st *sqlstore.Store, _ int) int { return storetestkit.RotateChild(st.RefreshTokens()) }
