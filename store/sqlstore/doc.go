// Package sqlstore implements authkit's store interfaces on database/sql,
// for PostgreSQL and SQLite, so several instances of an application can
// share sessions, refresh tokens, MFA state and counters, and the state
// survives restarts.
//
// The package takes a *sql.DB and a [Dialect] and imports no driver: the
// application picks one, typically github.com/jackc/pgx/v5/stdlib
// (driver name "pgx") for PostgreSQL and modernc.org/sqlite (driver name
// "sqlite", pure Go) for SQLite.
//
//	db, _ := sql.Open("sqlite", sqlstore.SQLiteDSN("/var/lib/app/auth.db"))
//	st, _ := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.SQLite})
//	if err := st.Migrate(ctx); err != nil { ... }
//	sessions, _ := session.New(session.Config{Store: st.Sessions()})
//
// # Adapters
//
// One [Store] hands out an adapter per interface, all on the same pool:
// [Store.Sessions] (session.Store, with a per-user index),
// [Store.RefreshTokens] (jwt.RefreshStore: families, atomic Use, revocation
// tombstones), [Store.NotBefore] (jwt.NotBeforeStore), [Store.MFA]
// (mfa.Store: enrollments and backup codes), [Store.TOTPReplay]
// (mfa.ReplayStore), [Store.Challenges] (mfa.ChallengeStore),
// [Store.OAuthStates] (oauth.StateStore), [Store.Attempts]
// (authkit.AttemptStore and mfa.AttemptCounter), [Store.OneTimeTokens]
// (authkit.OneTimeTokenStore) and [Store.Users] (authkit.UserStore, plus
// UpdateUser and Len). Each passes the conformance suite of its interface
// on both dialects.
//
// # Atomicity
//
// Every "exactly one winner" operation is a single statement, atomic on
// both databases and across processes: refresh-token Use is a conditional
// UPDATE … RETURNING (used_at IS NULL), TOTP replay is INSERT … ON CONFLICT
// DO UPDATE … WHERE step < new step, backup codes, OAuth states, MFA
// challenges and one-time tokens are spent with DELETE (… RETURNING), the
// attempt counter and the not-before time are upserts. The few
// multi-statement operations (replacing a backup-code set, UpdateUser,
// Migrate) run in transactions that lock what they read: row locks on
// PostgreSQL (READ COMMITTED is enough), BEGIN IMMEDIATE on SQLite.
//
// # Schema and migrations
//
// The schema ships embedded as versioned migrations per dialect.
// [Store.Migrate] applies the missing ones and records them in
// <prefix>schema_migrations; it is idempotent and serialized across
// processes (a PostgreSQL advisory lock, SQLite's write lock). Table names
// carry Config.TablePrefix ("authkit_" by default) and, on PostgreSQL, an
// optional Config.Schema, so several applications or test cases can share
// one database without seeing each other's rows.
//
// Times are stored as integer Unix microseconds in both dialects (the zero
// time as NULL); opaque ids and keys are stored as bytes (BYTEA/BLOB), so
// characters such as '%', '*', quotes or NUL have no special meaning.
//
// # Expiry
//
// A row whose expiry is not after Config.Now (time.Now by default) is
// missing to every read, whether or not it has been deleted yet. Expired
// rows are deleted only by [Store.Purge], which the application calls on
// its own schedule: the package starts no goroutines.
//
// # Failures
//
// Every method returns the driver's error (wrapped with %w) when the
// database cannot be reached; a read never reports found=false for an
// error, so callers such as session.Manager fail closed. database/sql
// replaces broken connections, so the store recovers by itself when the
// database comes back.
//
// # SQLite
//
// Open SQLite with [SQLiteDSN] (or equivalent pragmas): a busy_timeout so
// concurrent writers wait instead of failing with SQLITE_BUSY (Migrate
// refuses to run without one), and WAL so readers never block the writer.
package sqlstore
