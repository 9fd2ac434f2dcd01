package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/session"
)

// The store benchmarks (redis_test.go, sql_test.go) share these drivers;
// each backend supplies how to open its store and count its traffic.

// BenchmarkRedisSession and BenchmarkSQLSession: a request through
// session.Manager.LoadAndSave on redisstore's and sqlstore's PostgreSQL
// session store, read-only (one HGET; one SELECT) and writing
// (benchStoreSession).
func BenchmarkRedisSession(b *testing.B) { benchStoreSession(b, "authkit-redis", redisBench) }
func BenchmarkSQLSession(b *testing.B)   { benchStoreSession(b, "authkit-postgres", sqlBench) }

// BenchmarkRedisRefresh and BenchmarkSQLRefresh: one refresh-token
// rotation on redisstore's and sqlstore's PostgreSQL refresh store
// (benchStoreRefresh).
func BenchmarkRedisRefresh(b *testing.B) { benchStoreRefresh(b, "authkit-redis", redisBench) }
func BenchmarkSQLRefresh(b *testing.B)   { benchStoreRefresh(b, "authkit-postgres", sqlBench) }

// storeCounters count a backend's traffic: round trips (calls that waited
// for the server) and requests (commands or statements), reported per
// operation as roundtrips/op and <unit>/op.
type storeCounters struct {
	unit       string // "commands", "queries"
	roundTrips atomic.Int64
	requests   atomic.Int64
}

func (c *storeCounters) reset() { c.roundTrips.Store(0); c.requests.Store(0) }

// report adds the metrics over the b.N iterations since the last reset.
func (c *storeCounters) report(b *testing.B) {
	b.ReportMetric(float64(c.roundTrips.Load())/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(c.requests.Load())/float64(b.N), c.unit+"/op")
}

// benchEnv is the server address in env; without one the benchmark skips.
func benchEnv(b *testing.B, env string) string {
	b.Helper()
	v := os.Getenv(env)
	if v == "" {
		b.Skip(env + " is not set")
	}
	return v
}

// benchStores are a backend's stores under test, on a fresh key prefix or
// schema, and the counters of its traffic.
type benchStores struct {
	sessions session.Store
	refresh  jwt.RefreshStore
	counters *storeCounters
}

// benchStoreSession: a request through session.Manager.LoadAndSave on the
// session store open returns, read-only (the handler reads one value;
// LastSeen is not due, so nothing is written) and writing (the handler
// puts a value each time, so the record is saved), as sub-benchmarks
// op=read|write/impl=impl.
func benchStoreSession(b *testing.B, impl string, open func(b *testing.B) benchStores) {
	for _, op := range []struct {
		name  string
		write bool
	}{{"read", false}, {"write", true}} {
		b.Run("op="+op.name+"/impl="+impl, func(b *testing.B) {
			stores := open(b)
			counters := stores.counters
			m, err := session.New(session.Config{Store: stores.sessions})
			if err != nil {
				b.Fatal(err)
			}
			h := sessionHandler(b, m, op.write)
			cookie := firstCookie(b, h)
			// Warm up: connections open, scripts loaded, statements prepared.
			for range 10 {
				storeServe(b, h, cookie)
			}
			counters.reset()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				storeServe(b, h, cookie)
			}
			b.StopTimer()
			counters.report(b)
		})
	}
}

// sessionHandler is the benchmarks' handler behind m.LoadAndSave: it
// reads one value ("/init" puts it), and with write puts a value each
// time.
func sessionHandler(b *testing.B, m *session.Manager, write bool) http.Handler {
	n := 0
	return m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		if r.URL.Path == "/init" {
			if err := s.Put("k", "hello"); err != nil {
				b.Error(err)
			}
		} else if s.GetString("k") != "hello" {
			b.Error("lost value")
		}
		if write {
			n++
			if err := s.Put("n", n); err != nil {
				b.Error(err)
			}
		}
		io.WriteString(w, "ok")
	}))
}

func storeServe(b *testing.B, h http.Handler, c *http.Cookie) {
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.AddCookie(c)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// benchStoreRefresh: one refresh-token rotation (jwt.RefreshManager.Refresh:
// the atomic Use of the old token and the Create of its successor) on the
// refresh store open returns, as the sub-benchmark op=rotate/impl=impl.
func benchStoreRefresh(b *testing.B, impl string, open func(b *testing.B) benchStores) {
	b.Run("op=rotate/impl="+impl, func(b *testing.B) {
		stores := open(b)
		counters := stores.counters
		m, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: stores.refresh})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		tok, _, err := m.Issue(ctx, "user-1", jwt.SignIn{})
		if err != nil {
			b.Fatal(err)
		}
		for range 10 {
			if tok, _, err = m.Refresh(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
		counters.reset()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if tok, _, err = m.Refresh(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		counters.report(b)
	})
}
