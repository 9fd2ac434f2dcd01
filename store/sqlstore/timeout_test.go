package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/authkit-go/authkit/store/sqlstore"
)

// TestNegativeTimeoutRejected: Config.Timeout must not be negative.
func TestNegativeTimeoutRejected(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	must(t, err)
	defer db.Close()
	if _, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, Timeout: -1}); !errors.Is(err, sqlstore.ErrInvalidConfig) {
		t.Fatalf("Timeout -1: err = %v, want ErrInvalidConfig", err)
	}
}

// TestBlackholedDatabaseAnswersWithinTimeout: with a PostgreSQL address
// that accepts connections and never answers, the attempt counter's
// methods return an error within about Config.Timeout although the
// caller's context has no deadline. Only a generous upper bound is checked.
func TestBlackholedDatabaseAnswersWithinTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	db, err := sql.Open("pgx", "postgres://authkit@"+ln.Addr().String()+"/authkit?sslmode=disable")
	must(t, err)
	t.Cleanup(func() { db.Close() }) // after the parallel subtests
	const timeout = 300 * time.Millisecond
	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Timeout: timeout})
	must(t, err)
	calls := map[string]func(ctx context.Context) error{
		"Attempts.Incr":  func(ctx context.Context) error { _, _, err := st.Attempts().Incr(ctx, "k", time.Minute); return err },
		"Attempts.Count": func(ctx context.Context) error { _, _, err := st.Attempts().Count(ctx, "k"); return err },
		"Attempts.Reset": func(ctx context.Context) error { return st.Attempts().Reset(ctx, "k") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			err := call(context.Background())
			if err == nil {
				t.Fatal("err = nil on a blackholed database")
			}
			if d := time.Since(start); d > 4*timeout {
				t.Errorf("returned after %v (%v), want about %v", d, err, timeout)
			}
		})
	}
}
