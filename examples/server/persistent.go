package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/store/redisstore"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// openPersistentStores opens the SQLite, PostgreSQL or Redis stores and, for
// SQL, runs the embedded migrations and a background purge of expired rows.
func openPersistentStores(ctx context.Context, kind, rest, redisPrefix string, now func() time.Time, log *slog.Logger) (*stores, error) {
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
			desc:      kind,
			sessions:  st.Sessions(),
			refresh:   st.RefreshTokens(),
			notBefore: st.NotBefore(),
			mfa:       st.MFA(),
			replay:    st.TOTPReplay(),
			tickets:   st.Tickets(),
			passkeys:  st.Passkeys(),
			attempts:  st.Attempts(),
			close: func() error {
				stopPurge()
				<-done
				return db.Close()
			},
		}, nil
	case "redis":
		return openRedisStores(ctx, rest, redisPrefix, now)
	}
	return nil, fmt.Errorf("-store %s: unknown", kind)
}

// openRedisStores opens the Redis stores (sessions, tokens, MFA state and
// counters; the user table stays in SQL, see -users). Redis keeps expiry
// itself, so no purge runs.
func openRedisStores(ctx context.Context, url, prefix string, now func() time.Time) (*stores, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("-store redis: %w", err)
	}
	client := redis.NewClient(opt)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("-store redis: %w", err)
	}
	st, err := redisstore.New(redisstore.Config{Client: client, Prefix: prefix, Now: now})
	if err != nil {
		client.Close()
		return nil, err
	}
	return &stores{
		desc:      "redis",
		sessions:  st.Sessions(),
		refresh:   st.RefreshTokens(),
		notBefore: st.NotBefore(),
		mfa:       st.MFA(),
		replay:    st.TOTPReplay(),
		tickets:   st.Tickets(),
		passkeys:  st.Passkeys(),
		attempts:  st.Attempts(),
		close:     client.Close,
	}, nil
}
