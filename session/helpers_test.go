package session_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/memstore"
)

// countingStore counts calls and can be made to fail.
type countingStore struct {
	session.Store
	finds, saves, deletes atomic.Int64
	failFind, failSave    atomic.Bool
}

var errStore = errors.New("store down")

func (c *countingStore) Find(ctx context.Context, id string) (session.Record, bool, error) {
	c.finds.Add(1)
	if c.failFind.Load() {
		return session.Record{}, false, errStore
	}
	return c.Store.Find(ctx, id)
}

// Create, Update and Rotate count as saves.
func (c *countingStore) Create(ctx context.Context, id string, r session.Record) error {
	c.saves.Add(1)
	if c.failSave.Load() {
		return errStore
	}
	return c.Store.Create(ctx, id, r)
}

func (c *countingStore) Update(ctx context.Context, id string, r session.Record) (bool, error) {
	c.saves.Add(1)
	if c.failSave.Load() {
		return false, errStore
	}
	return c.Store.Update(ctx, id, r)
}

func (c *countingStore) Rotate(ctx context.Context, oldID, newID string, r session.Record) (bool, error) {
	c.saves.Add(1)
	if c.failSave.Load() {
		return false, errStore
	}
	return c.Store.Rotate(ctx, oldID, newID, r)
}

func (c *countingStore) Delete(ctx context.Context, id string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, id)
}

func (c *countingStore) reset() { c.finds.Store(0); c.saves.Store(0); c.deletes.Store(0) }

type env struct {
	t     *testing.T
	clk   *memtest.Clock
	mem   *memstore.Sessions
	store *countingStore
	m     *session.Manager
	h     http.Handler
	mux   *http.ServeMux
}

// newEnv builds a Manager over a counting memstore with a fake clock and a
// mux of small handlers used by the tests.
func newEnv(t *testing.T, mod func(*session.Config)) *env {
	t.Helper()
	e := &env{t: t, clk: memtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
	e.mem = memtest.New(t, e.clk.Now).Sessions()
	e.store = &countingStore{Store: e.mem}
	cfg := session.Config{Store: e.store, Now: e.clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	e.mux = http.NewServeMux()
	sess := func(r *http.Request) *session.Session {
		s, ok := session.FromContext(r.Context())
		if !ok {
			t.Error("no session in context")
		}
		return s
	}
	e.mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sess(r).GetString("k"))
	})
	e.mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		if err := sess(r).Put("k", r.URL.Query().Get("v")); err != nil {
			t.Error(err)
		}
		io.WriteString(w, "ok")
	})
	e.mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		io.WriteString(w, s.UserID()+"|"+s.PendingUserID())
	})
	e.mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Login(r.Context(), r.URL.Query().Get("u")); err != nil {
			t.Error(err)
		}
		io.WriteString(w, sess(r).Token())
	})
	e.mux.HandleFunc("/begin-mfa", func(w http.ResponseWriter, r *http.Request) {
		if err := m.BeginMFA(r.Context(), r.URL.Query().Get("u")); err != nil {
			t.Error(err)
		}
	})
	e.mux.HandleFunc("/complete-mfa", func(w http.ResponseWriter, r *http.Request) {
		if err := m.CompleteMFA(r.Context()); err != nil {
			t.Error(err)
		}
	})
	e.mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Renew(r.Context()); err != nil {
			t.Error(err)
		}
	})
	e.mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Logout(r.Context()); err != nil {
			t.Error(err)
		}
	})
	e.mux.HandleFunc("/logout-all", func(w http.ResponseWriter, r *http.Request) {
		if err := m.RevokeUser(r.Context(), sess(r).UserID()); err != nil {
			t.Error(err)
		}
	})
	e.h = m.LoadAndSave(e.mux)
	return e
}

type resp struct {
	code    int
	body    string
	header  http.Header
	cookies []*http.Cookie
}

// do sends a request carrying token (as the session cookie, unless it is
// empty) and returns the response.
func (e *env) do(path, token string) resp {
	e.t.Helper()
	r := httptest.NewRequest("GET", "http://example.com"+path, nil)
	if token != "" {
		r.AddCookie(&http.Cookie{Name: cookieName(e), Value: token})
	}
	return e.send(r)
}

func (e *env) send(r *http.Request) resp {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	res := w.Result()
	return resp{code: res.StatusCode, body: w.Body.String(), header: res.Header, cookies: res.Cookies()}
}

func cookieName(e *env) string {
	return session.DefaultCookieName
}

// token returns the value of the session cookie set by res, or "".
func (r resp) token() string {
	for _, c := range r.cookies {
		if c.Name == session.DefaultCookieName || c.Name == session.DefaultInsecureCookieName {
			return c.Value
		}
	}
	return ""
}

func (r resp) setCookies() []string { return r.header.Values("Set-Cookie") }

func idOf(tok string) string { id, _, _ := strings.Cut(tok, "."); return id }
