package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/authkit-go/authkit/store/sqlstore"
)

// The PostgreSQL benchmarks need a server: AUTHKIT_TEST_POSTGRES_DSN, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Without it they
// skip. Each run works in a schema of its own, dropped at the end.
//
// Besides time and allocations they report the database traffic per
// operation, counted on the client's side:
//
//   - roundtrips/op: how many times the client sent something after having
//     received something, i.e. waited for the server. Counted on the TCP
//     connection itself (a net.Conn wrapper installed through pgx's
//     DialFunc), so it includes everything: statement preparation, pings
//     from database/sql's connection reuse, transactions.
//   - queries/op: SQL statements executed, counted by a pgx QueryTracer.
//
// docs/PERF.md's target for a read-only request through the session middleware
// is one round trip.

const sqlPostgresDSNEnv = "AUTHKIT_TEST_POSTGRES_DSN"

// sqlCounters counts what goes over the pool's connections.
type sqlCounters struct{ storeCounters }

// TraceQueryStart implements pgx.QueryTracer.
func (c *sqlCounters) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.requests.Add(1)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *sqlCounters) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// sqlCountingConn counts a round trip at every write that follows a read
// (or opens the connection).
type sqlCountingConn struct {
	net.Conn
	c       *sqlCounters
	writing bool
}

func (k *sqlCountingConn) Write(p []byte) (int, error) {
	if !k.writing {
		k.writing = true
		k.c.roundTrips.Add(1)
	}
	return k.Conn.Write(p)
}

func (k *sqlCountingConn) Read(p []byte) (int, error) {
	k.writing = false
	return k.Conn.Read(p)
}

// sqlPostgresStore opens a counting pool on the test server and returns a
// migrated store in a fresh schema; it skips without a server.
func sqlPostgresStore(b *testing.B) (*sqlstore.Store, *sqlCounters) {
	b.Helper()
	dsn := benchEnv(b, sqlPostgresDSNEnv)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	counters := &sqlCounters{storeCounters{unit: "queries"}}
	cfg.Tracer = counters
	dialer := &net.Dialer{}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &sqlCountingConn{Conn: conn, c: counters}, nil
	}
	db := stdlib.OpenDB(*cfg)
	b.Cleanup(func() { db.Close() })

	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	schema := "authkit_bench_" + hex.EncodeToString(rnd[:])
	b.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); err != nil {
			b.Errorf("drop schema %s: %v", schema, err)
		}
	})
	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return st, counters
}

func sqlBench(b *testing.B) benchStores {
	st, counters := sqlPostgresStore(b)
	return benchStores{st.Sessions(), st.RefreshTokens(), &counters.storeCounters}
}
