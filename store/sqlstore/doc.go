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
// # Wiring
//
// PostgreSQL (put the tables in a schema of their own, or leave Schema
// empty to use the connection's search_path):
//
//	import _ "github.com/jackc/pgx/v5/stdlib"
//
//	db, err := sql.Open("pgx", "postgres://app@db:5432/app?connect_timeout=5")
//	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: "authkit"})
//	err = st.Migrate(ctx) // at start-up; idempotent, safe from several instances
//
// SQLite (one file; [SQLiteDSN] adds the busy_timeout and WAL the store
// needs):
//
//	import _ "modernc.org/sqlite"
//
//	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN("/var/lib/app/auth.db"))
//	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.SQLite})
//	err = st.Migrate(ctx)
//
// Then hand each adapter to the package that uses it:
//
//	session.Config{Store: st.Sessions()}
//	jwt.RefreshManagerConfig{Store: st.RefreshTokens()}
//	jwt.VerifierConfig{NotBefore: st.NotBefore()}
//	mfa.Config{Store: st.MFA(), Replay: st.TOTPReplay(), Tickets: st.Tickets(), Throttle: st.Attempts()}
//	oauth.Config{Tickets: st.Tickets()}
//	passkey.Config{Credentials: st.Passkeys(), Tickets: st.Tickets(), ...}
//	authkit.Config{Users: st.Users(), RefreshStore: st.RefreshTokens(), NotBefore: st.NotBefore(),
//		Attempts: st.Attempts(), Tickets: st.Tickets()}
//
// and call [Store.Purge] periodically from a job of the host's own.
// [Store.Users] is optional: a host with its own user table implements
// authkit.UserStore over it instead.
//
// Give requests a deadline (http.Server timeouts or a context middleware)
// and PostgreSQL a connect_timeout: when the network to the database stalls
// rather than fails, only a deadline ends the query.
//
// A read-only request through session.Manager costs one round trip (one
// indexed SELECT), a rotation of a refresh token two. pgx's stdlib driver
// adds a ping when it reuses a connection idle for more than a second
// (stdlib.OptionShouldPing changes that).
//
// # Adapters
//
// One [Store] hands out an adapter per interface, all on the same pool:
// [Store.Sessions] (session.Store, with a per-user index),
// [Store.RefreshTokens] (jwt.RefreshStore: families, atomic Use, revocation
// tombstones), [Store.NotBefore] (jwt.NotBeforeStore), [Store.MFA]
// (mfa.Store: enrollments and backup codes), [Store.TOTPReplay]
// (mfa.ReplayStore), [Store.Tickets] (authkit.TicketStore: MFA
// challenges, OAuth states, reset and verification tokens, passkey
// ceremonies, one table keyed by purpose and key), [Store.Attempts]
// (authkit.AttemptStore and mfa.AttemptCounter), [Store.Passkeys]
// (passkey.CredentialStore: WebAuthn credentials, kept until removed) and
// [Store.Users] (authkit.UserStore, plus UpdateUser and Len). Each passes
// the conformance suite of its interface on both dialects.
//
// # Atomicity
//
// Every "exactly one winner" operation is a single statement, atomic on
// both databases and across processes: refresh-token Use is a conditional
// UPDATE … RETURNING (used_at IS NULL), TOTP replay is INSERT … ON CONFLICT
// DO UPDATE … WHERE step < new step, backup codes and tickets are
// spent with DELETE (… RETURNING), the
// attempt counter and the not-before time are upserts; a passkey's sign
// count is updated with UPDATE … WHERE sign_count = previous, and a new
// passkey is inserted with ON CONFLICT DO NOTHING, so its id is unique
// across all users. The few multi-statement operations (replacing a
// backup-code set, UpdateUser, a passkey removal that must keep the user's
// last one, Migrate) run in transactions that lock what they read: row
// locks on PostgreSQL (READ COMMITTED is enough), BEGIN IMMEDIATE on
// SQLite.
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
// error, so callers such as session.Manager fail closed (a 5xx, the
// handler does not run). database/sql replaces broken connections, so the
// store recovers by itself when the database comes back, without a
// restart. The package's fault tests check both through a TCP proxy that
// they cut, stall and restore.
//
// [Store.Version] reports 0 applied migrations, not an error, for a
// database Migrate has never run on.
//
// # SQLite
//
// Open SQLite with [SQLiteDSN] (or equivalent pragmas): a busy_timeout so
// concurrent writers wait instead of failing with SQLITE_BUSY (Migrate
// refuses to run without one), and WAL so readers never block the writer.
package sqlstore
