// Command production is authkit's production setup; README.md says what it shows.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/rbac"
	"github.com/authkit-go/authkit/store/redisstore"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	dsn := flag.String("db", os.Getenv("DATABASE_URL"), "PostgreSQL DSN of the users table")
	redisURL := flag.String("redis", os.Getenv("REDIS_URL"), "Redis URL of authkit's stores")
	dir := flag.String("secrets", ".", "directory of the master secret and signing keys")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	db, err1 := pgxpool.New(ctx, *dsn)
	opt, err2 := redis.ParseURL(*redisURL)
	srv, err := &http.Server{Addr: *addr, ReadHeaderTimeout: 10 * time.Second}, errors.Join(err1, err2)
	if err == nil {
		if srv.Handler, err = setup(ctx, db, redis.NewClient(opt), "authkit:", *dir, "https://"+*addr); err == nil {
			context.AfterFunc(ctx, func() { _ = srv.Shutdown(context.Background()) })
			err = srv.ListenAndServe() // behind a proxy that terminates TLS
		}
	}
	if stop(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err) // every start-up failure: its cause and exit status 1
	}
}

// setup wires authkit to the host's users table and to Redis.
func setup(ctx context.Context, db *pgxpool.Pool, rdb redis.UniversalClient, prefix, dir, issuer string) (http.Handler, error) {
	st, err1 := redisstore.New(redisstore.Config{Client: rdb, Prefix: prefix})
	secret, err2 := authkit.LoadOrCreateSecret(dir + "/master.secret")
	policy, err3 := rbac.New(rbac.Config{Roles: []rbac.Role{{Name: "viewer"}, {Name: "analyst", Permissions: []string{"reports:read"}}}})
	users, err4 := OpenUsers(ctx, db)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	secrets, err1 := authkit.NewSecrets(secret)
	authz, err2 := rbac.NewAuthorizer(policy)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	box, err1 := secrets.MFASecretBox()
	keys, err2 := signingKeys(ctx, dir+"/signing-keys.json", secrets.Key("app:signing-keys"))
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	totp, err := mfa.New(mfa.Config{Issuer: "Example", Store: st.MFA(), Replay: st.TOTPReplay(),
		Tickets: st.Tickets(), Throttle: st.Attempts(), Box: box, BackupKey: secrets.MFABackupKey()})
	if err != nil {
		return nil, err
	}
	auth, err := authkit.New(authkit.Config{Users: users, Keys: keys, Secrets: secrets, TokenIssuer: issuer,
		MFA: totp, RefreshStore: st.RefreshTokens(), NotBefore: st.NotBefore(), Attempts: st.Attempts()})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler()) // browsers: HttpOnly cookies
	mux.Handle("/api/v1/auth/", auth.Handler(authkit.WithPrefix("/api/v1/auth"), authkit.WithDelivery(authkit.DeliverBody)))
	canRead := middleware.RequirePermission(authz, "reports:read", nil)
	mux.Handle("GET /api/reports", auth.Authenticator().RequireAuth(canRead(http.HandlerFunc(reports))))
	return mux, nil
}
