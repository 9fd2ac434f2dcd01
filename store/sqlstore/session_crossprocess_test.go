package sqlstore_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/session/sessiontest"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// The session revocation race re-executes the test binary with
// revokeChildEnv set; TestSessionRevokeChild then plays the writers.
const (
	revokeChildEnv = "SQLSTORE_SESSION_REVOKE_CHILD" // JSON revokeArgs

	revokeRounds  = 8
	revokeProcs   = 2
	revokeWriters = 4 // goroutines per process, one session each
	revokeSlot    = time.Second
	revokeResult  = "REVOKE-RESULT "
)

type revokeArgs struct {
	Dialect, DSN, Schema string
	Proc                 int
	StartNS              int64
}

type revokeChildResult struct {
	IDs    [][]string // per round, every id the writers used
	Writes []int      // per round, writes accepted
	Errors []string
}

func revokeUser(r int) string     { return fmt.Sprintf("revoke-user-%d", r) }
func revokeID(r, p, g int) string { return fmt.Sprintf("revoke-%d-%d-%d", r, p, g) }

// TestCrossProcessSessionRevoke races "log out everywhere" in this process
// against requests in two other OS processes (own pool each) that keep
// saving and renewing the user's sessions: in every round, once DeleteUser
// returned and the writers stopped at their first refused write, no
// session of the user is live, on PostgreSQL and SQLite.
func TestCrossProcessSessionRevoke(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		var st *sqlstore.Store
		args := revokeArgs{}
		if d.name == "SQLite" {
			path := sqlitePath(t)
			st = migrated(t, sqlstore.Config{DB: openSQLite(t, path), Dialect: sqlstore.SQLite})
			args.Dialect, args.DSN = "sqlite", path
		} else {
			st = newPG(t, sqlstore.Config{})
			args.Dialect, args.DSN, args.Schema = "postgres", pgDSN(t), st.Table("")[:strings.Index(st.Table(""), ".")]
		}
		ss := st.Sessions()
		ctx := t.Context()
		now := time.Now()
		for r := range revokeRounds {
			for p := range revokeProcs {
				for g := range revokeWriters {
					must(t, ss.Create(ctx, revokeID(r, p, g), session.Record{UserID: revokeUser(r),
						SecretHash: []byte{1}, CreatedAt: now, LastSeen: now,
						IdleExpiry: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}))
				}
			}
		}
		start := time.Now().Add(2 * time.Second) // time for the children to start
		type child struct {
			cmd *exec.Cmd
			out bytes.Buffer
		}
		children := make([]*child, revokeProcs)
		for p := range children {
			args.Proc, args.StartNS = p, start.UnixNano()
			b, _ := json.Marshal(args)
			c := &child{cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSessionRevokeChild$", "-test.count=1")}
			c.cmd.Env = append(os.Environ(), revokeChildEnv+"="+string(b))
			c.cmd.Stdout, c.cmd.Stderr = &c.out, os.Stderr
			must(t, c.cmd.Start())
			children[p] = c
		}
		for r := range revokeRounds {
			time.Sleep(time.Until(start.Add(time.Duration(r)*revokeSlot + revokeSlot/2)))
			must(t, ss.DeleteUser(ctx, revokeUser(r)))
		}
		results := make([]revokeChildResult, revokeProcs)
		for p, c := range children {
			if err := c.cmd.Wait(); err != nil {
				t.Fatalf("child %d: %v", p, err)
			}
			sc := bufio.NewScanner(&c.out)
			sc.Buffer(nil, 16<<20)
			for sc.Scan() {
				if line, ok := strings.CutPrefix(sc.Text(), revokeResult); ok {
					must(t, json.Unmarshal([]byte(line), &results[p]))
				}
			}
			if len(results[p].IDs) != revokeRounds {
				t.Fatalf("child %d reported no result", p)
			}
			for _, e := range results[p].Errors {
				t.Errorf("child %d: %s", p, e)
			}
		}
		raced := 0
		for r := range revokeRounds {
			var ids []string
			writes := 0
			for _, res := range results {
				ids = append(ids, res.IDs[r]...)
				writes += res.Writes[r]
			}
			if writes > 0 {
				raced++
			}
			if err := sessiontest.CheckRevoked(ctx, ss, revokeUser(r), ids); err != nil {
				t.Errorf("round %d (%d writes raced): %v", r, writes, err)
			}
		}
		// A round where the writers started late (a loaded machine) proves
		// nothing, but all of them cannot.
		if raced == 0 {
			t.Error("in no round was a write accepted before the revoke: the race never happened")
		}
		t.Logf("%d of %d rounds raced writes against the revoke", raced, revokeRounds)
	})
}

// TestSessionRevokeChild is the writer process of
// TestCrossProcessSessionRevoke; run alone it skips.
func TestSessionRevokeChild(t *testing.T) {
	env := os.Getenv(revokeChildEnv)
	if env == "" {
		t.Skip("runs only as a child of TestCrossProcessSessionRevoke")
	}
	var args revokeArgs
	must(t, json.Unmarshal([]byte(env), &args))
	cfg := sqlstore.Config{Schema: args.Schema, Dialect: sqlstore.Postgres}
	driver, dsn := "pgx", args.DSN
	if args.Dialect == "sqlite" {
		cfg.Dialect, driver, dsn = sqlstore.SQLite, "sqlite", sqlstore.SQLiteDSN(args.DSN)
	}
	db, err := sql.Open(driver, dsn)
	must(t, err)
	defer db.Close()
	cfg.DB = db
	st, err := sqlstore.New(cfg)
	must(t, err)
	ss := st.Sessions()
	ctx := t.Context()
	// Connect every writer's connection before the race.
	db.SetMaxIdleConns(revokeWriters)
	conns := make([]*sql.Conn, revokeWriters)
	for i := range conns {
		conns[i], err = db.Conn(ctx)
		must(t, err)
		must(t, conns[i].PingContext(ctx))
	}
	for _, c := range conns {
		c.Close()
	}
	res := revokeChildResult{IDs: make([][]string, revokeRounds), Writes: make([]int, revokeRounds)}
	var mu sync.Mutex
	start := time.Unix(0, args.StartNS)
	for r := range revokeRounds {
		time.Sleep(time.Until(start.Add(time.Duration(r) * revokeSlot)))
		var wg sync.WaitGroup
		for g := range revokeWriters {
			wg.Go(func() {
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				ids, writes, err := sessiontest.WriteUntilRevoked(rctx, ss, revokeUser(r), revokeID(r, args.Proc, g))
				mu.Lock()
				defer mu.Unlock()
				res.IDs[r] = append(res.IDs[r], ids...)
				res.Writes[r] += writes
				if err != nil {
					res.Errors = append(res.Errors, fmt.Sprintf("round %d: %v", r, err))
				}
			})
		}
		wg.Wait()
	}
	b, err := json.Marshal(res)
	must(t, err)
	fmt.Println(revokeResult + string(b))
}
