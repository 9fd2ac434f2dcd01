package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/redisstore"
)

// New validates the configuration, then asks every Redis master for its
// maxmemory-policy and refuses anything but noeviction. The client should
// honour context deadlines, so the store's Timeout bounds every call.
// Every adapter shares the client and the key prefix.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true, MaxRetries: 1})
	defer rdb.Close()
	// An invalid configuration fails before any I/O.
	_, err := redisstore.New(redisstore.Config{Client: rdb, Prefix: "{myapp}:"})
	fmt.Println(err)
	// Output:
	// redisstore: invalid config: Prefix "{myapp}:" contains '{' or '}'
}

// Wiring sessions, refresh tokens and a rate limiter to one Redis Cluster.
// A *redis.Client (single node) or a failover (Sentinel) client works the
// same way: the store takes a redis.UniversalClient.
func Example_cluster() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
	})
	defer rdb.Close()
	st, err := redisstore.New(redisstore.Config{Client: rdb})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(session.Config{Store: st.Sessions()})
	if err != nil {
		log.Fatal(err)
	}
	refresh, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st.RefreshTokens()})
	if err != nil {
		log.Fatal(err)
	}
	_ = refresh // hand it to the token endpoint

	// 5 sign-ups per minute per client address, shared by every instance.
	limiter, err := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{
		Counter: st.Attempts(), Limit: 5, Window: time.Minute, Prefix: "rl-signup:",
	})
	if err != nil {
		log.Fatal(err)
	}
	ips, err := middleware.NewClientIPResolver(middleware.ClientIPResolverConfig{}) // list trusted proxies here
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	signup := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { /* ... */ })
	mux.Handle("POST /signup", middleware.RateLimit(limiter, ips.Key)(signup))
	_ = http.ListenAndServe(":8080", sessions.LoadAndSave(mux))
}

// The attempt counter is also the rate limiter's counter: a limiter's
// decision for one key, shared by every instance; a store error must deny.
func ExampleStore_Attempts() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	st, _ := redisstore.New(redisstore.Config{Client: rdb})
	l, _ := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{
		Counter: st.Attempts(), Limit: 3, Window: time.Hour, Prefix: "rl:reset-mail:",
	})
	d, err := l.Allow(context.Background(), "alice@example.com")
	switch {
	case err != nil:
		log.Print("limiter unavailable: refusing") // fail closed
	case !d.Allowed:
		log.Printf("try again in %v", d.RetryAfter)
	}
}
