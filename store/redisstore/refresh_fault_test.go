package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/internal/testenv"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/redisstore"
)

// Fault tests of refresh rotation: whatever fails between or around the
// store's commands, a client that did nothing wrong and presents its token
// again keeps its sign-in (no family burned, no reuse verdict), there is
// never more than one live successor, and a presentation after the grace
// window is still reuse.

// errInjected is the fault a faultHook injects.
var errInjected = errors.New("injected fault")

// faultHook fails the armed command: "before" without sending it,
// "after" once the server has executed it (the reply is lost).
type faultHook struct {
	mu    sync.Mutex
	at    int // commands to let through before the fault; -1: disarmed
	mode  string
	count int // commands seen since arming
}

func (h *faultHook) arm(at int, mode string) {
	h.mu.Lock()
	h.at, h.mode, h.count = at, mode, 0
	h.mu.Unlock()
}

func (h *faultHook) seen() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

func (h *faultHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *faultHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *faultHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		fire := h.count == h.at
		h.count++
		mode := h.mode
		if fire {
			h.at = -1
		}
		h.mu.Unlock()
		if fire && mode == "before" {
			cmd.SetErr(errInjected)
			return errInjected
		}
		err := next(ctx, cmd)
		if fire && mode == "after" {
			cmd.SetErr(errInjected)
			return errInjected
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

// testClock is a settable clock for the managers.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

// checkAfterFault checks the family of a token whose rotation failed: the
// client presents tok again and gets a successor; presenting tok again
// within the window gives that same successor (one live successor); the
// successor rotates; and after the window tok is reuse, which ends the
// family.
func checkAfterFault(t *testing.T, m *jwt.RefreshManager, clk *testClock, tok string) {
	t.Helper()
	ctx := t.Context()
	next, _, err := m.Refresh(ctx, tok)
	if err != nil {
		t.Fatalf("retry after the fault: %v (reuse=%v)", err, errors.Is(err, jwt.ErrTokenReused))
	}
	again, _, err := m.Refresh(ctx, tok)
	if err != nil || again != next {
		t.Fatalf("second retry: %q %v, want the same successor %q", again, err, next)
	}
	clk.Advance(jwt.DefaultGraceWindow + time.Second)
	if _, _, err := m.Refresh(ctx, tok); !errors.Is(err, jwt.ErrTokenReused) {
		t.Fatalf("the old token after the window: %v, want reuse", err)
	}
	if _, _, err := m.Refresh(ctx, next); !errors.Is(err, jwt.ErrInvalidToken) {
		t.Fatalf("the successor after reuse: %v, want invalid (family revoked)", err)
	}
}

// TestRefreshFaultAtEveryCommand fails each command a rotation sends, once
// before the server runs it and once after (a lost reply), on a single
// node and on the Cluster.
func TestRefreshFaultAtEveryCommand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := &faultHook{at: -1}
		c := hookedClient(t, b, h)
		st := newStoreVia(t, c, b.client(t), redisstore.Config{})
		clk := newTestClock()
		m, err := jwt.NewRefreshManager(jwt.RefreshConfig{Store: st.RefreshTokens(), Now: clk.Now})
		must(t, err)
		// Count the commands of one rotation (EVALSHA; EVALSHA and EVAL
		// when the server does not have the script yet).
		tok, _, err := m.Issue(t.Context(), "counter", jwt.SignIn{})
		must(t, err)
		h.arm(-1, "")
		_, _, err = m.Refresh(t.Context(), tok)
		must(t, err)
		steps := h.seen()
		if steps < 1 {
			t.Fatalf("a rotation sent %d commands", steps)
		}
		for _, mode := range []string{"before", "after"} {
			for k := range steps {
				t.Run(fmt.Sprintf("%s_%d", mode, k), func(t *testing.T) {
					user := fmt.Sprintf("u-%s-%d", mode, k)
					tok, _, err := m.Issue(t.Context(), user, jwt.SignIn{})
					must(t, err)
					h.arm(k, mode)
					if _, _, err := m.Refresh(t.Context(), tok); !errors.Is(err, errInjected) {
						t.Fatalf("rotation with a fault at command %d: %v", k, err)
					}
					h.arm(-1, "")
					checkAfterFault(t, m, clk, tok)
				})
			}
		}
	})
}

// replyDropper is a TCP proxy that can drop the next reply from the server
// (closing the client's connection after the server executed a command).
type replyDropper struct {
	ln   net.Listener
	drop atomic.Bool
	wg   sync.WaitGroup
}

func newReplyDropper(t *testing.T, target string) *replyDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	p := &replyDropper{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Go(func() { _, _ = io.Copy(up, c); up.Close(); c.Close() })
			p.wg.Go(func() {
				defer c.Close()
				defer up.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := up.Read(buf)
					if n > 0 && p.drop.CompareAndSwap(true, false) {
						return // the reply is lost with the connection
					}
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() { ln.Close() })
	return p
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
			px := newReplyDropper(t, opt.Addr)
			o := *opt
			o.Addr, o.MaxRetries = px.ln.Addr().String(), retries
			c := redis.NewClient(&o)
			t.Cleanup(func() { c.Close() })
			st := newStoreVia(t, c, singleClient(t), redisstore.Config{})
			clk := newTestClock()
			m, err := jwt.NewRefreshManager(jwt.RefreshConfig{Store: st.RefreshTokens(), Now: clk.Now})
			must(t, err)
			ctx := t.Context()
			for i := range 5 {
				tok, _, err := m.Issue(ctx, fmt.Sprint("lost-", i), jwt.SignIn{})
				must(t, err)
				must(t, c.Ping(ctx).Err())
				px.drop.Store(true)
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
					checkAfterFault(t, m, clk, tok)
				}
			}
		})
	}
}

// The kill test re-executes the test binary: with rotChildEnv set, TestMain
// runs runRotateChild, which rotates the tokens given on stdin in a loop
// and prints "<i> <token>" after each rotation, until it is killed.
const (
	rotChildEnv       = "REDISSTORE_TEST_ROTATE_CHILD" // "single" or "cluster"
	rotChildPrefixEnv = "REDISSTORE_TEST_ROTATE_PREFIX"
)

// TestRefreshKilledMidRotation SIGKILLs a process that rotates refresh
// tokens in a loop, then presents each family's last token the client
// knows (the reply to the rotation in flight may never have arrived): every
// family rotates, no reuse, one successor.
func TestRefreshKilledMidRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := newStore(t, b.client(t), redisstore.Config{})
		ctx := t.Context()
		clk := newTestClock()
		m, err := jwt.NewRefreshManager(jwt.RefreshConfig{Store: st.RefreshTokens(), Now: clk.Now, GraceWindow: jwt.MaxGraceWindow})
		must(t, err)
		const users = 20
		toks := make([]string, users)
		for i := range toks {
			toks[i], _, err = m.Issue(ctx, fmt.Sprint("killed-", i), jwt.SignIn{})
			must(t, err)
		}
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), rotChildEnv+"="+strings.ToLower(b.name), rotChildPrefixEnv+"="+st.Prefix())
		cmd.Stdin = strings.NewReader(strings.Join(toks, "\n") + "\n")
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		r := bufio.NewReader(out)
		rotations := 0
		for rotations < 3*users { // let it run, then kill it mid-loop
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("child: %v", err)
			}
			i, tok := parseRotation(t, line)
			toks[i] = tok
			rotations++
		}
		must(t, cmd.Process.Kill())
		for { // lines written before the kill
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			if line == "\n" || !strings.Contains(line, " ") {
				continue
			}
			i, tok := parseRotation(t, line)
			toks[i] = tok
		}
		_ = cmd.Wait()
		for i, tok := range toks {
			next, _, err := m.Refresh(ctx, tok)
			if err != nil {
				t.Fatalf("family %d after the kill: %v (reuse=%v)", i, err, errors.Is(err, jwt.ErrTokenReused))
			}
			if again, _, err := m.Refresh(ctx, tok); err != nil || again != next {
				t.Fatalf("family %d presented again: %q %v, want %q", i, again, err, next)
			}
			if _, _, err := m.Refresh(ctx, next); err != nil {
				t.Fatalf("family %d, its successor: %v", i, err)
			}
		}
		t.Logf("child rotated %d times before the kill", rotations)
	})
}

func parseRotation(t *testing.T, line string) (int, string) {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 2 {
		t.Fatalf("child line %q", line)
	}
	i, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("child line %q", line)
	}
	return i, f[1]
}

func runRotateChild() int {
	var c redis.UniversalClient
	if os.Getenv(rotChildEnv) == "cluster" {
		var addrs []string
		for _, a := range strings.Split(os.Getenv(testenv.RedisClusterAddrsEnv), ",") {
			addrs = append(addrs, strings.TrimSpace(a))
		}
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	} else {
		opt, err := redis.ParseURL(os.Getenv(testenv.RedisURLEnv))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		c = redis.NewClient(opt)
	}
	st, err := redisstore.New(redisstore.Config{Client: c, Prefix: os.Getenv(rotChildPrefixEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	m, err := jwt.NewRefreshManager(jwt.RefreshConfig{Store: st.RefreshTokens(), GraceWindow: jwt.MaxGraceWindow})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var toks []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			toks = append(toks, s)
		}
	}
	w := bufio.NewWriter(os.Stdout)
	for n := 0; ; n++ {
		i := n % len(toks)
		next, _, err := m.Refresh(context.Background(), toks[i])
		if err != nil {
			fmt.Fprintln(os.Stderr, "child rotation:", err)
			return 1
		}
		toks[i] = next
		fmt.Fprintf(w, "%d %s\n", i, next)
		w.Flush()
	}
}
