package redisstore_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/internal/testenv"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/store/redisstore"
)

// ownRedis starts a private redis-server on a free loopback port with args
// (never touching the shared servers' configuration) and returns its
// address. It skips when redis-server is not installed, except under
// CI=true, where it fails.
func ownRedis(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("redis-server not installed (CI=true)")
		}
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir}, args...)...)
	must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("own redis-server on %s did not start", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr
}

// TestNewRefusesEvictingPolicy: on a Redis whose maxmemory-policy can evict
// keys (allkeys-* and volatile-* alike: authkit's TTL keys are security
// records) New fails with ErrEvictingPolicy and ErrInvalidConfig, unless
// the host opts out by name; noeviction is accepted.
func TestNewRefusesEvictingPolicy(t *testing.T) {
	t.Parallel()
	addr := ownRedis(t, "--maxmemory-policy", "allkeys-lru")
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx := t.Context()
	for _, policy := range []string{"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "noeviction"} {
		// Our own server: changing its configuration affects no one else.
		must(t, c.ConfigSet(ctx, "maxmemory-policy", policy).Err())
		_, err := redisstore.New(redisstore.Config{Client: c})
		if policy == "noeviction" {
			if err != nil {
				t.Errorf("noeviction: New: %v", err)
			}
			continue
		}
		if !errors.Is(err, redisstore.ErrEvictingPolicy) || !errors.Is(err, redisstore.ErrInvalidConfig) {
			t.Errorf("%s: New err = %v, want ErrEvictingPolicy and ErrInvalidConfig", policy, err)
		}
		if _, err := redisstore.New(redisstore.Config{Client: c, UnsafeAllowEvictingPolicy: true}); err != nil {
			t.Errorf("%s with UnsafeAllowEvictingPolicy: New: %v", policy, err)
		}
	}
}

// TestNewChecksEveryClusterMaster: a Cluster client is checked on its
// masters (here a one-node cluster of our own with an evicting policy).
func TestNewChecksEveryClusterMaster(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := ownRedis(t, "--maxmemory-policy", "volatile-ttl", "--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dir, "nodes.conf"))
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	must(t, admin.Do(t.Context(), "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err())
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}})
	defer cc.Close()
	if _, err := redisstore.New(redisstore.Config{Client: cc}); !errors.Is(err, redisstore.ErrEvictingPolicy) {
		t.Fatalf("cluster with volatile-ttl: New err = %v, want ErrEvictingPolicy", err)
	}
	must(t, admin.ConfigSet(t.Context(), "maxmemory-policy", "noeviction").Err())
	if _, err := redisstore.New(redisstore.Config{Client: cc}); err != nil {
		t.Fatalf("cluster with noeviction: New: %v", err)
	}
}

// pttl returns the key's remaining time to live; -1 means no TTL, -2 no key.
func pttl(t *testing.T, c redis.UniversalClient, key string) time.Duration {
	t.Helper()
	d, err := c.PTTL(context.Background(), key).Result()
	must(t, err)
	return d
}

// skews are differences between the application's clock and Redis's: an
// application clock 2 minutes behind Redis (so Redis is ahead) and 2
// minutes ahead. The store is given the skewed clock through Config.Now,
// which is the same situation as a Redis server whose clock is skewed.
var skews = []time.Duration{-2 * time.Minute, 2 * time.Minute}

// TestCountersFollowRedisClock: with the clocks ±2 min apart, attempt
// counters keep counting (an absolute expiry in Redis's past would delete
// the key at once and restart every count at 1), always carry a TTL of at
// most the window, and expire when the window ends.
func TestCountersFollowRedisClock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, skew := range skews {
			t.Run(skew.String(), func(t *testing.T) {
				c := b.client(t)
				st := newStore(t, c, redisstore.Config{Now: func() time.Time { return time.Now().Add(skew) }})
				at := st.Attempts()
				key := st.Prefix() + "at:k"
				const window = 800 * time.Millisecond
				for want := 1; want <= 3; want++ {
					n, _, err := at.Incr(t.Context(), "k", window)
					must(t, err)
					if n != want {
						t.Fatalf("Incr #%d = %d: the counter does not keep counting", want, n)
					}
					if d := pttl(t, c, key); d <= 0 || d > window {
						t.Fatalf("after Incr #%d: PTTL = %v, want in (0, %v]", want, d, window)
					}
				}
				// A counter whose TTL was lost gets one back at the next Incr.
				must(t, c.Persist(t.Context(), key).Err())
				n, _, err := at.Incr(t.Context(), "k", window)
				must(t, err)
				if d := pttl(t, c, key); n != 4 || d <= 0 || d > window {
					t.Fatalf("Incr on a counter without TTL = %d, PTTL %v; want 4 and a TTL in (0, %v]", n, d, window)
				}
				// Redis drops it when the window ends, by its own clock.
				deadline := time.Now().Add(5 * time.Second)
				for pttl(t, c, key) != -2 {
					if time.Now().After(deadline) {
						t.Fatal("counter still present long after its window")
					}
					time.Sleep(50 * time.Millisecond)
				}
				if n, _, err := at.Incr(t.Context(), "k", window); err != nil || n != 1 {
					t.Fatalf("Incr after the window = %d, %v; want 1", n, err)
				}
			})
		}
	})
}

// TestTicketsFollowRedisClock: tickets put with the clocks ±2 min apart
// are stored for exactly their remaining lifetime by the application's
// clock, counted on Redis's clock: not dropped at once when Redis is
// ahead, not kept longer when it is behind.
func TestTicketsFollowRedisClock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, skew := range skews {
			t.Run(skew.String(), func(t *testing.T) {
				c := b.client(t)
				now := func() time.Time { return time.Now().Add(skew) }
				st := newStore(t, c, redisstore.Config{Now: now})
				const life = time.Minute
				must(t, st.Tickets().Put(t.Context(), "reset", "h1", []byte("x"), now().Add(life)))
				key := st.Prefix() + "tk:reset:h1"
				if d := pttl(t, c, key); d <= life-10*time.Second || d > life {
					t.Errorf("%s: PTTL = %v, want in (%v, %v]", key, d, life-10*time.Second, life)
				}
				if _, found, err := st.Tickets().Take(t.Context(), "reset", "h1"); err != nil || !found {
					t.Errorf("ticket: found=%v err=%v, want found", found, err)
				}
			})
		}
	})
}

// TestTicketExpiredByAppClockIsMissing: a ticket whose expiry has passed
// by Config.Now is not found, although Redis, whose clock has not moved,
// still holds it; a Put whose expiry has already passed stores nothing and
// removes the record it replaces.
func TestTicketExpiredByAppClockIsMissing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := b.client(t)
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		st := newStore(t, c, redisstore.Config{Now: now})
		ctx := t.Context()
		must(t, st.Tickets().Put(ctx, "p", "k", []byte("x"), now().Add(time.Minute)))
		offset.Store(int64(2 * time.Minute))
		if n := c.Exists(ctx, st.Prefix()+"tk:p:k").Val(); n != 1 {
			t.Fatalf("EXISTS = %d before Take; want 1 (Redis still holds the record)", n)
		}
		if _, found, err := st.Tickets().Take(ctx, "p", "k"); err != nil || found {
			t.Errorf("Take after the expiry by the app clock = found %v, err %v; want not found", found, err)
		}
		offset.Store(0)
		must(t, st.Tickets().Put(ctx, "p", "k2", []byte("live"), now().Add(time.Minute)))
		must(t, st.Tickets().Put(ctx, "p", "k2", []byte("dead"), now().Add(-time.Second)))
		if n := c.Exists(ctx, st.Prefix()+"tk:p:k2").Val(); n != 0 {
			t.Errorf("EXISTS = %d after a Put with a past expiry; want 0", n)
		}
	})
}

// TestBlackholedRedisAnswersWithinTimeout: every method of every adapter,
// and New's eviction check, return an error within about Config.Timeout
// when Redis accepts connections and never answers (the client configured
// as the package documentation advises), also when a method makes several
// round trips. Only a generous upper bound is checked.
func TestBlackholedRedisAnswersWithinTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	const bound = 4 * timeout
	c := redis.NewClient(&redis.Options{Addr: storetestkit.Blackhole(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() }) // after the parallel subtests
	start := time.Now()
	if _, err := redisstore.New(redisstore.Config{Client: c, Timeout: timeout}); err == nil || errors.Is(err, redisstore.ErrEvictingPolicy) {
		t.Errorf("New on a blackhole: err = %v, want a client error", err)
	}
	if d := time.Since(start); d > bound {
		t.Errorf("New on a blackhole took %v, want about %v", d, timeout)
	}
	st, err := redisstore.New(redisstore.Config{Client: c, Timeout: timeout, UnsafeAllowEvictingPolicy: true})
	must(t, err)
	l, err := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{Counter: st.Attempts(), Limit: 1, Window: time.Second})
	must(t, err)
	// Well-formed token ids (they name the user's shard), so the adapter
	// asks the server instead of refusing them locally.
	rid := jwt.RefreshTokenID(jwt.RefreshTokenPrefix + jwt.RefreshShard("u") + strings.Repeat("A", 43))
	rid2 := jwt.RefreshTokenID(jwt.RefreshTokenPrefix + jwt.RefreshShard("u") + strings.Repeat("B", 43))
	calls := storetestkit.Calls(kitStores(st), rid, rid2)
	calls["Limiter.Allow"] = func(ctx context.Context) error { _, err := l.Allow(ctx, "k"); return err }
	storetestkit.CheckBounded(t, calls, timeout, func(t *testing.T, err error) {
		if errors.Is(err, redis.ErrClosed) {
			t.Fatalf("err = %v: the client was closed, not blackholed", err)
		}
	})
}

// TestNewChecksClusterReplicas: a Cluster replica is promoted to master on
// failover with its own configuration, so New refuses a replica whose
// maxmemory-policy can evict keys even when every master has noeviction
// (here a cluster of our own: one master, one replica).
func TestNewChecksClusterReplicas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dirA, dirB := t.TempDir(), t.TempDir()
	master := ownRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dirA, "nodes.conf"))
	replica := ownRedis(t, "--maxmemory-policy", "allkeys-lru", "--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dirB, "nodes.conf"))
	a := redis.NewClient(&redis.Options{Addr: master})
	defer a.Close()
	b := redis.NewClient(&redis.Options{Addr: replica})
	defer b.Close()
	must(t, a.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err())
	host, port, err := net.SplitHostPort(replica)
	must(t, err)
	must(t, a.ClusterMeet(ctx, host, port).Err())
	masterID, err := a.Do(ctx, "CLUSTER", "MYID").Text()
	must(t, err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// B must know A before it can replicate it.
		if err := b.Do(ctx, "CLUSTER", "REPLICATE", masterID).Err(); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("CLUSTER REPLICATE: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		// Clients learn replicas from CLUSTER SLOTS, which lists one once
		// it has synced with its master.
		slots, err := a.Do(ctx, "CLUSTER", "SLOTS").Slice()
		must(t, err)
		// One range: start, end, the master, the replica.
		if len(slots) == 1 {
			if r, ok := slots[0].([]any); ok && len(r) == 4 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica not listed by CLUSTER SLOTS: %+v", slots)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{master}})
	defer cc.Close()
	if _, err := redisstore.New(redisstore.Config{Client: cc}); !errors.Is(err, redisstore.ErrEvictingPolicy) {
		t.Fatalf("cluster with an allkeys-lru replica: New err = %v, want ErrEvictingPolicy", err)
	}
	must(t, b.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	if _, err := redisstore.New(redisstore.Config{Client: cc}); err != nil {
		t.Fatalf("cluster with noeviction everywhere: New: %v", err)
	}
}
