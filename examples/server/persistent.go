package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/authkit-go/authkit/store/sqlstore"
)

// openPersistentStores opens the SQLite, PostgreSQL or Redis stores and, for
// SQL, runs the embedded migrations and a background purge of expired rows.
func openPersistentStores(ctx context.Context, kind, rest string, now func() time.Time, log *slog.Logger) (*stores, error) {
	switch kind {
	case "sqlite", "postgres":
		var db *sql.DB
		var err error
		dialect := sqlstore.Postgres
		if kind == "sqlite" {
			dialect = sqlstore.SQLite
			db, err = sql.Open("sqlite", sqlstore.SQLiteDSN(rest))
		} else {
			db, err = sql.Open("pgx", rest)
		}
		if err != nil {
			return nil, err
		}
		st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: dialect, Now: now})
		if err != nil {
			db.Close()
			return nil, err
		}
		if err := st.Migrate(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("-store %s: migrating: %w", kind, err)
		}
		purgeCtx, stopPurge := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(10 * time.Minute)
			defer t.Stop()
			for {
				select {
				case <-purgeCtx.Done():
					return
				case <-t.C:
					if n, err := st.Purge(purgeCtx); err != nil {
						log.Warn("purging expired rows", "err", err)
					} else if n > 0 {
						log.Info("purged expired rows", "rows", n)
					}
				}
			}
		}()
		return &stores{
			desc:       kind,
			sessions:   st.Sessions(),
			refresh:    st.RefreshTokens(),
			notBefore:  st.NotBefore(),
			mfa:        st.MFA(),
			replay:     st.TOTPReplay(),
			challenges: st.Challenges(),
			attempts:   st.Attempts(),
			close: func() error {
				stopPurge()
				<-done
				return db.Close()
			},
		}, nil
	case "redis":
		return openRedisStores(ctx, rest, now)
	}
	return nil, fmt.Errorf("-store %s: unknown", kind)
}

// openRedisStores opens the Redis stores.
func openRedisStores(ctx context.Context, url string, now func() time.Time) (*stores, error) {
	return nil, fmt.Errorf("-store redis: not available yet in this build (use -store memory, sqlite:PATH or postgres:DSN)")
}
