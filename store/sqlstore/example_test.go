package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	_ "modernc.org/sqlite"             // registers driver "sqlite"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// SQLite: one file, opened with the pragmas the store needs.
func Example_sqlite() {
	dir, err := os.MkdirTemp("", "authkit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "auth.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil { // once at start-up; idempotent
		log.Fatal(err)
	}
	sessions, err := session.New(session.Config{Store: st.Sessions()})
	if err != nil {
		log.Fatal(err)
	}
	_ = sessions // wrap the app: sessions.LoadAndSave(mux)

	applied, latest, err := st.Version(ctx)
	fmt.Println("schema up to date:", applied == latest, err)
	fmt.Println("sessions table:", st.Table("sessions"))
	// Output:
	// schema up to date: true <nil>
	// sessions table: authkit_sessions
}

// PostgreSQL through pgx's database/sql driver, in a schema of its own.
func Example_postgres() {
	ctx := context.Background()
	db, err := sql.Open("pgx", "postgres://app@db.internal:5432/app?sslmode=verify-full&connect_timeout=5")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: "authkit"})
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	refresh, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st.RefreshTokens()})
	if err != nil {
		log.Fatal(err)
	}
	_ = refresh
}

// Every adapter and the configuration field it goes into.
func Example_wiring() {
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(os.TempDir(), "authkit-wiring-example.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}

	_ = session.Config{Store: st.Sessions()}
	_ = jwt.RefreshManagerConfig{Store: st.RefreshTokens()}
	_ = jwt.VerifierConfig{NotBefore: st.NotBefore()}
	_ = mfa.Config{Store: st.MFA(), Replay: st.TOTPReplay(), Tickets: st.Tickets(), Throttle: st.Attempts()}
	_ = oauth.Config{Tickets: st.Tickets()}
	_ = authkit.Config{
		Users:        st.Users(), // or the host's own UserStore
		RefreshStore: st.RefreshTokens(),
		NotBefore:    st.NotBefore(),
		Attempts:     st.Attempts(),
		Tickets:      st.Tickets(),
	}
	fmt.Println("ok")
	// Output: ok
}

// Purge from a job the host controls: the store starts no goroutines.
func ExampleStore_Purge() {
	var st *sqlstore.Store // from sqlstore.New
	ctx := context.Background()
	tick := time.NewTicker(5 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if n, err := st.Purge(ctx); err != nil {
				log.Printf("purge: %v", err)
			} else {
				log.Printf("purged %d expired rows", n)
			}
		}
	}
}
