package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/internal/testenv"
	"github.com/authkit-go/authkit/store/redisstore"
)

func TestMain(m *testing.M) {
	storetestkit.Main(childRoles)
	redis.SetLogger(quietLogger{}) // the fault tests make go-redis log every failed dial
	// Most conformance cases wait on the server (and the TTL cases sleep
	// ~2.5 s of real time).
	storetestkit.Flags(16)
	code := m.Run()
	clients.mu.Lock()
	for _, c := range clients.m {
		c.Close()
	}
	clients.mu.Unlock()
	os.Exit(code)
}

// clients holds one client per backend, shared by the test cases; every case
// has its own random key prefix on it, so cases never see each other's keys
// and nothing is flushed.
var clients struct {
	mu sync.Mutex
	m  map[string]redis.UniversalClient
}

// backend is one Redis deployment under test.
type backend struct {
	name   string
	client func(t testing.TB) redis.UniversalClient
}

var backends = []backend{
	{"Single", singleClient},
	{"Cluster", clusterClient},
}

func shared(name string, mk func() redis.UniversalClient) redis.UniversalClient {
	clients.mu.Lock()
	defer clients.mu.Unlock()
	if clients.m == nil {
		clients.m = map[string]redis.UniversalClient{}
	}
	if c, ok := clients.m[name]; ok {
		return c
	}
	c := mk()
	clients.m[name] = c
	return c
}

// singleClient returns the shared client of the single-node server named
// by AUTHKIT_TEST_REDIS_URL (skipping without it, failing under CI=true).
func singleClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	url := testenv.Redis(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return shared("single", func() redis.UniversalClient {
		opt.PoolSize = 128
		return redis.NewClient(opt)
	})
}

// clusterClient returns the shared client of the Redis Cluster named by
// AUTHKIT_TEST_REDIS_CLUSTER_ADDRS.
func clusterClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	addrs := testenv.RedisCluster(t)
	return shared("cluster", func() redis.UniversalClient {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: 128})
	})
}

func randPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "authkit-test:" + hex.EncodeToString(b[:]) + ":"
}

// newStore returns a store on a fresh random prefix of c and deletes the
// prefix's keys when t ends.
func newStore(t testing.TB, c redis.UniversalClient, cfg redisstore.Config) *redisstore.Store {
	t.Helper()
	return newStoreVia(t, c, c, cfg)
}

// newStoreVia is newStore for a client c that may stop working (a fault
// test): the keys are deleted through admin instead.
func newStoreVia(t testing.TB, c, admin redis.UniversalClient, cfg redisstore.Config) *redisstore.Store {
	t.Helper()
	cfg.Client = c
	if cfg.Prefix == "" {
		cfg.Prefix = randPrefix()
	}
	if cfg.Timeout == 0 {
		// The suites check outcomes, not latency, on a loaded machine under
		// -race; Config.Timeout itself is tested in infra_test.go.
		cfg.Timeout = 30 * time.Second
	}
	if c != admin {
		cfg.UnsafeAllowEvictingPolicy = true // c may be down: admin's server was checked
	}
	st, err := redisstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePrefix(t, admin, st.Prefix()) })
	return st
}

// deletePrefix removes every key under prefix (SCAN + DEL on each master).
func deletePrefix(t testing.TB, c redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	del := func(ctx context.Context, n redis.UniversalClient) error {
		iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := n.Unlink(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return del(ctx, n) })
	} else {
		err = del(ctx, c)
	}
	if err != nil {
		t.Errorf("cleanup of %s: %v", prefix, err)
	}
}

// forEachBackend runs f in a parallel subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.client(t)
			t.Parallel()
			f(t, b)
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// kitStores are st's accessors for the shared drivers.
func kitStores(st *redisstore.Store) storetestkit.Stores {
	return storetestkit.Stores{Attempts: st.Attempts(), Tickets: st.Tickets(),
		Sessions: st.Sessions(), RefreshTokens: st.RefreshTokens(), NotBefore: st.NotBefore(),
		MFA: st.MFA(), TOTPReplay: st.TOTPReplay()}
}
