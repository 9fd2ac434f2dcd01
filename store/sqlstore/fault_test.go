package sqlstore_test

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// The fault tests take the database away in three ways (the pool closed,
// the server's port closed, a TCP proxy cut or stalled) and check that the
// store reports errors, never "not found", and that session.Manager's
// middleware then fails closed: a 5xx, and the handler does not run, so no
// request passes as authenticated or as anonymous.

// storeOps lists every operation of every adapter. Each returns an error;
// a read also reports whether it found something.
func storeOps(st *sqlstore.Store) map[string]func(ctx context.Context) (bool, error) {
	now := time.Now()
	rec := liveRecord("alice")
	return map[string]func(ctx context.Context) (bool, error){
		"Sessions.Find": func(ctx context.Context) (bool, error) {
			_, found, err := st.Sessions().Find(ctx, "s1")
			return found, err
		},
		"Sessions.ListUser": func(ctx context.Context) (bool, error) {
			m, err := st.Sessions().ListUser(ctx, "alice")
			return len(m) > 0, err
		},
		"Sessions.Create":     func(ctx context.Context) (bool, error) { return false, st.Sessions().Create(ctx, "s2", rec) },
		"Sessions.Delete":     func(ctx context.Context) (bool, error) { return false, st.Sessions().Delete(ctx, "s2") },
		"Sessions.DeleteUser": func(ctx context.Context) (bool, error) { return false, st.Sessions().DeleteUser(ctx, "bob") },
		"RefreshTokens.Rotate": func(ctx context.Context) (bool, error) {
			r := jwt.Rotation{ID: "rt1", Now: now, Grace: time.Hour, Next: jwt.RefreshToken{ID: "rt1-next", Expiry: now.Add(time.Hour)}}
			res, err := st.RefreshTokens().Rotate(ctx, r)
			return res.Outcome != jwt.RotateInvalid, err
		},
		"RefreshTokens.Create": func(ctx context.Context) (bool, error) {
			_, err := st.RefreshTokens().Create(ctx, jwt.RefreshToken{ID: "rt2", FamilyID: "f", UserID: "alice",
				Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(time.Hour), SignIn: jwt.SignIn{AuthTime: now}})
			return false, err
		},
		"RefreshTokens.RevokeToken": func(ctx context.Context) (bool, error) {
			_, _, err := st.RefreshTokens().RevokeToken(ctx, "rt2")
			return false, err
		},
		"RefreshTokens.RevokeUser": func(ctx context.Context) (bool, error) { return false, st.RefreshTokens().RevokeUser(ctx, "bob") },
		"NotBefore.NotBefore": func(ctx context.Context) (bool, error) {
			_, found, err := st.NotBefore().NotBefore(ctx, "alice")
			return found, err
		},
		"NotBefore.SetNotBefore": func(ctx context.Context) (bool, error) { return false, st.NotBefore().SetNotBefore(ctx, "alice", now) },
		"MFA.Get": func(ctx context.Context) (bool, error) {
			_, found, err := st.MFA().Get(ctx, "alice")
			return found, err
		},
		"MFA.Put": func(ctx context.Context) (bool, error) {
			_, err := st.MFA().Put(ctx, "bob", 0, mfa.Enrollment{Version: 1, Secret: []byte("s")}, [][]byte{{1}})
			return false, err
		},
		"MFA.Delete":        func(ctx context.Context) (bool, error) { return false, st.MFA().Delete(ctx, "bob") },
		"MFA.UseBackupCode": func(ctx context.Context) (bool, error) { return st.MFA().UseBackupCode(ctx, "alice", []byte("code")) },
		"TOTPReplay.Advance": func(ctx context.Context) (bool, error) {
			return st.TOTPReplay().Advance(ctx, "alice", 7, now.Add(time.Minute))
		},
		"Tickets.Put": func(ctx context.Context) (bool, error) {
			return false, st.Tickets().Put(ctx, "p", "t2", []byte("x"), now.Add(time.Hour))
		},
		"Tickets.Take": func(ctx context.Context) (bool, error) {
			_, found, err := st.Tickets().Take(ctx, "p", "t1")
			return found, err
		},
		"Attempts.Incr": func(ctx context.Context) (bool, error) {
			n, _, err := st.Attempts().Incr(ctx, "k", time.Minute)
			return n > 0, err
		},
		"Attempts.Count": func(ctx context.Context) (bool, error) {
			n, _, err := st.Attempts().Count(ctx, "k")
			return n > 0, err
		},
		"Attempts.Reset": func(ctx context.Context) (bool, error) { return false, st.Attempts().Reset(ctx, "k") },
		"Users.UserByID": func(ctx context.Context) (bool, error) {
			_, found, err := st.Users().UserByID(ctx, "alice")
			return found, err
		},
		"Users.UserByLogin": func(ctx context.Context) (bool, error) {
			_, found, err := st.Users().UserByLogin(ctx, "alice@example.com")
			return found, err
		},
		"Users.CreateUser": func(ctx context.Context) (bool, error) {
			return false, st.Users().CreateUser(ctx, authkit.User{ID: "bob", Email: "bob@example.com"})
		},
		"Users.UpdateUser": func(ctx context.Context) (bool, error) {
			return false, st.Users().UpdateUser(ctx, "alice", func(u *authkit.User) { u.Disabled = true })
		},
		"Users.SetPasswordHash": func(ctx context.Context) (bool, error) { return false, st.Users().SetPasswordHash(ctx, "alice", "h") },
		"Users.Len": func(ctx context.Context) (bool, error) {
			n, err := st.Users().Len(ctx)
			return n > 0, err
		},
		"Store.Purge":   func(ctx context.Context) (bool, error) { _, err := st.Purge(ctx); return false, err },
		"Store.Migrate": func(ctx context.Context) (bool, error) { return false, st.Migrate(ctx) },
		"Store.Version": func(ctx context.Context) (bool, error) {
			applied, _, err := st.Version(ctx)
			return applied > 0, err
		},
	}
}

// seed writes one row for each read in storeOps to find.
func seed(t *testing.T, st *sqlstore.Store) {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	must(t, st.Sessions().Create(ctx, "s1", liveRecord("alice")))
	if ok, err := st.RefreshTokens().Create(ctx, jwt.RefreshToken{ID: "rt1", FamilyID: "f1", UserID: "alice",
		Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(time.Hour), SignIn: jwt.SignIn{AuthTime: now}}); err != nil || !ok {
		t.Fatalf("refresh Create: %v %v", ok, err)
	}
	must(t, st.NotBefore().SetNotBefore(ctx, "alice", now.Add(-time.Minute)))
	storetestkit.SeedMFA(t, st.MFA(), "alice", []byte("code"))
	must(t, st.Tickets().Put(ctx, "p", "t1", []byte("alice"), now.Add(time.Hour)))
	must(t, st.Users().CreateUser(ctx, authkit.User{ID: "alice", Email: "alice@example.com"}))
}

// checkAllFail asserts that every operation returns an error.
func checkAllFail(t *testing.T, ctx context.Context, st *sqlstore.Store) {
	t.Helper()
	for name, op := range storeOps(st) {
		found, err := op(ctx)
		if err == nil {
			t.Errorf("%s with the database unreachable: found=%v, err=nil; want an error", name, found)
		}
	}
}

// faultApp is a session-protected app: /login logs "alice" in, every other
// path answers with the session's user.
type faultApp struct {
	h       http.Handler
	handled atomic.Int64 // requests that reached the handler
}

func newFaultApp(t testing.TB, st *sqlstore.Store) *faultApp {
	t.Helper()
	m, err := session.New(session.Config{Store: st.Sessions()})
	must(t, err)
	a := &faultApp{}
	a.h = m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.handled.Add(1)
		if r.URL.Path == "/login" {
			if err := m.Login(r.Context(), "alice"); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		s, _ := session.FromContext(r.Context())
		io.WriteString(w, "user="+s.UserID())
	}))
	return a
}

// do sends one request (with the session cookie if c is not nil) and
// returns the status, the body and the session cookie set, if any.
func (a *faultApp) do(ctx context.Context, path string, c *http.Cookie) (int, string, *http.Cookie) {
	r := httptest.NewRequestWithContext(ctx, "GET", "https://app.example.com"+path, nil)
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	var set *http.Cookie
	for _, k := range w.Result().Cookies() {
		if k.Value != "" {
			set = k
		}
	}
	return w.Code, w.Body.String(), set
}

// login logs alice in and returns her session cookie, checking that it
// authenticates a request.
func (a *faultApp) login(t *testing.T) *http.Cookie {
	t.Helper()
	code, _, c := a.do(t.Context(), "/login", nil)
	if code != 200 || c == nil {
		t.Fatalf("login: %d, cookie %v", code, c)
	}
	if code, body, _ := a.do(t.Context(), "/", c); code != 200 || body != "user=alice" {
		t.Fatalf("authenticated request: %d %q", code, body)
	}
	return c
}

// checkFailsClosed sends requests with and without the cookie (and a
// login) and asserts that each gets a 5xx without reaching the handler.
func (a *faultApp) checkFailsClosed(t *testing.T, ctx func() (context.Context, context.CancelFunc), c *http.Cookie) {
	t.Helper()
	before := a.handled.Load()
	for _, req := range []struct {
		path   string
		cookie *http.Cookie
	}{{"/", c}, {"/", c}, {"/me", c}, {"/login", c}} {
		rctx, cancel := ctx()
		code, body, _ := a.do(rctx, req.path, req.cookie)
		cancel()
		if code < 500 {
			t.Errorf("GET %s with the database unreachable: %d %q; want 5xx", req.path, code, body)
		}
	}
	if n := a.handled.Load() - before; n != 0 {
		t.Errorf("%d requests reached the handler with the database unreachable", n)
	}
}

func background() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// TestFaultClosedDB closes the store's pool under it.
func TestFaultClosedDB(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		var db *sql.DB
		if d.name == "SQLite" {
			db = openSQLite(t, sqlitePath(t))
		} else {
			db = ownPGPool(t, "")
		}
		cfg := sqlstore.Config{DB: db, Dialect: sqlstore.SQLite}
		if d.name == "Postgres" {
			cfg.Dialect, cfg.Schema = sqlstore.Postgres, newSchema(t)
		}
		st := migrated(t, cfg)
		seed(t, st)
		app := newFaultApp(t, st)
		c := app.login(t)

		must(t, db.Close())
		checkAllFail(t, t.Context(), st)
		app.checkFailsClosed(t, background, c)
	})
}

// TestFaultClosedPort points a pool at a port nothing listens on.
func TestFaultClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	u, err := url.Parse(pgDSN(t))
	must(t, err)
	u.Host = addr
	q := u.Query()
	q.Set("connect_timeout", "5")
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	must(t, err)
	defer db.Close()
	st := newStore(t, sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: "sqlstore_never_created"})
	checkAllFail(t, t.Context(), st)

	// A well-formed session cookie, minted by an app on a working store.
	c := newFaultApp(t, newSQLite(t, sqlstore.Config{})).login(t)
	newFaultApp(t, st).checkFailsClosed(t, background, c)
}

// TestFaultProxy puts a TCP proxy between the pool and PostgreSQL, cuts it
// (connections reset, new ones refused) and stalls it (nothing forwarded,
// as in a network partition), and restores it: requests fail closed while
// the database is away and succeed again afterwards on the same *sql.DB,
// with everything acknowledged before the fault still there.
func TestFaultProxy(t *testing.T) {
	u, err := url.Parse(pgDSN(t))
	must(t, err)
	p := storetestkit.NewProxy(t, u.Host)
	u.Host = p.Addr()
	db, err := sql.Open("pgx", u.String())
	must(t, err)
	db.SetMaxOpenConns(4)
	defer db.Close()
	st := migrated(t, sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Schema: newSchema(t)})
	seed(t, st)
	app := newFaultApp(t, st)
	c := app.login(t)

	recovered := func(t *testing.T) {
		t.Helper()
		for i := range 5 {
			if code, body, _ := app.do(t.Context(), "/", c); code != 200 || body != "user=alice" {
				t.Fatalf("request %d after restore: %d %q; want 200 user=alice", i, code, body)
			}
		}
		// The rows acknowledged before the fault are intact.
		if u, found, err := st.Users().UserByID(t.Context(), "alice"); !found || err != nil || u.Email != "alice@example.com" {
			t.Errorf("user after restore: %+v %v %v", u, found, err)
		}
	}

	t.Run("Cut", func(t *testing.T) {
		p.Cut()
		checkAllFail(t, t.Context(), st)
		app.checkFailsClosed(t, background, c)
		p.Restore()
		recovered(t)
	})
	t.Run("Stall", func(t *testing.T) {
		// Connections stay open but nothing gets through: only a deadline
		// ends a request, so the host's request context must carry one.
		p.Stall()
		withTimeout := func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}
		ctx, cancel := withTimeout()
		if _, found, err := st.Sessions().Find(ctx, "s1"); err == nil {
			t.Errorf("Find while stalled: found=%v, err=nil", found)
		}
		cancel()
		app.checkFailsClosed(t, withTimeout, c)
		p.Restore()
		recovered(t)
	})
	// The refresh token seeded before the faults rotates exactly once.
	rot := func(next string) jwt.RotateOutcome {
		res, err := st.RefreshTokens().Rotate(t.Context(), jwt.Rotation{ID: "rt1", Now: time.Now(),
			Next: jwt.RefreshToken{ID: next, Expiry: time.Now().Add(time.Hour)}})
		must(t, err)
		return res.Outcome
	}
	if o := rot("after-1"); o != jwt.Rotated {
		t.Errorf("first rotation of the seeded refresh token: outcome %d", o)
	}
	if o := rot("after-2"); o != jwt.RotateReused {
		t.Errorf("second rotation of the seeded refresh token: outcome %d", o)
	}
}
