package session_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/session"
)

func TestNewValidation(t *testing.T) {
	mem := memtest.New(t, nil).Sessions()
	tests := []struct {
		name string
		cfg  session.Config
	}{
		{"nil store", session.Config{}},
		{"idle above absolute", session.Config{Store: mem, IdleTimeout: 2 * time.Hour, AbsoluteTimeout: time.Hour}},
		{"negative", session.Config{Store: mem, IdleTimeout: -1}},
		{"touch not below idle", session.Config{Store: mem, IdleTimeout: time.Minute, TouchInterval: time.Minute}},
		{"host prefix without secure", session.Config{Store: mem, InsecureCookieNoSecure: true, CookieName: "__Host-s"}},
		{"secure prefix without secure", session.Config{Store: mem, InsecureCookieNoSecure: true, CookieName: "__Secure-s"}},
		{"bad cookie name", session.Config{Store: mem, CookieName: "a;b"}},
		{"samesite none", session.Config{Store: mem, CookieSameSite: http.SameSiteNoneMode}},
		{"bad transport", session.Config{Store: mem, Transport: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := session.New(tc.cfg)
			if !errors.Is(err, session.ErrInvalidConfig) || m != nil {
				t.Fatalf("New = %v, %v; want ErrInvalidConfig", m, err)
			}
		})
	}
	if _, err := session.New(session.Config{Store: mem}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestReadOnlyRequestIsOneFind(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.do("/put?v=hello", "").token()
	e.store.reset()
	for i := range 5 {
		e.clk.Add(10 * time.Second) // stays under the 1-minute touch interval
		r := e.do("/get", tok)
		if r.body != "hello" || r.code != 200 || len(r.setCookies()) != 0 {
			t.Fatalf("request %d: %d %q cookies %v", i, r.code, r.body, r.setCookies())
		}
	}
	if f, s, d := e.store.finds.Load(), e.store.saves.Load(), e.store.deletes.Load(); f != 5 || s != 0 || d != 0 {
		t.Fatalf("5 read-only requests made %d Find, %d Save, %d Delete; want 5, 0, 0", f, s, d)
	}
	// After the touch interval, LastSeen and the idle expiry are written once.
	e.clk.Add(time.Minute)
	e.store.reset()
	e.do("/get", tok)
	if f, s := e.store.finds.Load(), e.store.saves.Load(); f != 1 || s != 1 {
		t.Fatalf("touch request: %d Find, %d Save; want 1, 1", f, s)
	}
	e.store.reset()
	e.do("/get", tok)
	if s := e.store.saves.Load(); s != 0 {
		t.Fatalf("request right after touch saved %d times", s)
	}
	// A request without a session costs nothing.
	e.store.reset()
	e.do("/get", "")
	if f, s := e.store.finds.Load(), e.store.saves.Load(); f != 0 || s != 0 {
		t.Fatalf("anonymous read: %d Find, %d Save", f, s)
	}
}

func TestValues(t *testing.T) {
	e := newEnv(t, nil)
	type cart struct {
		Items []string
		Total int
	}
	var tok string
	e.mux.HandleFunc("/values", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		switch r.URL.Query().Get("step") {
		case "put":
			if err := s.Put("cart", cart{Items: []string{"a", "b"}, Total: 3}); err != nil {
				t.Fatal(err)
			}
			if err := s.Put("flash", "saved"); err != nil {
				t.Fatal(err)
			}
			if err := s.Put("authkit.user", "x"); !errors.Is(err, session.ErrReservedKey) {
				t.Errorf("Put(reserved) = %v", err)
			}
		case "read":
			var c cart
			if ok, err := s.Get("cart", &c); !ok || err != nil || c.Total != 3 || len(c.Items) != 2 {
				t.Errorf("Get(cart) = %v %v %+v", ok, err, c)
			}
			var f string
			if ok, err := s.Pop("flash", &f); !ok || err != nil || f != "saved" {
				t.Errorf("Pop(flash) = %v %v %q", ok, err, f)
			}
			if ok, _ := s.Pop("flash", &f); ok {
				t.Error("Pop returned the flash twice")
			}
			s.Remove("cart")
			s.Remove("absent")
			if got := s.Keys(); len(got) != 0 {
				t.Errorf("Keys after removal = %v", got)
			}
		case "noop":
			s.Remove("absent")
			if got := s.Keys(); len(got) != 0 {
				t.Errorf("removed keys came back: %v", got)
			}
		}
	})
	tok = e.do("/values?step=put", "").token()
	if tok == "" {
		t.Fatal("no token")
	}
	e.do("/values?step=read", tok)
	e.store.reset()
	e.do("/values?step=noop", tok) // nothing left; Remove of absent keys does not save
	if e.store.saves.Load() != 0 {
		t.Fatalf("no-op Remove saved")
	}
}

// TestSecurity holds the security properties this package owns.
func TestSecurity(t *testing.T) {
	t.Run("fixation_planted_id_replaced_on_login", func(t *testing.T) {
		e := newEnv(t, nil)
		// The attacker obtains a valid anonymous session S0 and plants it.
		s0 := e.do("/put?v=attacker", "").token()
		if s0 == "" {
			t.Fatal("no token issued")
		}
		r := e.do("/login?u=alice", s0)
		s1 := r.token()
		if s1 == "" || s1 == s0 || idOf(s1) == idOf(s0) {
			t.Fatalf("login kept the planted id: S0=%q S1=%q", s0, s1)
		}
		if r.body != s1 {
			t.Fatalf("Session.Token after Login = %q, cookie %q", r.body, s1)
		}
		if _, found, err := e.mem.Find(context.Background(), idOf(s0)); found || err != nil {
			t.Fatalf("S0 still in store: %v %v", found, err)
		}
		if got := e.do("/whoami", s0).body; got != "|" {
			t.Fatalf("S0 after victim's login = %q, want anonymous", got)
		}
		if got := e.do("/whoami", s1).body; got != "alice|" {
			t.Fatalf("S1 = %q", got)
		}
		// A planted id the server never issued is not adopted either.
		planted := base64.RawURLEncoding.EncodeToString(make([]byte, 16)) + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
		r = e.do("/login?u=bob", planted)
		if idOf(r.token()) == idOf(planted) {
			t.Fatal("unknown planted id adopted")
		}
	})

	t.Run("id_rotates_after_MFA_and_elevation", func(t *testing.T) {
		e := newEnv(t, nil)
		t1 := e.do("/begin-mfa?u=alice", "").token()
		t2 := e.do("/complete-mfa", t1).token()
		if t2 == "" || idOf(t2) == idOf(t1) {
			t.Fatalf("CompleteMFA did not rotate: %q -> %q", t1, t2)
		}
		t3 := e.do("/renew", t2).token()
		if t3 == "" || idOf(t3) == idOf(t2) {
			t.Fatalf("Renew did not rotate: %q -> %q", t2, t3)
		}
		for _, old := range []string{t1, t2} {
			if got := e.do("/whoami", old).body; got != "|" {
				t.Fatalf("old token still valid: %q", got)
			}
		}
		if got := e.do("/whoami", t3).body; got != "alice|" {
			t.Fatalf("renewed session = %q", got)
		}
	})

	t.Run("MFA_pending_is_not_authenticated", func(t *testing.T) {
		e := newEnv(t, nil)
		tok := e.do("/begin-mfa?u=alice", "").token()
		if got := e.do("/whoami", tok).body; got != "|alice" {
			t.Fatalf("pending session = %q, want UserID empty and PendingUserID alice", got)
		}
		var authed bool
		e.mux.HandleFunc("/authed", func(w http.ResponseWriter, r *http.Request) {
			s, _ := session.FromContext(r.Context())
			authed = s.Authenticated()
		})
		e.do("/authed", tok)
		if authed {
			t.Fatal("MFA-pending session reported Authenticated")
		}
		tok = e.do("/complete-mfa", tok).token()
		if got := e.do("/whoami", tok).body; got != "alice|" {
			t.Fatalf("after MFA = %q", got)
		}
		// CompleteMFA without a pending step is refused.
		var err error
		e.mux.HandleFunc("/complete-again", func(w http.ResponseWriter, r *http.Request) { err = e.m.CompleteMFA(r.Context()) })
		e.do("/complete-again", tok)
		if !errors.Is(err, session.ErrNotPending) {
			t.Fatalf("CompleteMFA twice = %v", err)
		}
	})

	t.Run("idle_timeout", func(t *testing.T) {
		e := newEnv(t, nil)
		tok := e.do("/login?u=alice", "").token()
		e.clk.Add(29 * time.Minute)
		if got := e.do("/whoami", tok).body; got != "alice|" {
			t.Fatalf("at 29 min = %q", got)
		}
		e.clk.Add(30*time.Minute + time.Second) // idle since the touch at 29 min
		r := e.do("/whoami", tok)
		if r.body != "|" {
			t.Fatalf("after idle timeout = %q", r.body)
		}
	})

	t.Run("absolute_lifetime_not_extended", func(t *testing.T) {
		e := newEnv(t, nil)
		tok := e.do("/login?u=alice", "").token()
		start := e.clk.Now()
		// Active every 10 minutes, renewing now and then: still ends at 12 h.
		for e.clk.Now().Sub(start) < 12*time.Hour-10*time.Minute {
			e.clk.Add(10 * time.Minute)
			if got := e.do("/whoami", tok).body; got != "alice|" {
				t.Fatalf("at %v = %q", e.clk.Now().Sub(start), got)
			}
			if e.clk.Now().Sub(start)%(2*time.Hour) == 0 {
				tok = e.do("/renew", tok).token()
			}
			recs, _ := e.mem.ListUser(context.Background(), "alice")
			for _, rec := range recs {
				if !rec.AbsoluteExpiry.Equal(start.Add(12*time.Hour)) || rec.IdleExpiry.After(rec.AbsoluteExpiry) {
					t.Fatalf("absolute %v idle %v; want absolute fixed at %v", rec.AbsoluteExpiry, rec.IdleExpiry, start.Add(12*time.Hour))
				}
			}
		}
		e.clk.Add(10 * time.Minute) // exactly 12 h
		if got := e.do("/whoami", tok).body; got != "|" {
			t.Fatalf("at 12 h = %q, want expired", got)
		}
	})

	t.Run("logout_kills_server_side_and_clears_cookie", func(t *testing.T) {
		e := newEnv(t, nil)
		tok := e.do("/login?u=alice", "").token()
		r := e.do("/logout", tok)
		assertCleared(t, r)
		if got := e.do("/whoami", tok).body; got != "|" {
			t.Fatalf("after logout = %q", got)
		}
		if _, found, _ := e.mem.Find(context.Background(), idOf(tok)); found {
			t.Fatal("record survived logout")
		}
	})

	t.Run("log_out_everywhere", func(t *testing.T) {
		e := newEnv(t, nil)
		a1 := e.do("/login?u=alice", "").token()
		a2 := e.do("/login?u=alice", "").token()
		b := e.do("/login?u=bob", "").token()
		r := e.do("/logout-all", a1)
		assertCleared(t, r)
		for _, tok := range []string{a1, a2} {
			if got := e.do("/whoami", tok).body; got != "|" {
				t.Fatalf("alice session survived log-out-everywhere: %q", got)
			}
		}
		if got := e.do("/whoami", b).body; got != "bob|" {
			t.Fatalf("bob's session = %q", got)
		}
	})

	t.Run("revoke_one_device_checks_owner", func(t *testing.T) {
		e := newEnv(t, nil)
		a1 := e.do("/login?u=alice", "").token()
		a2 := e.do("/login?u=alice", "").token()
		b := e.do("/login?u=bob", "").token()
		ctx := context.Background()
		if err := e.m.Revoke(ctx, "alice", idOf(b)); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("alice revoking bob's session = %v, want ErrNotFound", err)
		}
		if err := e.m.Revoke(ctx, "alice", "no-such"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Revoke(missing) = %v", err)
		}
		if got := e.do("/whoami", b).body; got != "bob|" {
			t.Fatalf("bob's session after foreign revoke = %q", got)
		}
		if err := e.m.Revoke(ctx, "alice", idOf(a2)); err != nil {
			t.Fatal(err)
		}
		if got := e.do("/whoami", a2).body; got != "|" {
			t.Fatal("revoked device still signed in")
		}
		if got := e.do("/whoami", a1).body; got != "alice|" {
			t.Fatal("other device signed out")
		}
	})

	t.Run("cookie_attributes_and_entropy", func(t *testing.T) {
		e := newEnv(t, nil)
		r := e.do("/login?u=alice", "")
		sc := r.setCookies()
		if len(sc) != 1 {
			t.Fatalf("Set-Cookie = %q", sc)
		}
		c := sc[0]
		for _, want := range []string{"__Host-session=", "; Path=/", "; HttpOnly", "; Secure", "; SameSite=Lax"} {
			if !strings.Contains(c, want) {
				t.Errorf("Set-Cookie %q lacks %q", c, want)
			}
		}
		if strings.Contains(strings.ToLower(c), "domain=") || len(c) > 4096 {
			t.Errorf("Set-Cookie %q has Domain or exceeds 4096 bytes", c)
		}
		id, secret, ok := strings.Cut(r.token(), ".")
		idRaw, err1 := base64.RawURLEncoding.DecodeString(id)
		secRaw, err2 := base64.RawURLEncoding.DecodeString(secret)
		if !ok || err1 != nil || err2 != nil || len(idRaw) < 16 || len(secRaw) < 16 {
			t.Fatalf("token %q: id %d bytes, secret %d bytes; want ≥16 each", r.token(), len(idRaw), len(secRaw))
		}
		// The store never sees the secret, only its SHA-256.
		rec, _, _ := e.mem.Find(context.Background(), id)
		if bytes.Contains(rec.SecretHash, secRaw) || bytes.Contains(rec.Data, []byte(secret)) || len(rec.SecretHash) != 32 {
			t.Fatal("raw secret reached the store")
		}
		// Tokens come from Config.Rand: a fixed reader gives a fixed token,
		// so the default (crypto/rand) is what makes them unpredictable.
		fixed := newEnv(t, func(c *session.Config) { c.Rand = bytes.NewReader(bytes.Repeat([]byte{7}, 48)) })
		ft := fixed.do("/login?u=x", "").token()
		want := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16)) + "." + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
		if ft != want {
			t.Fatalf("token not drawn from Config.Rand: %q", ft)
		}
		// An exhausted reader fails closed instead of issuing a weak token.
		if r := fixed.do("/put?v=1", ""); r.code != 500 || r.token() != "" {
			t.Fatalf("with failing Rand: %d, token %q", r.code, r.token())
		}
		seen := map[string]bool{}
		for range 100 {
			tok := e.do("/put?v=1", "").token()
			if seen[tok] {
				t.Fatal("duplicate token")
			}
			seen[tok] = true
		}
	})

	t.Run("insecure_dev_option_drops_host_prefix", func(t *testing.T) {
		e := newEnv(t, func(c *session.Config) { c.InsecureCookieNoSecure = true })
		c := e.do("/put?v=1", "").setCookies()[0]
		if !strings.HasPrefix(c, "session=") || strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") {
			t.Fatalf("insecure dev cookie = %q", c)
		}
	})

	t.Run("invalid_tokens_indistinguishable", func(t *testing.T) {
		e := newEnv(t, nil)
		expired := e.do("/login?u=bob", "").token()
		e.clk.Add(31 * time.Minute)
		valid := e.do("/login?u=alice", "").token()
		id, _, _ := strings.Cut(valid, ".")
		wrongSecret := id + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
		unknown := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, 16)) + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
		cases := map[string]string{
			"expired": expired, "wrong secret": wrongSecret, "unknown id": unknown,
			"malformed": "garbage", "too long": strings.Repeat("A", 5000), "padded": valid[:len(valid)-1] + "=",
		}
		var first resp
		var firstName string
		for name, tok := range cases {
			r := e.do("/whoami", tok)
			if r.body != "|" {
				t.Fatalf("%s: body %q, want anonymous", name, r.body)
			}
			if firstName == "" {
				first, firstName = r, name
				assertCleared(t, r)
				continue
			}
			if r.code != first.code || r.body != first.body || fmt.Sprint(r.header) != fmt.Sprint(first.header) {
				t.Errorf("%s differs from %s: %d %q %v vs %d %q %v", name, firstName, r.code, r.body, r.header, first.code, first.body, first.header)
			}
		}
		if got := e.do("/whoami", valid).body; got != "alice|" {
			t.Fatalf("wrong-secret probe disturbed the real session: %q", got)
		}
	})
}

func assertCleared(t *testing.T, r resp) {
	t.Helper()
	sc := r.setCookies()
	if len(sc) != 1 || !strings.HasPrefix(sc[0], "__Host-session=;") || !strings.Contains(sc[0], "Max-Age=0") ||
		!strings.Contains(sc[0], "Secure") || !strings.Contains(sc[0], "Path=/") {
		t.Fatalf("cookie not cleared with Max-Age=0: %q", sc)
	}
}

func TestStoreErrorNeverAnonymous(t *testing.T) {
	for _, tc := range []struct {
		name      string
		custom    bool
		breakFind bool
		wantCode  int
	}{
		{"find default 500", false, true, 500},
		{"find custom 503", true, true, 503},
		{"save default 500", false, false, 500},
		{"save custom 503", true, false, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hookErr error
			e := newEnv(t, func(c *session.Config) {
				if tc.custom {
					c.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
						hookErr = err
						http.Error(w, "unavailable", http.StatusServiceUnavailable)
					}
				}
			})
			tok := e.do("/login?u=alice", "").token()
			e.clk.Add(2 * time.Minute) // the next request touches: it must Save
			called := false
			e.mux.HandleFunc("/secret", func(w http.ResponseWriter, r *http.Request) {
				called = true
				s, _ := session.FromContext(r.Context())
				io.WriteString(w, "secret for "+s.UserID())
			})
			if tc.breakFind {
				e.store.failFind.Store(true)
			} else {
				e.store.failSave.Store(true)
			}
			r := e.do("/secret", tok)
			if r.code != tc.wantCode || strings.Contains(r.body, "secret") || strings.Contains(r.body, "store down") {
				t.Fatalf("store failure answered %d %q", r.code, r.body)
			}
			if tc.breakFind && called {
				t.Fatal("handler ran although the session could not be loaded")
			}
			if tc.custom && !errors.Is(hookErr, errStore) {
				t.Fatalf("ErrorFunc got %v", hookErr)
			}
		})
	}
}

func TestConcurrentUseOfOneSession(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.do("/login?u=alice", "").token()
	// 64 goroutines share one *Session inside a handler.
	e.mux.HandleFunc("/fanout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() {
				k := fmt.Sprintf("k%d", i)
				if err := s.Put(k, i); err != nil {
					t.Error(err)
				}
				var v int
				if ok, err := s.Get(k, &v); !ok || err != nil || v != i {
					t.Errorf("Get(%s) = %v %v %d", k, ok, err, v)
				}
				_ = s.UserID()
				_ = s.Keys()
			})
		}
		wg.Wait()
	})
	e.do("/fanout", tok)
	var n int
	e.mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		n = len(s.Keys())
	})
	e.do("/count", tok)
	if n != 64 {
		t.Fatalf("keys after fan-out = %d, want 64", n)
	}
	// 64 concurrent requests with the same cookie.
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			path := "/whoami"
			if i%4 == 0 {
				path = fmt.Sprintf("/put?v=%d", i)
			}
			r := e.do(path, tok)
			if r.code != 200 {
				t.Errorf("concurrent request: %d", r.code)
			}
		})
	}
	wg.Wait()
	if got := e.do("/whoami", tok).body; got != "alice|" {
		t.Fatalf("after concurrent requests: %q", got)
	}
}

func TestBearerTransport(t *testing.T) {
	e := newEnv(t, func(c *session.Config) { c.Transport = session.TransportCookieOrBearer })
	r := e.do("/login?u=alice", "")
	tok := r.body // the API client gets its token from Session.Token
	if tok == "" || tok != r.token() {
		t.Fatalf("token %q cookie %q", tok, r.token())
	}
	req := httptest.NewRequest("GET", "/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	r = e.send(req)
	if r.body != "alice|" || len(r.setCookies()) != 0 || r.header.Get("Vary") != "Authorization" {
		t.Fatalf("bearer: %q cookies %v vary %q", r.body, r.setCookies(), r.header.Get("Vary"))
	}
	// Bearer-only: cookies are ignored and never set.
	b := newEnv(t, func(c *session.Config) { c.Transport = session.TransportBearer })
	r = b.do("/login?u=bob", "")
	if len(r.setCookies()) != 0 || r.body == "" {
		t.Fatalf("bearer-only login set cookies %v", r.setCookies())
	}
	if got := b.do("/whoami", r.body).body; got != "|" {
		t.Fatalf("bearer-only accepted a cookie: %q", got)
	}
	req = httptest.NewRequest("GET", "/whoami", nil)
	req.Header.Set("Authorization", "bearer "+r.body)
	if got := b.send(req).body; got != "bob|" {
		t.Fatalf("bearer-only: %q", got)
	}
}

func TestWriterKeepsInterfaces(t *testing.T) {
	e := newEnv(t, nil)
	e.mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		if err := s.Put("k", "v"); err != nil {
			t.Error(err)
		}
		if _, ok := w.(http.Flusher); !ok {
			t.Error("wrapped writer lost http.Flusher")
		}
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("ResponseController.SetWriteDeadline: %v", err)
		}
		if err := rc.Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
		io.WriteString(w, "chunk")
	})
	e.mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		s.Put("k", "hijacked")
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		bw.Flush()
	})
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "chunk" || len(res.Header.Values("Set-Cookie")) != 1 {
		t.Fatalf("stream: %q, cookies %v", body, res.Header.Values("Set-Cookie"))
	}
	tok := ""
	for _, c := range res.Cookies() {
		tok = c.Value
	}
	req, _ := http.NewRequest("GET", srv.URL+"/hijack", nil)
	req.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: tok})
	res, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "hi" {
		t.Fatalf("hijack: %q", body)
	}
	if got := e.do("/get", tok).body; got != "hijacked" {
		t.Fatalf("session not saved before hijack: %q", got)
	}
	// A recorder cannot hijack, and the wrapper does not pretend it can.
	e.mux.HandleFunc("/nohijack", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Hijacker); ok {
			t.Error("wrapper claims Hijacker over a recorder")
		}
	})
	e.do("/nohijack", "")
	_ = bufio.NewReader
}

func TestRenewAfterHeadersFails(t *testing.T) {
	e := newEnv(t, nil)
	var err error
	e.mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		err = e.m.Login(r.Context(), "alice")
	})
	r := e.do("/late", "")
	if !errors.Is(err, session.ErrHeadersWritten) || r.token() != "" {
		t.Fatalf("Login after headers = %v, token %q", err, r.token())
	}
	if err := e.m.Renew(context.Background()); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("Renew without session = %v", err)
	}
}

func TestListUser(t *testing.T) {
	e := newEnv(t, nil)
	var infos []session.Info
	e.mux.HandleFunc("/devices", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		var err error
		if infos, err = e.m.ListUser(r.Context(), s.UserID()); err != nil {
			t.Error(err)
		}
	})
	req := httptest.NewRequest("GET", "/login?u=alice", nil)
	req.Header.Set("User-Agent", "phone/1")
	req.RemoteAddr = "203.0.113.9:5555"
	phone := e.send(req).token()
	e.clk.Add(5 * time.Minute)
	laptop := e.do("/login?u=alice", "").token()
	e.do("/login?u=bob", "")
	e.do("/devices", laptop)
	if len(infos) != 2 {
		t.Fatalf("ListUser = %d sessions, want 2", len(infos))
	}
	if infos[0].ID != idOf(laptop) || !infos[0].Current || infos[1].ID != idOf(phone) || infos[1].Current {
		t.Fatalf("order/current wrong: %+v", infos)
	}
	if infos[1].IP != "203.0.113.9" || infos[1].UserAgent != "phone/1" || infos[1].CreatedAt.IsZero() || infos[1].LastSeen.IsZero() {
		t.Fatalf("device info: %+v", infos[1])
	}
}

func TestDestroyAndGobCodec(t *testing.T) {
	e := newEnv(t, func(c *session.Config) { c.Codec = session.GobCodec{} })
	tok := e.do("/put?v=gob-value", "").token()
	if got := e.do("/get", tok).body; got != "gob-value" {
		t.Fatalf("gob round trip = %q", got)
	}
	var putErr, loginErr error
	e.mux.HandleFunc("/destroy", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.Destroy(r.Context()); err != nil {
			t.Error(err)
		}
		s, _ := session.FromContext(r.Context())
		putErr = s.Put("k", "again")
		loginErr = e.m.Login(r.Context(), "alice")
	})
	r := e.do("/destroy", tok)
	assertCleared(t, r)
	if !errors.Is(putErr, session.ErrDestroyed) || !errors.Is(loginErr, session.ErrDestroyed) {
		t.Fatalf("after Destroy: Put %v, Login %v", putErr, loginErr)
	}
	if got := e.do("/get", tok).body; got != "" {
		t.Fatalf("destroyed session still readable: %q", got)
	}
	// Logout, unlike Destroy, lets the request start a fresh session.
	tok = e.do("/login?u=alice", "").token()
	e.mux.HandleFunc("/logout-then-flash", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.Logout(r.Context()); err != nil {
			t.Error(err)
		}
		s, _ := session.FromContext(r.Context())
		if err := s.Put("k", "bye"); err != nil {
			t.Error(err)
		}
	})
	r = e.do("/logout-then-flash", tok)
	nt := r.token()
	if nt == "" || idOf(nt) == idOf(tok) {
		t.Fatalf("fresh session after logout: %q (old %q)", nt, tok)
	}
	if got := e.do("/whoami", nt).body; got != "|" {
		t.Fatalf("fresh session after logout is signed in: %q", got)
	}
	if got := e.do("/get", nt).body; got != "bye" {
		t.Fatalf("flash after logout = %q", got)
	}
}

func TestLateSaveAndCorruptData(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.do("/put?v=early", "").token()
	e.mux.HandleFunc("/late-put", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body first")
		s, _ := session.FromContext(r.Context())
		s.Put("k", "late")
	})
	e.do("/late-put", tok)
	if got := e.do("/get", tok).body; got != "late" {
		t.Fatalf("value put after the body was not saved: %q", got)
	}
	// Corrupt session data in the store fails closed, never anonymous.
	rec, _, _ := e.mem.Find(context.Background(), idOf(tok))
	rec.Data = []byte{9, 9, 9}
	e.mem.Update(context.Background(), idOf(tok), rec)
	if r := e.do("/get", tok); r.code != 500 {
		t.Fatalf("corrupt data answered %d %q", r.code, r.body)
	}
}

func TestPersistentCookie(t *testing.T) {
	e := newEnv(t, func(c *session.Config) { c.PersistentCookie = true })
	tok := e.do("/login?u=alice", "").token()
	for range 6 { // stay active for 2 h
		e.clk.Add(20 * time.Minute)
		e.do("/whoami", tok)
	}
	r := e.do("/renew", tok)
	var maxAge int
	for _, c := range r.cookies {
		maxAge = c.MaxAge
	}
	if want := int((10 * time.Hour).Seconds()); maxAge != want {
		t.Fatalf("Max-Age after renew = %d, want %d (remaining absolute lifetime)", maxAge, want)
	}
	d := newEnv(t, nil)
	if c := d.do("/login?u=alice", "").cookies[0]; c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Fatalf("default cookie is persistent: %+v", c)
	}
}

// TestClientIPTakesTheResolver: Config.ClientIP takes the method value of
// middleware.ClientIPResolver, so a session records the address the
// resolver trusts (here from a trusted proxy's X-Forwarded-For), not the
// proxy's.
func TestClientIPTakesTheResolver(t *testing.T) {
	ips, err := middleware.NewClientIPResolver(middleware.ClientIPResolverConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *session.Config) { c.ClientIP = ips.ClientIP })
	var infos []session.Info
	e.mux.HandleFunc("/devices", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		if infos, err = e.m.ListUser(r.Context(), s.UserID()); err != nil {
			t.Error(err)
		}
	})
	req := httptest.NewRequest("GET", "/login?u=alice", nil)
	req.RemoteAddr = "10.1.2.3:5555"
	req.Header.Set("X-Forwarded-For", "198.51.100.4, 10.0.0.9")
	tok := e.send(req).token()
	e.do("/devices", tok)
	if len(infos) != 1 || infos[0].IP != "198.51.100.4" {
		t.Fatalf("recorded sessions %+v, want one with IP 198.51.100.4", infos)
	}
}
