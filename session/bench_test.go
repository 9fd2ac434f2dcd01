package session_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/session"
)

func benchLoop(b *testing.B, h http.Handler, c *http.Cookie) {
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func benchManager(b *testing.B, write bool) (http.Handler, *http.Cookie) {
	m, err := session.New(session.Config{Store: memtest.New(b, nil).Sessions()})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		if r.URL.Path == "/init" {
			s.Put("k", "hello")
		} else if s.GetString("k") != "hello" {
			b.Fatal("lost value")
		}
		if write {
			n++
			s.Put("n", n)
		}
		io.WriteString(w, "ok")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://example.com/init", nil))
	return h, w.Result().Cookies()[0]
}

func BenchmarkBare(b *testing.B) {
	benchLoop(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), nil)
}

func BenchmarkLoadAndSaveRead(b *testing.B) {
	h, c := benchManager(b, false)
	benchLoop(b, h, c)
}

func BenchmarkLoadAndSaveWrite(b *testing.B) {
	h, c := benchManager(b, true)
	benchLoop(b, h, c)
}
