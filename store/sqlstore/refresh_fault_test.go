package sqlstore_test

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// Fault tests of refresh rotation: whatever fails between or around the
// statements of a rotation, a client that did nothing wrong and presents
// its token again keeps its sign-in (no family burned, no reuse verdict),
// there is never more than one live successor, and a presentation after
// the grace window is still reuse.

var errInjected = errors.New("injected fault")

// faults counts the statements (and commits) that go through a
// faultConnector and fails the armed one: "before" without running it,
// "after" once the database has run it (the reply is lost).
type faults struct {
	mu    sync.Mutex
	at    int
	mode  string
	count int
}

func (f *faults) arm(at int, mode string) {
	f.mu.Lock()
	f.at, f.mode, f.count = at, mode, 0
	f.mu.Unlock()
}

func (f *faults) seen() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}

// next reports whether the current statement fails, and how.
func (f *faults) next() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	fire := f.count == f.at
	f.count++
	if !fire {
		return ""
	}
	f.at = -1
	return f.mode
}

type faultConnector struct {
	drv  driver.Driver
	name string
	f    *faults
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
	f *faults
}

func (c *faultConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &faultTx{Tx: tx, f: c.f}, nil
}

func (c *faultConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	mode := c.f.next()
	if mode == "before" {
		return nil, errInjected
	}
	res, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	if mode == "after" {
		return nil, errInjected
	}
	return res, err
}

func (c *faultConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	mode := c.f.next()
	if mode == "before" {
		return nil, errInjected
	}
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if mode == "after" {
		if err == nil {
			rows.Close()
		}
		return nil, errInjected
	}
	return rows, err
}

type faultTx struct {
	driver.Tx
	f *faults
}

func (t *faultTx) Commit() error {
	switch t.f.next() {
	case "before":
		_ = t.Tx.Rollback()
		return errInjected
	case "after":
		_ = t.Tx.Commit()
		return errInjected
	}
	return t.Tx.Commit()
}

// faultStore returns a migrated store whose connections go through f.
func faultStore(t *testing.T, d dialect, f *faults) *sqlstore.Store {
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

type testClock2 struct{ ns atomic.Int64 }

func (c *testClock2) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock2) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newClock2() *testClock2 {
	c := &testClock2{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

// checkAfterFault: the client presents tok again and gets a successor;
// again within the window the same one; after the window tok is reuse and
// the family ends.
func checkAfterFault(t *testing.T, m *jwt.RefreshManager, clk *testClock2, tok string) {
	t.Helper()
	ctx := t.Context()
	next, _, err := m.Refresh(ctx, tok)
	if err != nil {
		t.Fatalf("retry after the fault: %v (reuse=%v)", err, errors.Is(err, jwt.ErrTokenReused))
	}
	again, _, err := m.Refresh(ctx, tok)
	if err != nil || again != next {
		t.Fatalf("second retry: %q %v, want the same successor %q", again, err, next)
	}
	clk.Advance(jwt.DefaultGraceWindow + time.Second)
	if _, _, err := m.Refresh(ctx, tok); !errors.Is(err, jwt.ErrTokenReused) {
		t.Fatalf("the old token after the window: %v, want reuse", err)
	}
	if _, _, err := m.Refresh(ctx, next); !errors.Is(err, jwt.ErrInvalidToken) {
		t.Fatalf("the successor after reuse: %v, want invalid (family revoked)", err)
	}
}

// TestRefreshFaultAtEveryStatement fails each statement of a rotation
// (and its commit), once before the database runs it and once after (a
// lost reply), on both dialects.
func TestRefreshFaultAtEveryStatement(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		f := &faults{at: -1}
		st := faultStore(t, d, f)
		clk := newClock2()
		m, err := jwt.NewRefreshManager(jwt.RefreshConfig{Store: st.RefreshTokens(), Now: clk.Now})
		must(t, err)
		tok, _, err := m.Issue(t.Context(), "counter", jwt.SignIn{})
		must(t, err)
		f.arm(-1, "")
		_, _, err = m.Refresh(t.Context(), tok)
		must(t, err)
		steps := f.seen()
		if steps < 3 {
			t.Fatalf("a rotation ran %d statements", steps)
		}
		for _, mode := range []string{"before", "after"} {
			for k := range steps {
				t.Run(fmt.Sprintf("%s_%d", mode, k), func(t *testing.T) {
					tok, _, err := m.Issue(t.Context(), fmt.Sprintf("u-%s-%d", mode, k), jwt.SignIn{})
					must(t, err)
					f.arm(k, mode)
					if _, _, err := m.Refresh(t.Context(), tok); !errors.Is(err, errInjected) {
						t.Fatalf("rotation with a fault at statement %d: %v", k, err)
					}
					f.arm(-1, "")
					checkAfterFault(t, m, clk, tok)
				})
			}
		}
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
	m, err := jwt.NewRefreshManager(jwt.RefreshConfig{Store: st.RefreshTokens(), GraceWindow: jwt.MaxGraceWindow})
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

// The kill test re-executes the test binary: with rotChildEnv set, TestMain
// runs runRotateChild, which rotates the tokens given on stdin in a loop
// and prints "<i> <token>" after each rotation, until it is killed.
const (
	rotChildEnv       = "SQLSTORE_TEST_ROTATE_CHILD" // the DSN
	rotChildSchemaEnv = "SQLSTORE_TEST_ROTATE_SCHEMA"
)

// TestRefreshKilledMidRotation SIGKILLs a process that rotates refresh
// tokens in a loop on PostgreSQL, then presents each family's last token
// the client knows: every family rotates, no reuse, one successor.
func TestRefreshKilledMidRotation(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	st := migrated(t, sqlstore.Config{DB: pgPool(t), Dialect: sqlstore.Postgres, Schema: schema})
	ctx := t.Context()
	m, err := jwt.NewRefreshManager(jwt.RefreshConfig{Store: st.RefreshTokens(), GraceWindow: jwt.MaxGraceWindow})
	must(t, err)
	const users = 10
	toks := make([]string, users)
	for i := range toks {
		toks[i], _, err = m.Issue(ctx, fmt.Sprint("killed-", i), jwt.SignIn{})
		must(t, err)
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), rotChildEnv+"="+pgDSN(t), rotChildSchemaEnv+"="+schema)
	cmd.Stdin = strings.NewReader(strings.Join(toks, "\n") + "\n")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	r := bufio.NewReader(out)
	for n := 0; n < 3*users; n++ {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		i, tok := parseRotation(t, line)
		toks[i] = tok
	}
	must(t, cmd.Process.Kill())
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		if strings.Count(line, " ") == 1 && strings.HasSuffix(line, "\n") {
			i, tok := parseRotation(t, line)
			toks[i] = tok
		}
	}
	_ = cmd.Wait()
	for i, tok := range toks {
		next, _, err := m.Refresh(ctx, tok)
		if err != nil {
			t.Fatalf("family %d after the kill: %v (reuse=%v)", i, err, errors.Is(err, jwt.ErrTokenReused))
		}
		if again, _, err := m.Refresh(ctx, tok); err != nil || again != next {
			t.Fatalf("family %d presented again: %q %v, want %q", i, again, err, next)
		}
	}
}

func parseRotation(t *testing.T, line string) (int, string) {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 2 {
		t.Fatalf("child line %q", line)
	}
	i, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("child line %q", line)
	}
	return i, f[1]
}

func runRotateChild() int {
	db, err := sql.Open("pgx", os.Getenv(rotChildEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: os.Getenv(rotChildSchemaEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	m, err := jwt.NewRefreshManager(jwt.RefreshConfig{Store: st.RefreshTokens(), GraceWindow: jwt.MaxGraceWindow})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var toks []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			toks = append(toks, s)
		}
	}
	w := bufio.NewWriter(os.Stdout)
	for n := 0; ; n++ {
		i := n % len(toks)
		next, _, err := m.Refresh(context.Background(), toks[i])
		if err != nil {
			fmt.Fprintln(os.Stderr, "child rotation:", err)
			return 1
		}
		toks[i] = next
		fmt.Fprintf(w, "%d %s\n", i, next)
		w.Flush()
	}
}
