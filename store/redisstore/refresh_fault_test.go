package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/internal/testenv"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/redisstore"
)

// Fault tests of refresh rotation: whatever fails between or around the
// store's commands, a client that did nothing wrong and presents its token
// again keeps its sign-in (no family burned, no reuse verdict), there is
// never more than one live successor, and a presentation after the grace
// window is still reuse.

// faultHook fails the command its Faults arm: "before" without sending
// it, "after" once the server has executed it (the reply is lost).
type faultHook struct{ f *storetestkit.Faults }

func (h faultHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h faultHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h faultHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		mode := h.f.Next()
		if mode == "before" {
			cmd.SetErr(storetestkit.ErrInjected)
			return storetestkit.ErrInjected
		}
		err := next(ctx, cmd)
		if mode == "after" {
			cmd.SetErr(storetestkit.ErrInjected)
			return storetestkit.ErrInjected
		}
		return err
	}
}

// hookedClient returns a new client of backend b with h installed.
func hookedClient(t *testing.T, b backend, h redis.Hook) redis.UniversalClient {
	t.Helper()
	var c redis.UniversalClient
	if b.name == "Cluster" {
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: testenv.RedisCluster(t), MaxRetries: -1})
	} else {
		opt, err := redis.ParseURL(testenv.Redis(t))
		must(t, err)
		opt.MaxRetries = -1
		c = redis.NewClient(opt)
	}
	c.AddHook(h)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRefreshFaultAtEveryCommand fails each command a rotation sends, once
// before the server runs it and once after (a lost reply), on a single
// node and on the Cluster (storetestkit.FaultAtEveryStep). A rotation
// sends EVALSHA; EVALSHA and EVAL when the server does not have the
// script yet.
func TestRefreshFaultAtEveryCommand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		f := storetestkit.NewFaults()
		c := hookedClient(t, b, faultHook{f})
		st := newStoreVia(t, c, b.client(t), redisstore.Config{})
		storetestkit.FaultAtEveryStep(t, st.RefreshTokens(), f, 1, "command")
	})
}

// TestRefreshLostReply drops the reply to a rotation on the wire: go-redis
// retries the script on a new connection (driver retry), or, with retries
// off, the client presents its token again (client retry). Either way the
// client gets the one successor and no reuse is reported.
func TestRefreshLostReply(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(singleURL(t))
	must(t, err)
	for _, retries := range []int{3, -1} {
		t.Run(fmt.Sprintf("MaxRetries=%d", retries), func(t *testing.T) {
			t.Parallel()
			px := storetestkit.NewProxy(t, opt.Addr)
			o := *opt
			o.Addr, o.MaxRetries = px.Addr(), retries
			c := redis.NewClient(&o)
			t.Cleanup(func() { c.Close() })
			st := newStoreVia(t, c, singleClient(t), redisstore.Config{})
			clk := storetestkit.NewClock()
			m, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st.RefreshTokens(), Now: clk.Now})
			must(t, err)
			ctx := t.Context()
			for i := range 5 {
				tok, _, err := m.Issue(ctx, fmt.Sprint("lost-", i), jwt.SignIn{})
				must(t, err)
				must(t, c.Ping(ctx).Err())
				px.DropNextReply()
				next, _, err := m.Refresh(ctx, tok)
				if retries > 0 {
					if err != nil {
						t.Fatalf("rotation whose reply was lost, retried by the driver: %v", err)
					}
					if again, _, err := m.Refresh(ctx, tok); err != nil || again != next {
						t.Fatalf("presented again: %q %v, want %q", again, err, next)
					}
				} else {
					if err == nil || errors.Is(err, jwt.ErrTokenReused) || errors.Is(err, jwt.ErrInvalidToken) {
						t.Fatalf("rotation whose reply was lost, no driver retry: %v, want a store error", err)
					}
					storetestkit.CheckAfterFault(t, m, clk, tok)
				}
			}
		})
	}
}

// TestRefreshKilledMidRotation SIGKILLs a process that rotates refresh
// tokens in a loop, then presents each family's last token the client
// knows (storetestkit.KillMidRotation): every family rotates, no reuse,
// one successor.
func TestRefreshKilledMidRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := newStore(t, b.client(t), redisstore.Config{})
		storetestkit.KillMidRotation(t, st.RefreshTokens(), 20, "rotate", childArgsOf(b, st))
	})
}

func rotateChild(st *redisstore.Store, _ int) int {
	return storetestkit.RotateChild(st.RefreshTokens())
}
