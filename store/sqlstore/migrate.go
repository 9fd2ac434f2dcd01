package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

// migration is one embedded, versioned schema change.
type migration struct {
	version int64
	name    string
	stmts   []string
}

// migrations returns the dialect's migrations in version order, rendered
// for the store's table names. Files are named NNNN_description.sql.
func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", s.dialect.String())
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: bad migration name %q", name)
		}
		b, err := migrationFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, stmts: s.splitStatements(string(b))})
	}
	slices.SortFunc(ms, func(a, b migration) int { return int(a.version - b.version) })
	return ms, nil
}

// splitStatements renders a migration file and splits it into statements
// at semicolons that end a line; "--" comment lines are dropped.
func (s *Store) splitStatements(src string) []string {
	r := strings.NewReplacer("{T}", s.qual, "{N}", s.prefix)
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, r.Replace(strings.TrimSpace(cur.String())))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, r.Replace(rest))
	}
	return out
}

// lockKey is the PostgreSQL advisory-lock key that serializes Migrate for
// one schema and prefix across processes.
func (s *Store) lockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("authkit/sqlstore/migrate:" + s.qual))
	return int64(h.Sum64())
}

// Migrate creates or upgrades the store's tables with the embedded,
// versioned migrations and records each applied version in the
// <prefix>schema_migrations table. It is idempotent and safe to run from
// several processes at once: on PostgreSQL the migrations run in one
// transaction under a transaction-scoped advisory lock
// (pg_advisory_xact_lock), on SQLite under BEGIN IMMEDIATE (the database
// write lock); DDL is transactional in both, so a failed migration leaves
// nothing half-applied. Versions recorded by a newer release are left alone.
//
// On SQLite, Migrate also checks that the connection has a busy_timeout,
// without which concurrent writers fail with SQLITE_BUSY instead of waiting
// (see [SQLiteDSN]).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := s.migrations()
	if err != nil {
		return wrap("migrate", err)
	}
	if s.dialect == SQLite {
		var timeout int64
		if err := s.db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil {
			return wrap("migrate", err)
		}
		if timeout <= 0 {
			return fmt.Errorf("sqlstore: migrate: SQLite connection has no busy_timeout; open it with sqlstore.SQLiteDSN or _pragma=busy_timeout(ms)")
		}
	}
	err = s.inTx(ctx, func(q querier) error {
		if s.dialect == Postgres {
			if _, err := q.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockKey()); err != nil {
				return err
			}
			if s.schema != "" {
				if _, err := q.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+s.schema); err != nil {
					return err
				}
			}
		}
		if _, err := q.ExecContext(ctx, s.render(`CREATE TABLE IF NOT EXISTS {T}schema_migrations (
	version BIGINT PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`)); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, s.render(`SELECT version FROM {T}schema_migrations`))
		if err != nil {
			return err
		}
		applied := map[int64]bool{}
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range ms {
			if applied[m.version] {
				continue
			}
			for _, stmt := range m.stmts {
				if _, err := q.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", m.name, err)
				}
			}
			if _, err := q.ExecContext(ctx, s.render(`INSERT INTO {T}schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`),
				m.version, m.name, s.nowMicros()); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("migrate", err)
}

// Version returns the highest applied migration version (0, with a nil
// error, before the first Migrate) and the latest version this release
// ships; applied < latest means Migrate has work to do. An error means the
// database could not be asked.
func (s *Store) Version(ctx context.Context) (applied, latest int64, err error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ms, err := s.migrations()
	if err != nil {
		return 0, 0, wrap("version", err)
	}
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	// Look the table up in the catalog first, so that a database Migrate
	// has never run on reports 0 rather than an "undefined table" error.
	var exists bool
	if s.dialect == Postgres {
		// to_regclass resolves an unqualified name through search_path, as
		// the store's own statements do; it is NULL for a missing table.
		err = s.db.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.Table("schema_migrations")).Scan(&exists)
	} else {
		err = s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1)`,
			s.Table("schema_migrations")).Scan(&exists)
	}
	if err != nil {
		return 0, latest, wrap("version", err)
	}
	if !exists {
		return 0, latest, nil
	}
	var v *int64
	err = s.db.QueryRowContext(ctx, s.render(`SELECT MAX(version) FROM {T}schema_migrations`)).Scan(&v)
	if err != nil {
		return 0, latest, wrap("version", err)
	}
	if v != nil {
		applied = *v
	}
	return applied, latest, nil
}
