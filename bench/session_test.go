package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"

	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/memstore"
)

// The same trivial handler body for every variant: read one string from the
// session (read-only) or also write one value (writing), then write "ok".

func benchServe(b *testing.B, h http.Handler, cookie *http.Cookie) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// firstCookie runs one request through h (which must Put a value) and
// returns the session cookie it set.
func firstCookie(b *testing.B, h http.Handler) *http.Cookie {
	b.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://example.com/init", nil))
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		b.Fatalf("init cookies: %v", cs)
	}
	return cs[0]
}

func authkitHandler(b *testing.B, write bool) (http.Handler, *http.Cookie) {
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := session.New(session.Config{Store: st.Sessions()})
	if err != nil {
		b.Fatal(err)
	}
	h := sessionHandler(b, m, write)
	return h, firstCookie(b, h)
}

func scsHandler(b *testing.B, write bool) (http.Handler, *http.Cookie) {
	sm := scs.New()
	sm.Store = scsmem.New()
	n := 0
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/init" {
			sm.Put(r.Context(), "k", "hello")
		}
		if sm.GetString(r.Context(), "k") != "hello" && r.URL.Path != "/init" {
			b.Fatal("lost value")
		}
		if write {
			n++
			sm.Put(r.Context(), "n", n)
		}
		io.WriteString(w, "ok")
	}))
	return h, firstCookie(b, h)
}

// BenchmarkSession: the bare handler, authkit's LoadAndSave and scs's
// LoadAndSave (both on their in-memory stores) around the same handler, for a
// read-only request and for one that writes a value. docs/PERF.md compares the
// time and allocations each middleware adds to the bare handler.
func BenchmarkSession(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for _, op := range []struct {
		name  string
		write bool
	}{{"read", false}, {"write", true}} {
		b.Run("op="+op.name+"/impl=bare", func(b *testing.B) { benchServe(b, bare, nil) })
		b.Run("op="+op.name+"/impl=authkit", func(b *testing.B) {
			h, c := authkitHandler(b, op.write)
			benchServe(b, h, c)
		})
		b.Run("op="+op.name+"/impl=scs", func(b *testing.B) {
			h, c := scsHandler(b, op.write)
			benchServe(b, h, c)
		})
	}
}
