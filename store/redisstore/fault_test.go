package redisstore_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/internal/testenv"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/redisstore"
)

// failFast are client options for the fault tests: no retries and short
// timeouts, so an unreachable server fails a call quickly.
func failFast(opt *redis.Options) *redis.Options {
	opt.MaxRetries = -1
	opt.DialTimeout = 300 * time.Millisecond
	opt.ReadTimeout = 300 * time.Millisecond
	opt.WriteTimeout = 300 * time.Millisecond
	opt.PoolTimeout = 300 * time.Millisecond
	opt.DialerRetries = 1
	return opt
}

// closedAddr returns a loopback address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// readProbe is one read of one adapter; found reports what a successful
// read would have claimed.
type readProbe struct {
	name string
	read func(ctx context.Context) (found bool, err error)
}

// readProbes covers a read (or read-modify-write) of every adapter. On a
// store whose keys were written beforehand each reports found=true.
func readProbes(st *redisstore.Store) []readProbe {
	lim, _ := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{Counter: st.Attempts(), Limit: 5, Window: time.Minute})
	return []readProbe{
		{"Sessions.Find", func(ctx context.Context) (bool, error) {
			_, found, err := st.Sessions().Find(ctx, "sid")
			return found, err
		}},
		{"Sessions.ListUser", func(ctx context.Context) (bool, error) {
			m, err := st.Sessions().ListUser(ctx, "alice")
			return len(m) > 0, err
		}},
		{"RefreshTokens.Rotate", func(ctx context.Context) (bool, error) {
			res, err := st.RefreshTokens().Rotate(ctx, seedRotation)
			return res.Outcome != jwt.RotateInvalid, err
		}},
		{"NotBefore.NotBefore", func(ctx context.Context) (bool, error) {
			_, found, err := st.NotBefore().NotBefore(ctx, "alice")
			return found, err
		}},
		{"MFA.Get", func(ctx context.Context) (bool, error) {
			_, found, err := st.MFA().Get(ctx, "alice")
			return found, err
		}},
		{"MFA.UseBackupCode", func(ctx context.Context) (bool, error) {
			return st.MFA().UseBackupCode(ctx, "alice", []byte("code"))
		}},
		{"TOTPReplay.Advance", func(ctx context.Context) (bool, error) {
			ok, err := st.TOTPReplay().Advance(ctx, "alice", 7, time.Now().Add(time.Minute))
			return !ok, err // found = "the step was already claimed"
		}},
		{"Tickets.Take", func(ctx context.Context) (bool, error) {
			_, found, err := st.Tickets().Take(ctx, "p", "ticket")
			return found, err
		}},
		{"Attempts.Count", func(ctx context.Context) (bool, error) {
			n, _, err := st.Attempts().Count(ctx, "login:alice")
			return n > 0, err
		}},
		{"Limiter.Allow", func(ctx context.Context) (bool, error) {
			d, err := lim.Allow(ctx, "ip")
			return d.Allowed, err
		}},
	}
}

// seedRotation rotates the refresh token that seed stores, always offering
// the same successor, with a grace window: repeated probes are retries.
var seedRotation = jwt.Rotation{
	ID:    jwt.RefreshTokenID(jwt.RefreshTokenPrefix + jwt.RefreshShard("alice") + strings.Repeat("A", 43)),
	Next:  jwt.RefreshToken{ID: jwt.RefreshTokenID(jwt.RefreshTokenPrefix + jwt.RefreshShard("alice") + strings.Repeat("B", 43)), Expiry: time.Now().Add(time.Hour)},
	Now:   time.Now(),
	Grace: time.Hour,
}

// seed writes what makes every probe report found=true.
func seed(t *testing.T, st *redisstore.Store) {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	rec := session.Record{UserID: "alice", SecretHash: []byte{1}, CreatedAt: now, LastSeen: now,
		IdleExpiry: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}
	must(t, st.Sessions().Create(ctx, "sid", rec))
	if ok, err := st.RefreshTokens().Create(ctx, jwt.RefreshToken{ID: seedRotation.ID, FamilyID: "fam", UserID: "alice",
		IssuedAt: now, Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(time.Hour), SignIn: jwt.SignIn{AuthTime: now}}); err != nil || !ok {
		t.Fatalf("refresh Create: %v %v", ok, err)
	}
	must(t, st.NotBefore().SetNotBefore(ctx, "alice", now))
	storetestkit.SeedMFA(t, st.MFA(), "alice", []byte("code"))
	if ok, err := st.TOTPReplay().Advance(ctx, "alice", 7, now.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("Advance: %v %v", ok, err)
	}
	must(t, st.Tickets().Put(ctx, "p", "ticket", []byte("alice"), now.Add(time.Hour)))
	if _, _, err := st.Attempts().Incr(ctx, "login:alice", time.Hour); err != nil {
		t.Fatal(err)
	}
}

// TestFaultClosedPort points a store at a port where nothing listens:
// every read returns an error, never found=false or a success, and the
// session middleware answers 500 without calling the handler (fail
// closed).
func TestFaultClosedPort(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(failFast(&redis.Options{Addr: closedAddr(t)}))
	defer c.Close()
	t.Run("Reads", func(t *testing.T) {
		st, err := redisstore.New(redisstore.Config{Client: c, UnsafeAllowEvictingPolicy: true}) // nothing to ask
		must(t, err)
		for _, p := range readProbes(st) {
			found, err := p.read(t.Context())
			if err == nil {
				t.Errorf("%s on a closed port: err=nil (found=%v); want an error", p.name, found)
			}
		}
		// Writes fail too.
		if err := st.Sessions().Create(t.Context(), "x", session.Record{UserID: "u", IdleExpiry: time.Now().Add(time.Hour),
			AbsoluteExpiry: time.Now().Add(time.Hour)}); err == nil {
			t.Error("Sessions.Create on a closed port: err=nil")
		}
	})
	t.Run("Middleware", func(t *testing.T) { closedPortMiddleware(t, c) })
}

// closedPortMiddleware: a session created on the real server, then
// presented to a Manager whose store cannot reach it, gets a 5xx.
func closedPortMiddleware(t *testing.T, c redis.UniversalClient) {
	live := newStore(t, singleClient(t), redisstore.Config{})
	cookie := loginCookie(t, live)
	dead, err := redisstore.New(redisstore.Config{Client: c, Prefix: live.Prefix(), UnsafeAllowEvictingPolicy: true})
	must(t, err)
	m, err := session.New(session.Config{Store: dead.Sessions()})
	must(t, err)
	called := false
	h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://example.com/me", nil)
	r.AddCookie(cookie)
	h.ServeHTTP(w, r)
	if w.Code < 500 || called {
		t.Errorf("middleware with an unreachable store: status %d, handler called=%v; want 5xx and not called", w.Code, called)
	}
}

// loginCookie logs "alice" in through a Manager on st and returns the
// session cookie.
func loginCookie(t *testing.T, st *redisstore.Store) *http.Cookie {
	t.Helper()
	m, err := session.New(session.Config{Store: st.Sessions()})
	must(t, err)
	h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.Login(r.Context(), "alice"); err != nil {
			t.Error(err)
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/login", nil))
	cs := w.Result().Cookies()
	if w.Code != 200 || len(cs) != 1 {
		t.Fatalf("login: status %d, cookies %v", w.Code, cs)
	}
	return cs[0]
}

// TestFaultProxyCut runs a store through a proxy, cuts it (connections
// reset, then connections that hang), and restores it: while cut every read
// fails closed and the session middleware answers 5xx; after the restore
// the same client and store work again without a restart, and everything
// acknowledged before the cut is still there.
func TestFaultProxyCut(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(singleURL(t))
	must(t, err)
	for _, mode := range []string{"reset", "blackhole"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			px := storetestkit.NewProxy(t, opt.Addr)
			o := *opt
			o.Addr = px.Addr()
			c := redis.NewClient(failFast(&o))
			t.Cleanup(func() { c.Close() })
			st := newStoreVia(t, c, singleClient(t), redisstore.Config{})
			seed(t, st)
			cookie := loginCookie(t, st)
			m, err := session.New(session.Config{Store: st.Sessions()})
			must(t, err)
			h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := session.FromContext(r.Context())
				io.WriteString(w, s.UserID())
			}))
			get := func() *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "https://example.com/me", nil)
				r.AddCookie(cookie)
				h.ServeHTTP(w, r)
				return w
			}
			if w := get(); w.Code != 200 || w.Body.String() != "alice" {
				t.Fatalf("before the cut: %d %q", w.Code, w.Body.String())
			}

			if mode == "reset" {
				px.Cut()
			} else {
				px.Blackhole()
			}
			for _, p := range readProbes(st) {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				found, err := p.read(ctx)
				cancel()
				if err == nil {
					t.Errorf("%s while cut: err=nil (found=%v); want an error", p.name, found)
				}
			}
			if w := get(); w.Code < 500 || w.Body.String() == "alice" {
				t.Errorf("middleware while cut: %d %q; want 5xx", w.Code, w.Body.String())
			}

			px.Restore()
			// The pool may hold connections that died with the cut; the
			// first calls after the restore discard them. Give it a few
			// tries, then require success.
			deadline := time.Now().Add(5 * time.Second)
			for c.Ping(t.Context()).Err() != nil && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			for _, p := range readProbes(st) {
				var found bool
				var err error
				for range 3 { // stale pooled connections fail once each
					if found, err = p.read(t.Context()); err == nil {
						break
					}
				}
				if err != nil || !found {
					t.Errorf("%s after the restore: found=%v err=%v; want the data written before the cut", p.name, found, err)
				}
			}
			var w *httptest.ResponseRecorder
			for range 3 {
				if w = get(); w.Code == 200 {
					break
				}
			}
			if w.Code != 200 || w.Body.String() != "alice" {
				t.Errorf("after the restore: %d %q; want 200 alice", w.Code, w.Body.String())
			}
		})
	}
}

func singleURL(t *testing.T) string {
	t.Helper()
	return testenv.Redis(t)
}
