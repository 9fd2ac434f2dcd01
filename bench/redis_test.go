package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"

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
type redisCounters struct{ storeCounters }

func (c *redisCounters) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *redisCounters) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.roundTrips.Add(1)
		c.requests.Add(1)
		return next(ctx, cmd)
	}
}

func (c *redisCounters) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.roundTrips.Add(1)
		c.requests.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// redisStore returns a store on a counting client of the test server, on a
// fresh key prefix; it skips without a server.
func redisStore(b *testing.B) (*redisstore.Store, *redisCounters) {
	b.Helper()
	url := benchEnv(b, redisURLEnv)
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
	counters := &redisCounters{storeCounters{unit: "commands"}}
	c.AddHook(counters)
	return st, counters
}

func redisBench(b *testing.B) benchStores {
	st, counters := redisStore(b)
	return benchStores{st.Sessions(), st.RefreshTokens(), &counters.storeCounters}
}
