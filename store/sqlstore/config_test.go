package sqlstore_test

import (
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/store/sqlstore"
)

func TestNewConfig(t *testing.T) {
	// sql.Open does not connect: New does no I/O.
	db, err := sql.Open("sqlite", ":memory:")
	must(t, err)
	defer db.Close()

	bad := []struct {
		name string
		cfg  sqlstore.Config
	}{
		{"nil DB", sqlstore.Config{Dialect: sqlstore.SQLite}},
		{"zero Dialect", sqlstore.Config{DB: db}},
		{"unknown Dialect", sqlstore.Config{DB: db, Dialect: sqlstore.Dialect(3)}},
		{"Schema on SQLite", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, Schema: "auth"}},
		{"Schema upper case", sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: "Auth"}},
		{"Schema with dash", sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: "a-b"}},
		{"Schema starting with digit", sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: "1a"}},
		{"Schema injection", sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: "a; DROP SCHEMA public"}},
		{"Schema quoted", sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: `"a"`}},
		{"Schema with dot", sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: "a.b"}},
		{"Schema too long", sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: strings.Repeat("a", 64)}},
		{"TablePrefix upper case", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: "App_"}},
		{"TablePrefix with space", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: "a b"}},
		{"TablePrefix with dot", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: "x.y_"}},
		{"TablePrefix injection", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: "x;--"}},
		{"TablePrefix too long", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: strings.Repeat("a", 41)}},
		{"TablePrefix double dash", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: "--"}},
		{"negative RevokedFamilyRetention", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, RevokedFamilyRetention: -1}},
		{"negative Timeout", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, Timeout: -1}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			st, err := sqlstore.New(c.cfg)
			if !errors.Is(err, sqlstore.ErrInvalidConfig) || st != nil {
				t.Fatalf("New = %v, %v; want nil, ErrInvalidConfig", st, err)
			}
		})
	}

	good := []struct {
		name      string
		cfg       sqlstore.Config
		wantTable string // Table("users")
	}{
		{"defaults", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite}, "authkit_users"},
		{"no prefix", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: "-"}, "users"},
		{"prefix", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: "app_"}, "app_users"},
		{"prefix at the limit", sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, TablePrefix: strings.Repeat("a", 40)}, strings.Repeat("a", 40) + "users"},
		{"schema", sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: "auth"}, "auth.authkit_users"},
		{"schema and prefix", sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: "_a1", TablePrefix: "x_"}, "_a1.x_users"},
		{"schema at the limit", sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: strings.Repeat("s", 63)}, strings.Repeat("s", 63) + ".authkit_users"},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			st, err := sqlstore.New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Table("users"); got != c.wantTable {
				t.Errorf("Table(users) = %q, want %q", got, c.wantTable)
			}
			if st.DB() != db || st.Dialect() != c.cfg.Dialect {
				t.Error("DB or Dialect not kept")
			}
		})
	}

	for d, want := range map[sqlstore.Dialect]string{sqlstore.Postgres: "postgres", sqlstore.SQLite: "sqlite", 0: "sqlstore.Dialect(0)"} {
		if got := d.String(); got != want {
			t.Errorf("Dialect(%d).String() = %q, want %q", int(d), got, want)
		}
	}
	if got, want := sqlstore.SQLiteDSN("/tmp/a.db"), "/tmp/a.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"; got != want {
		t.Errorf("SQLiteDSN = %q, want %q", got, want)
	}
}
