package sqlstore_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// The cross-process test re-executes the test binary: with childEnv set,
// TestMain runs runChild instead of the tests.
const (
	childEnv       = "SQLSTORE_TEST_CHILD"
	childDSNEnv    = "SQLSTORE_TEST_CHILD_DSN"
	childSchemaEnv = "SQLSTORE_TEST_CHILD_SCHEMA"
	childRoundsEnv = "SQLSTORE_TEST_CHILD_ROUNDS"
	childModeEnv   = "SQLSTORE_TEST_CHILD_MODE" // "migrate": run Migrate at the start time, print "migrated"

	crossRounds     = 20
	crossGoroutines = 4                     // racers per process and item
	crossSlot       = 40 * time.Millisecond // every round starts on a shared wall-clock slot
)

// childResult is what one child process reports: per round, how many of
// its goroutines won each race, and how many saw the refresh token at all.
type childResult struct {
	Refresh      []int      `json:"refresh"`       // rotations won
	RefreshFound []int      `json:"refresh_found"` // rotations won or retried (same successor)
	RefreshNext  [][]string `json:"refresh_next"`  // successor ids seen
	TOTP         []int      `json:"totp"`
	Backup       []int      `json:"backup"`
	MFAPut       []int      `json:"mfa_put"`
	Errors       []string
}

func crossToken(i int) string { return fmt.Sprintf("cross-token-%d", i) }
func crossUser(i int) string  { return fmt.Sprintf("cross-user-%d", i) }
func crossCode(i int) []byte  { return []byte(fmt.Sprintf("cross-code-mac-%d\x00", i)) }

// TestCrossProcess races two OS processes, each with its own pool and
// several goroutines, on the same refresh tokens, TOTP steps, backup codes
// and MFA enrollment versions: exactly one caller in all wins each (TOTP
// replay, refresh reuse, ASVS 6.5.1 backup codes, one compare-and-set
// write per enrollment version).
func TestCrossProcess(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		var st *sqlstore.Store
		var dialectName, dsn, schema string
		if d.name == "SQLite" {
			path := sqlitePath(t)
			st = migrated(t, sqlstore.Config{DB: openSQLite(t, path), Dialect: sqlstore.SQLite})
			dialectName, dsn = "sqlite", path
		} else {
			st = newPG(t, sqlstore.Config{})
			dialectName, dsn, schema = "postgres", pgDSN(t), st.Table("")[:strings.Index(st.Table(""), ".")]
		}
		ctx := t.Context()
		now := time.Now()
		for i := range crossRounds {
			mustCreate(t, st.RefreshTokens(), jwt.RefreshToken{ID: crossToken(i), FamilyID: fmt.Sprint("fam", i), UserID: "u", SignIn: jwt.SignIn{AuthTime: now},
				IssuedAt: now, Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(time.Hour)})
			seedMFA(t, st.MFA(), crossUser(i), crossCode(i), []byte("other"))
		}

		type proc struct {
			cmd   *exec.Cmd
			stdin io.WriteCloser
			out   *bufio.Reader
		}
		procs := make([]*proc, 2)
		for p := range procs {
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+dialectName, childDSNEnv+"="+dsn,
				childSchemaEnv+"="+schema, childRoundsEnv+"="+strconv.Itoa(crossRounds))
			cmd.Stderr = os.Stderr
			stdin, err := cmd.StdinPipe()
			must(t, err)
			stdout, err := cmd.StdoutPipe()
			must(t, err)
			must(t, cmd.Start())
			procs[p] = &proc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
		}
		for _, p := range procs {
			line, err := p.out.ReadString('\n')
			if err != nil || line != "ready\n" {
				t.Fatalf("child did not get ready: %q, %v", line, err)
			}
		}
		start := time.Now().Add(100 * time.Millisecond).UnixNano()
		for _, p := range procs {
			fmt.Fprintf(p.stdin, "%d\n", start)
			p.stdin.Close()
		}
		results := make([]childResult, len(procs))
		for i, p := range procs {
			b, err := io.ReadAll(p.out)
			must(t, err)
			must(t, p.cmd.Wait())
			if err := json.Unmarshal(b, &results[i]); err != nil {
				t.Fatalf("child output %q: %v", b, err)
			}
			for _, e := range results[i].Errors {
				t.Errorf("child %d: %s", i, e)
			}
		}
		won := make([]int, len(procs)) // rounds of refresh won per process, for the log
		for r := range crossRounds {
			var refresh, found, totp, backup, mfaPut int
			next := map[string]bool{}
			for i, res := range results {
				for _, n := range res.RefreshNext[r] {
					next[n] = true
				}
				refresh += res.Refresh[r]
				found += res.RefreshFound[r]
				totp += res.TOTP[r]
				backup += res.Backup[r]
				mfaPut += res.MFAPut[r]
				won[i] += res.Refresh[r]
			}
			all := len(procs) * crossGoroutines
			if refresh != 1 || found != all || len(next) != 1 {
				t.Errorf("round %d: %d callers rotated the refresh token, %d rotated or retried, %d distinct successors; want exactly 1, %d and 1",
					r, refresh, found, len(next), all)
			}
			if totp != 1 {
				t.Errorf("round %d: %d callers claimed the TOTP step; want exactly 1", r, totp)
			}
			if backup != 1 {
				t.Errorf("round %d: %d callers spent the backup code; want exactly 1", r, backup)
			}
			if mfaPut != 1 {
				t.Errorf("round %d: %d callers won one MFA compare-and-set; want exactly 1", r, mfaPut)
			}
		}
		t.Logf("refresh rounds won per process: %v", won)
		// The other backup code of each set is untouched.
		for i := range crossRounds {
			used, err := st.MFA().UseBackupCode(ctx, crossUser(i), []byte("other"))
			if err != nil || !used {
				t.Fatalf("other code of user %d: used=%v err=%v", i, used, err)
			}
		}
	})
}

// runChild is the body of a child process: it opens its own pool, says
// "ready", reads the start time from stdin, then races in each round's
// wall-clock slot and prints a childResult as JSON.
func runChild() int {
	dialectName, dsn, schema := os.Getenv(childEnv), os.Getenv(childDSNEnv), os.Getenv(childSchemaEnv)
	rounds, _ := strconv.Atoi(os.Getenv(childRoundsEnv))
	var db *sql.DB
	var err error
	// Generous: the children connect and race on a loaded test machine;
	// Config.Timeout itself is tested in timeout_test.go.
	cfg := sqlstore.Config{Schema: schema, Timeout: 30 * time.Second}
	if dialectName == "sqlite" {
		db, err = sql.Open("sqlite", sqlstore.SQLiteDSN(dsn))
		cfg.Dialect = sqlstore.SQLite
	} else {
		db, err = sql.Open("pgx", dsn)
		cfg.Dialect = sqlstore.Postgres
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer db.Close()
	cfg.DB = db
	st, err := sqlstore.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	if err := db.PingContext(ctx); err != nil { // connect before the race
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("ready")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	startNS, _ := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	start := time.Unix(0, startNS)
	if os.Getenv(childModeEnv) == "migrate" {
		time.Sleep(time.Until(start))
		if err := st.Migrate(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("migrated")
		return 0
	}

	res := childResult{Refresh: make([]int, rounds), RefreshFound: make([]int, rounds), RefreshNext: make([][]string, rounds), TOTP: make([]int, rounds), Backup: make([]int, rounds), MFAPut: make([]int, rounds)}
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		res.Errors = append(res.Errors, err.Error())
		mu.Unlock()
	}
	step := uint64(time.Now().Unix() / 30)
	for r := range rounds {
		time.Sleep(time.Until(start.Add(time.Duration(r) * crossSlot)))
		var wg sync.WaitGroup
		for range crossGoroutines {
			wg.Go(func() {
				rot, err := st.RefreshTokens().Rotate(ctx, jwt.Rotation{ID: crossToken(r), Now: time.Now(), Grace: time.Minute,
					Next: jwt.RefreshToken{ID: rand.Text(), Expiry: time.Now().Add(time.Hour)}})
				if err != nil {
					fail(err)
				}
				ok, err := st.TOTPReplay().Advance(ctx, crossUser(r), step, time.Now().Add(time.Minute))
				if err != nil {
					fail(err)
				}
				used, err := st.MFA().UseBackupCode(ctx, crossUser(r), crossCode(r))
				if err != nil {
					fail(err)
				}
				put, err := crossPut(ctx, st.MFA(), crossUser(r))
				if err != nil {
					fail(err)
				}
				mu.Lock()
				defer mu.Unlock()
				switch rot.Outcome {
				case jwt.Rotated:
					res.Refresh[r]++
					res.RefreshFound[r]++
				case jwt.RotateRetried:
					res.RefreshFound[r]++
				}
				if rot.Outcome == jwt.Rotated || rot.Outcome == jwt.RotateRetried {
					res.RefreshNext[r] = append(res.RefreshNext[r], rot.Token.ID)
				}
				if ok {
					res.TOTP[r]++
				}
				if used {
					res.Backup[r]++
				}
				if put {
					res.MFAPut[r]++
				}
			})
		}
		wg.Wait()
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// TestMigrateCrossProcess starts several processes that each run Migrate
// at the same instant on one empty database (on PostgreSQL, a schema that
// does not exist yet): all succeed and every migration is applied once.
func TestMigrateCrossProcess(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		var st *sqlstore.Store
		var dialectName, dsn, schema string
		if d.name == "SQLite" {
			path := sqlitePath(t)
			st = newStore(t, sqlstore.Config{DB: openSQLite(t, path), Dialect: sqlstore.SQLite})
			dialectName, dsn = "sqlite", path
		} else {
			schema = randName("sqlstore_t_")
			dropSchemaLater(t, schema)
			st = newStore(t, sqlstore.Config{DB: pgPool(t), Dialect: sqlstore.Postgres, Schema: schema})
			dialectName, dsn = "postgres", pgDSN(t)
		}
		const procs = 3
		type proc struct {
			cmd   *exec.Cmd
			stdin io.WriteCloser
			out   *bufio.Reader
		}
		ps := make([]proc, procs)
		for i := range ps {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+dialectName, childDSNEnv+"="+dsn,
				childSchemaEnv+"="+schema, childModeEnv+"=migrate")
			cmd.Stderr = os.Stderr
			stdin, err := cmd.StdinPipe()
			must(t, err)
			stdout, err := cmd.StdoutPipe()
			must(t, err)
			must(t, cmd.Start())
			ps[i] = proc{cmd, stdin, bufio.NewReader(stdout)}
		}
		for _, p := range ps {
			if line, err := p.out.ReadString('\n'); err != nil || line != "ready\n" {
				t.Fatalf("child did not get ready: %q, %v", line, err)
			}
		}
		start := time.Now().Add(50 * time.Millisecond).UnixNano()
		for _, p := range ps {
			fmt.Fprintf(p.stdin, "%d\n", start)
			p.stdin.Close()
		}
		for i, p := range ps {
			b, err := io.ReadAll(p.out)
			must(t, err)
			if err := p.cmd.Wait(); err != nil || string(b) != "migrated\n" {
				t.Errorf("child %d: %v, output %q", i, err, b)
			}
		}
		checkVersion(t, st)
	})
}

func mustCreate(t testing.TB, s jwt.RefreshStore, rec jwt.RefreshToken) {
	t.Helper()
	if ok, err := s.Create(t.Context(), rec); err != nil || !ok {
		t.Fatalf("refresh Create: created=%v err=%v", ok, err)
	}
}
