package session_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/authkit-go/authkit/session"
)

// upsertStore is the old Save contract: Update and Rotate write even when
// the id is gone. The revocation tests run against it to show they catch
// the resurrection.
type upsertStore struct{ session.Store }

func (u upsertStore) Update(ctx context.Context, id string, r session.Record) (bool, error) {
	if found, err := u.Store.Update(ctx, id, r); found || err != nil {
		return found, err
	}
	return true, u.Store.Create(ctx, id, r)
}

func (u upsertStore) Rotate(ctx context.Context, oldID, newID string, r session.Record) (bool, error) {
	if err := u.Store.Delete(ctx, oldID); err != nil {
		return false, err
	}
	return true, u.Store.Create(ctx, newID, r)
}

// slowRequest starts a request with tok whose handler loads the session,
// waits until release is closed (a slow request body), then runs act. It
// returns a channel with the response.
func slowRequest(e *env, path, tok string, release <-chan struct{}, loaded chan<- struct{}, act func(*http.Request)) <-chan resp {
	e.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		loaded <- struct{}{}
		io.ReadAll(r.Body) // blocks until release
		act(r)
		io.WriteString(w, "done")
	})
	pr, pw := io.Pipe()
	go func() { <-release; pw.Close() }()
	out := make(chan resp, 1)
	go func() {
		r := httptest.NewRequest("POST", "http://example.com"+path, pr)
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: tok})
		out <- e.send(r)
	}()
	return out
}

// saveAfterRevoke runs the attack: alice's stolen token tok is used by a
// slow request that loaded the session before "log out everywhere" and
// acts on it after. It reports the slow response, and whether any of
// alice's sessions (the old token or one minted by the late request) is
// live afterwards.
func saveAfterRevoke(t *testing.T, e *env, act func(*http.Request)) (resp, bool) {
	t.Helper()
	tok := e.do("/login?u=alice", "").token()
	other := e.do("/login?u=alice", "").token()
	release, loaded := make(chan struct{}), make(chan struct{}, 1)
	e.clk.Add(2 * time.Minute) // the slow request is also due a LastSeen touch
	out := slowRequest(e, "/slow", tok, release, loaded, act)
	<-loaded
	if r := e.do("/logout-all", other); r.code != 200 {
		t.Fatalf("logout-all: %d %q", r.code, r.body)
	}
	close(release)
	r := <-out
	live, err := e.mem.ListUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	whoami := e.do("/whoami", tok).body
	if nt := r.token(); nt != "" {
		whoami += e.do("/whoami", nt).body
	}
	return r, len(live) != 0 || strings.Contains(whoami, "alice")
}

// TestSaveAfterRevokeDoesNotResurrect: a request that loaded the session
// before "log out everywhere" and writes after it (a value, a touch, a
// renewal, a login-state change) leaves no live session of the user: the
// stolen token stays dead and the late request gets no new token.
func TestSaveAfterRevokeDoesNotResurrect(t *testing.T) {
	acts := []struct {
		name     string
		act      func(errorf func(string, ...any), m *session.Manager) func(*http.Request)
		wantCode int
	}{
		{"Put", func(errorf func(string, ...any), _ *session.Manager) func(*http.Request) {
			return func(r *http.Request) {
				s, _ := session.FromContext(r.Context())
				if err := s.Put("k", "late"); err != nil {
					errorf("Put: %v", err)
				}
			}
		}, http.StatusUnauthorized},
		{"TouchOnly", func(func(string, ...any), *session.Manager) func(*http.Request) {
			return func(*http.Request) {}
		}, http.StatusOK},
		{"Renew", func(errorf func(string, ...any), m *session.Manager) func(*http.Request) {
			return func(r *http.Request) {
				if err := m.Renew(r.Context()); !errors.Is(err, session.ErrRevoked) {
					errorf("Renew after revoke = %v, want ErrRevoked", err)
				}
			}
		}, http.StatusOK},
	}
	for _, a := range acts {
		t.Run(a.name, func(t *testing.T) {
			e := newEnv(t, nil)
			r, resurrected := saveAfterRevoke(t, e, a.act(t.Errorf, e.m))
			if resurrected {
				t.Fatal("a session of alice is live after log out everywhere")
			}
			if r.code != a.wantCode || r.token() != "" {
				t.Fatalf("late request: %d, new token %q; want %d and no token", r.code, r.token(), a.wantCode)
			}
		})
	}
	// The same attack against the old upsert contract brings the session
	// back: the test above detects it.
	t.Run("UpsertStoreIsCaught", func(t *testing.T) {
		for _, a := range acts[:3] {
			e := newEnv(t, func(c *session.Config) { c.Store = upsertStore{c.Store} })
			if _, resurrected := saveAfterRevoke(t, e, a.act(func(string, ...any) {}, e.m)); !resurrected {
				t.Errorf("%s: an upsert store did not resurrect the session; the test proves nothing", a.name)
			}
		}
	})
}

// TestRenewAfterDeviceRevoke: a renewal racing a device revoke cannot
// mint a session from the revoked one.
func TestRenewAfterDeviceRevoke(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.do("/login?u=alice", "").token()
	release, loaded := make(chan struct{}), make(chan struct{}, 1)
	out := slowRequest(e, "/slow-renew", tok, release, loaded, func(r *http.Request) {
		if err := e.m.Renew(r.Context()); !errors.Is(err, session.ErrRevoked) {
			t.Errorf("Renew after device revoke = %v, want ErrRevoked", err)
		}
		s, _ := session.FromContext(r.Context())
		if s.UserID() != "" || s.Token() != "" {
			t.Errorf("session after a refused renewal: user %q token %q", s.UserID(), s.Token())
		}
	})
	<-loaded
	if err := e.m.Revoke(context.Background(), "alice", idOf(tok)); err != nil {
		t.Fatal(err)
	}
	close(release)
	if r := <-out; r.token() != "" {
		t.Fatalf("the late renewal set a token")
	}
	if got := e.mem.Len(); got != 0 {
		t.Fatalf("%d records stored after the device revoke", got)
	}
}

// TestLoginAfterRevokeStartsClean: a login on a session revoked during the
// request works (the user did authenticate) but carries nothing over.
func TestLoginAfterRevokeStartsClean(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.do("/put?v=secret-of-old", "").token()
	e.do("/login?u=alice", tok)
	release, loaded := make(chan struct{}), make(chan struct{}, 1)
	old := e.do("/login?u=alice", tok).token()
	out := slowRequest(e, "/slow-login", old, release, loaded, func(r *http.Request) {
		if err := e.m.Login(r.Context(), "alice"); err != nil {
			t.Errorf("Login after revoke = %v", err)
		}
	})
	<-loaded
	if err := e.m.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	close(release)
	nt := (<-out).token()
	if nt == "" {
		t.Fatal("login after revoke set no token")
	}
	if got := e.do("/whoami", nt).body; got != "alice|" {
		t.Fatalf("whoami = %q", got)
	}
	if got := e.do("/get", nt).body; got != "" {
		t.Fatalf("a value of the revoked session survived: %q", got)
	}
	if got := e.do("/whoami", old).body; got != "|" {
		t.Fatalf("old token works: %q", got)
	}
}

// TestAnonymousVisitStoresNothing: page views that do not use the session
// store nothing and set no cookie; the first Put stores one record.
func TestAnonymousVisitStoresNothing(t *testing.T) {
	e := newEnv(t, nil)
	for range 50 {
		if r := e.do("/get", ""); len(r.setCookies()) != 0 {
			t.Fatalf("anonymous read set a cookie: %v", r.setCookies())
		}
		e.do("/whoami", "")
	}
	if n := e.mem.Len(); n != 0 || e.store.saves.Load() != 0 {
		t.Fatalf("anonymous visits stored %d records (%d saves)", n, e.store.saves.Load())
	}
	if e.do("/put?v=x", "").token() == "" || e.mem.Len() != 1 {
		t.Fatalf("Put stored %d records", e.mem.Len())
	}
}

// TestUserAgentTruncated: a client cannot make its stored session carry a
// 32 KiB User-Agent; what is kept is a valid UTF-8 prefix.
func TestUserAgentTruncated(t *testing.T) {
	e := newEnv(t, nil)
	ua := "Mozilla/5.0 " + strings.Repeat("é", 16<<10) + "\xff"
	r := httptest.NewRequest("GET", "http://example.com/login?u=alice", nil)
	r.Header.Set("User-Agent", ua)
	tok := e.send(r).token()
	rec, found, err := e.mem.Find(context.Background(), idOf(tok))
	if err != nil || !found {
		t.Fatalf("Find = %v, %v", found, err)
	}
	got := rec.UserAgent
	if len(got) > session.MaxUserAgentLen || len(got) < session.MaxUserAgentLen-3 ||
		!utf8.ValidString(got) || !strings.HasPrefix(ua, got) {
		t.Fatalf("stored User-Agent: %d bytes, valid %v, prefix %v", len(got), utf8.ValidString(got), strings.HasPrefix(ua, got))
	}
	// Invalid bytes inside the bound are dropped.
	r = httptest.NewRequest("GET", "http://example.com/login?u=bob", nil)
	r.Header.Set("User-Agent", "a\xffb")
	rec, _, _ = e.mem.Find(context.Background(), idOf(e.send(r).token()))
	if rec.UserAgent != "ab" {
		t.Fatalf("User-Agent with an invalid byte stored as %q", rec.UserAgent)
	}
}
