package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/internal/testenv"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/store/redisstore"
)

// The cross-process tests re-execute the test binary; TestMain hands a
// child to the body its role names (storetestkit.Main).
var childRoles = map[string]func(args []byte) int{
	"race":    storetestkit.Child(openChild, raceChild),
	"revoke":  storetestkit.Child(openChild, revokeChild),
	"rotate":  storetestkit.Child(openChild, rotateChild),
	"passkey": storetestkit.Child(openChild, passkeyChild),
}

// childArgs tell a child which store to open.
type childArgs struct {
	Kind   string // "single" or "cluster"
	Prefix string
}

func childArgsOf(b backend, st *redisstore.Store) childArgs {
	return childArgs{Kind: strings.ToLower(b.name), Prefix: st.Prefix()}
}

// openChild opens a child's own client and store and connects it.
func openChild(a childArgs) (*redisstore.Store, func(), error) {
	var c redis.UniversalClient
	if a.Kind == "cluster" {
		var addrs []string
		for a := range strings.SplitSeq(os.Getenv(testenv.RedisClusterAddrsEnv), ",") {
			addrs = append(addrs, strings.TrimSpace(a))
		}
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	} else {
		opt, err := redis.ParseURL(os.Getenv(testenv.RedisURLEnv))
		if err != nil {
			return nil, nil, err
		}
		c = redis.NewClient(opt)
	}
	st, err := redisstore.New(redisstore.Config{Client: c, Prefix: a.Prefix, Timeout: 30 * time.Second})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return st, func() { c.Close() }, c.Ping(context.Background()).Err() // connect before the race
}

const crossBurst = 3 // limiter limit: of all racers exactly this many are allowed

// crossRace is the race of TestCrossProcess; lim, in a child, is its
// limiter.
func crossRace(lim middleware.Limiter) storetestkit.RaceConfig {
	c := storetestkit.RaceConfig{Rounds: 20, Goroutines: 4, Slot: 40 * time.Millisecond, Token: crossToken, Next: crossNext, Burst: crossBurst}
	if lim != nil {
		c.Allow = func(ctx context.Context, key string) (bool, error) {
			d, err := lim.Allow(ctx, key)
			return d.Allowed, err
		}
	}
	return c
}

// crossToken is the id of round i's refresh token (a token of user "u").
func crossToken(i int) string {
	return jwt.RefreshTokenID(fmt.Sprintf("%s%s%043d", jwt.RefreshTokenPrefix, jwt.RefreshShard("u"), i))
}

// crossNext is a fresh successor id in crossToken's shard.
func crossNext() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return jwt.RefreshTokenID(jwt.RefreshTokenPrefix + jwt.RefreshShard("u") + fmt.Sprintf("%043x", b))
}

func raceStores(st *redisstore.Store) storetestkit.RaceStores {
	return storetestkit.RaceStores{Refresh: st.RefreshTokens(), TOTP: st.TOTPReplay(), MFA: st.MFA(), Tickets: st.Tickets()}
}

// TestCrossProcess races two OS processes, each with its own client and
// connection pool and several goroutines, on the same refresh tokens, TOTP
// steps, backup codes, MFA enrollment versions and rate-limiter keys, on a
// single node and on the Cluster (storetestkit.CrossProcess): exactly one
// caller in all wins each, and exactly the limiter's burst of calls is
// allowed.
func TestCrossProcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := newStore(t, b.client(t), redisstore.Config{})
		storetestkit.CrossProcess(t, raceStores(st), crossRace(nil), 2, "race", childArgsOf(b, st))
	})
}

func raceChild(st *redisstore.Store, _ int) int {
	lim, err := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{Counter: st.Attempts(), Limit: crossBurst, Window: time.Hour, Prefix: "rl:cross:"})
	if err != nil {
		return storetestkit.Fail(err)
	}
	return storetestkit.RaceChild(raceStores(st), crossRace(lim))
}
