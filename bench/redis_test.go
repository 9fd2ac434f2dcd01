package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/redisstore"
)

// The Redis benchmarks need a server: AUTHKIT_TEST_REDIS_URL, e.g.
// redis://127.0.0.1:6379/0. Without it they skip. Each run uses a random
// key prefix whose keys are deleted at the end (never FLUSHDB).
//
// Besides time and allocations they report the Redis traffic per operation,
// counted by a go-redis hook on the client:
//
//   - roundtrips/op: calls that waited for the server: one per command
//     sent alone, one per pipeline (EVALSHA falling back to EVAL would
//     count two; the warm-up loads the scripts first).
//   - commands/op: Redis commands sent, pipelined ones included.
//
// docs/PERF.md's target for a read-only request through the session middleware
// is one round trip.

const redisURLEnv = "AUTHKIT_TEST_REDIS_URL"

// redisCounters is a go-redis hook counting round trips and commands.
type redisCounters struct {
	roundTrips atomic.Int64
	commands   atomic.Int64
}

func (c *redisCounters) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *redisCounters) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.roundTrips.Add(1)
		c.commands.Add(1)
		return next(ctx, cmd)
	}
}

func (c *redisCounters) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.roundTrips.Add(1)
		c.commands.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func (c *redisCounters) reset() { c.roundTrips.Store(0); c.commands.Store(0) }

func (c *redisCounters) report(b *testing.B) {
	b.ReportMetric(float64(c.roundTrips.Load())/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(c.commands.Load())/float64(b.N), "commands/op")
}

// redisStore returns a store on a counting client of the test server, on a
// fresh key prefix; it skips without a server.
func redisStore(b *testing.B) (*redisstore.Store, *redisCounters) {
	b.Helper()
	url := os.Getenv(redisURLEnv)
	if url == "" {
		b.Skip(redisURLEnv + " is not set")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	if c, err := net.Dial("tcp", opt.Addr); err != nil {
		b.Fatalf("%s=%s: %v", redisURLEnv, url, err)
	} else {
		c.Close()
	}
	c := redis.NewClient(opt)
	b.Cleanup(func() { c.Close() })
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	prefix := "authkit-bench:" + hex.EncodeToString(rnd[:]) + ":"
	b.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Unlink(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			b.Errorf("cleanup of %s: %v", prefix, err)
		}
	})
	st, err := redisstore.New(redisstore.Config{Client: c, Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	counters := &redisCounters{}
	c.AddHook(counters)
	return st, counters
}

// BenchmarkRedisSession: a request through session.Manager.LoadAndSave on
// redisstore's session store, read-only (the handler reads one value;
// LastSeen is not due, so nothing is written: one HGET) and writing (the
// handler puts a value each time, so the record is saved).
func BenchmarkRedisSession(b *testing.B) {
	for _, op := range []struct {
		name  string
		write bool
	}{{"read", false}, {"write", true}} {
		b.Run("op="+op.name+"/impl=authkit-redis", func(b *testing.B) {
			st, counters := redisStore(b)
			m, err := session.New(session.Config{Store: st.Sessions()})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := session.FromContext(r.Context())
				if r.URL.Path == "/init" {
					if err := s.Put("k", "hello"); err != nil {
						b.Error(err)
					}
				} else if s.GetString("k") != "hello" {
					b.Error("lost value")
				}
				if op.write {
					n++
					if err := s.Put("n", n); err != nil {
						b.Error(err)
					}
				}
				io.WriteString(w, "ok")
			}))
			cookie := firstCookie(b, h)
			// Warm up: connections open and scripts loaded.
			for range 10 {
				sqlServe(b, h, cookie)
			}
			counters.reset()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				sqlServe(b, h, cookie)
			}
			b.StopTimer()
			counters.report(b)
		})
	}
}

// BenchmarkRedisRefresh: one refresh-token rotation (jwt.RefreshManager.Refresh:
// the atomic Use of the old token and the Create of its successor) on
// redisstore's refresh store.
func BenchmarkRedisRefresh(b *testing.B) {
	b.Run("op=rotate/impl=authkit-redis", func(b *testing.B) {
		st, counters := redisStore(b)
		m, err := jwt.NewRefreshManager(jwt.RefreshConfig{Store: st.RefreshTokens()})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		tok, _, err := m.Issue(ctx, "user-1", jwt.SignIn{})
		if err != nil {
			b.Fatal(err)
		}
		for range 10 {
			if tok, _, err = m.Refresh(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
		counters.reset()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if tok, _, err = m.Refresh(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		counters.report(b)
	})
}
