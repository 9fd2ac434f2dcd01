package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// Dialect selects the SQL dialect of the database behind Config.DB.
type Dialect int

const (
	// Postgres is PostgreSQL 12 or newer, for example through the
	// github.com/jackc/pgx/v5/stdlib driver.
	Postgres Dialect = iota + 1
	// SQLite is SQLite 3.35 or newer (UPDATE … RETURNING), for example
	// through the pure-Go modernc.org/sqlite driver. The connections need a
	// busy_timeout (see [SQLiteDSN]).
	SQLite
)

// String returns "postgres" or "sqlite".
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	}
	return fmt.Sprintf("sqlstore.Dialect(%d)", int(d))
}

// DefaultTablePrefix is the table-name prefix used when Config.TablePrefix
// is empty.
const DefaultTablePrefix = "authkit_"

// Config configures [New].
type Config struct {
	// DB is the connection pool. Required. The store never closes it.
	DB *sql.DB
	// Dialect is [Postgres] or [SQLite]. Required: guessing from the
	// driver would import the drivers.
	Dialect Dialect
	// Schema, for PostgreSQL only, qualifies every table name (the schema
	// is created by [Store.Migrate] if missing). Empty means unqualified
	// names, resolved through the connection's search_path. It must match
	// [a-z_][a-z0-9_]* (at most 63 bytes).
	Schema string
	// TablePrefix is prepended to every table name (default
	// [DefaultTablePrefix], "authkit_"); it must match [a-z_][a-z0-9_]*
	// and be at most 40 bytes. Use "-" for no prefix.
	TablePrefix string
	// Now is the clock that decides expiry at read time and in
	// [Store.Purge] (default time.Now). [jwt.RefreshStore.Rotate] takes its
	// time as an argument instead.
	Now func() time.Time
	// RevokedFamilyRetention is no longer used: a revoked family's row is
	// kept until the family's own expiry (Purge).
	//
	// Deprecated: ignored.
	RevokedFamilyRetention time.Duration
	// Timeout bounds every method's database work: each method runs under
	// a context that ends after Timeout or when the caller's context ends,
	// whichever comes first, so an unreachable or blackholed database
	// answers a request in about Timeout. The default is [DefaultTimeout]
	// for PostgreSQL and [DefaultSQLiteTimeout] for SQLite, whose only
	// waits are for its write lock. [Store.Migrate] and [Store.Purge] are
	// not bounded by it.
	Timeout time.Duration
}

const (
	// DefaultTimeout is the default [Config.Timeout] for PostgreSQL.
	DefaultTimeout = 2 * time.Second
	// DefaultSQLiteTimeout is the default [Config.Timeout] for SQLite. A
	// local file has no network to stall; its waits are for a pooled
	// connection and then for the write lock (up to the busy_timeout of
	// [SQLiteDSN], 10 s), and cutting them short under a burst of writers
	// only turns queued writes into errors.
	DefaultSQLiteTimeout = 30 * time.Second
)

// Store holds the shared configuration of the SQL-backed stores. Its
// methods return one adapter per authkit store interface; all of them share
// the pool and the schema. A Store is safe for concurrent use and starts no
// goroutines: expired rows are removed only by [Store.Purge].
type Store struct {
	db        *sql.DB
	dialect   Dialect
	schema    string
	prefix    string // bare prefix, for index names
	qual      string // qualified prefix: schema.prefix
	now       func() time.Time
	retention time.Duration
	timeout   time.Duration
	q         queries
}

// Errors returned by this package.
var (
	// ErrNotFound is returned by [Users.UpdateUser] and
	// [Users.SetPasswordHash] for an unknown user id.
	ErrNotFound = errors.New("sqlstore: not found")
	// ErrInvalidConfig wraps every configuration error from [New].
	ErrInvalidConfig = errors.New("sqlstore: invalid config")
)

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// New validates cfg and returns a Store. It does no I/O: call
// [Store.Migrate] once at start-up to create or upgrade the tables.
func New(cfg Config) (*Store, error) {
	if cfg.DB == nil {
		return nil, fmt.Errorf("%w: DB is nil", ErrInvalidConfig)
	}
	if cfg.Dialect != Postgres && cfg.Dialect != SQLite {
		return nil, fmt.Errorf("%w: Dialect must be sqlstore.Postgres or sqlstore.SQLite", ErrInvalidConfig)
	}
	if cfg.Schema != "" {
		if cfg.Dialect != Postgres {
			return nil, fmt.Errorf("%w: Schema is for PostgreSQL only", ErrInvalidConfig)
		}
		if !identRE.MatchString(cfg.Schema) || len(cfg.Schema) > 63 {
			return nil, fmt.Errorf("%w: Schema %q must match [a-z_][a-z0-9_]* (at most 63 bytes)", ErrInvalidConfig, cfg.Schema)
		}
	}
	prefix := cfg.TablePrefix
	switch prefix {
	case "":
		prefix = DefaultTablePrefix
	case "-":
		prefix = ""
	default:
		if !identRE.MatchString(prefix) || len(prefix) > 40 {
			return nil, fmt.Errorf("%w: TablePrefix %q must match [a-z_][a-z0-9_]* (at most 40 bytes)", ErrInvalidConfig, prefix)
		}
	}
	if cfg.RevokedFamilyRetention < 0 {
		return nil, fmt.Errorf("%w: RevokedFamilyRetention is negative", ErrInvalidConfig)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: Timeout is negative", ErrInvalidConfig)
	}
	s := &Store{
		db:        cfg.DB,
		dialect:   cfg.Dialect,
		schema:    cfg.Schema,
		prefix:    prefix,
		qual:      prefix,
		now:       cfg.Now,
		retention: cfg.RevokedFamilyRetention,
		timeout:   cfg.Timeout,
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
		if s.dialect == SQLite {
			s.timeout = DefaultSQLiteTimeout
		}
	}
	if s.schema != "" {
		s.qual = s.schema + "." + prefix
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retention == 0 {
		s.retention = jwt.DefaultFamilyLifetime
	}
	s.q = buildQueries(s)
	return s, nil
}

// DB returns the pool the store was built with.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the configured dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Table returns the (schema-qualified, prefixed) name of one of the store's
// tables, e.g. Table("sessions") = "authkit_sessions", for hosts that want
// to inspect or back up the data.
func (s *Store) Table(name string) string { return s.qual + name }

// SQLiteDSN returns a modernc.org/sqlite data source name for the database
// file at path with the settings the store relies on: a busy_timeout of
// 10 s (writers wait for the lock instead of failing with SQLITE_BUSY),
// WAL journaling (readers never block the writer) and synchronous=NORMAL
// (durable in WAL mode except for the last transactions on power loss).
func SQLiteDSN(path string) string {
	return path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
}

// bound returns ctx limited to Config.Timeout; the caller's own deadline
// stays in force when it is sooner. Every method that talks to the
// database starts with
//
//	ctx, cancel := x.s.bound(ctx)
//	defer cancel()
//
// so all its statements (inTx included) share one deadline. [Store.Migrate]
// and [Store.Purge] do not: they are not on a request's path and may wait
// for each other's locks.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a transaction that serializes writers of the rows it
// touches: on PostgreSQL a READ COMMITTED transaction whose statements take
// row locks (SELECT … FOR UPDATE, upserts); on SQLite BEGIN IMMEDIATE, which
// takes the database write lock before the first read, so a read-then-write
// transaction can never fail with SQLITE_BUSY_SNAPSHOT halfway.
func (s *Store) inTx(ctx context.Context, fn func(q querier) error) error {
	if s.dialect == Postgres {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		// The BEGIN may have run with its reply lost: never return the
		// connection to the pool inside a transaction.
		s.rollback(ctx, conn)
		return err
	}
	if err := fn(conn); err != nil {
		s.rollback(ctx, conn)
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		s.rollback(ctx, conn)
		return err
	}
	return nil
}

// rollback ends a failed SQLite transaction. It must run even when ctx is
// cancelled; if it cannot, the connection is discarded rather than returned
// to the pool with a transaction open.
func (s *Store) rollback(ctx context.Context, conn *sql.Conn) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(rctx, "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// wrap prefixes a driver error with the operation and keeps the chain, so
// errors.Is(err, context.Canceled) still holds for a cancelled ctx.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// Times are stored as integer Unix microseconds (BIGINT/INTEGER) in both
// dialects, so both compare and sort them the same way; the zero time.Time
// is stored as NULL.

func micros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64)
}

// key turns an opaque id into a BYTEA/BLOB value: ids are stored as bytes
// so that any Go string (NUL bytes, invalid UTF-8, '%', '*', quotes) is
// stored and compared literally.
func key(s string) []byte {
	b := []byte(s)
	if b == nil {
		b = []byte{}
	}
	return b
}

// blob returns b, or an empty non-nil slice for nil, so that NOT NULL
// binary columns accept it.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (s *Store) nowMicros() int64 { return s.now().UnixMicro() }

// render expands a query template: {T} is the qualified table prefix.
func (s *Store) render(q string) string {
	return strings.ReplaceAll(q, "{T}", s.qual)
}
