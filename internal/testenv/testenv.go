// Package testenv gives tests access to the real Redis and PostgreSQL servers
// that the store adapters are tested against.
//
// The servers are found through environment variables:
//
//   - AUTHKIT_TEST_REDIS_URL, e.g. redis://127.0.0.1:6379/0
//   - AUTHKIT_TEST_POSTGRES_DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//   - AUTHKIT_TEST_REDIS_CLUSTER_ADDRS, comma-separated seed nodes of a Redis
//     Cluster, e.g. 127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103
//
// When a variable is unset the test is skipped, so `go test ./...` works on a
// laptop with neither server. Under CI=true an unset variable or a server
// that does not answer is a test failure instead: CI must never pass by
// skipping the adapters it exists to check.
package testenv

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Environment variable names read by [Redis] and [Postgres].
const (
	RedisURLEnv          = "AUTHKIT_TEST_REDIS_URL"
	PostgresDSNEnv       = "AUTHKIT_TEST_POSTGRES_DSN"
	RedisClusterAddrsEnv = "AUTHKIT_TEST_REDIS_CLUSTER_ADDRS"
)

// dialTimeout bounds the reachability probe.
const dialTimeout = 3 * time.Second

// InCI reports whether the tests run under CI (CI=true), where missing
// servers are failures rather than skips.
func InCI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v == "true" || v == "1"
}

// Redis returns the Redis URL from AUTHKIT_TEST_REDIS_URL after checking that
// its host accepts TCP connections. It skips the test when the variable is
// unset outside CI and fails it under CI or when the server is unreachable.
func Redis(t testing.TB) string {
	t.Helper()
	return lookup(t, RedisURLEnv, "6379")
}

// Postgres returns the PostgreSQL DSN from AUTHKIT_TEST_POSTGRES_DSN after
// checking that its host accepts TCP connections. It skips the test when the
// variable is unset outside CI and fails it under CI or when the server is
// unreachable.
func Postgres(t testing.TB) string {
	t.Helper()
	return lookup(t, PostgresDSNEnv, "5432")
}

// RedisCluster returns the seed addresses of a Redis Cluster from
// AUTHKIT_TEST_REDIS_CLUSTER_ADDRS after checking that the first one accepts
// TCP connections, with the same skip/fail rules as [Redis].
func RedisCluster(t testing.TB) []string {
	t.Helper()
	v := lookup(t, RedisClusterAddrsEnv, "")
	var addrs []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

func lookup(t testing.TB, env, defaultPort string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(env))
	if v == "" {
		if InCI() {
			t.Fatalf("testenv: %s is not set and CI=true: this test needs the real server", env)
		}
		t.Skipf("testenv: %s is not set; skipping (set it, or run .ci/run, to test against the real server)", env)
	}
	addr, err := hostPort(v, defaultPort)
	if err != nil {
		t.Fatalf("testenv: %s: %v", env, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		// Set but unreachable is a failure everywhere: the developer asked
		// for these tests.
		t.Fatalf("testenv: %s=%q is set but %s does not answer: %v", env, v, addr, err)
	}
	_ = conn.Close()
	return v
}

// hostPort extracts host:port from a URL-style value (redis://, postgres://)
// or from a key=value PostgreSQL DSN.
func hostPort(v, defaultPort string) (string, error) {
	if first, _, ok := strings.Cut(v, ","); ok || (!strings.Contains(v, "://") && !strings.Contains(v, "=")) {
		// A comma-separated list of host:port seeds: probe the first.
		return strings.TrimSpace(first), nil
	}
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil {
			return "", err
		}
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "127.0.0.1"
		}
		if port == "" {
			port = defaultPort
		}
		return net.JoinHostPort(host, port), nil
	}
	host, port := "127.0.0.1", defaultPort
	for _, f := range strings.Fields(v) {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "host":
			host = val
		case "port":
			port = val
		}
	}
	return net.JoinHostPort(host, port), nil
}

// AnnounceSkips prints, once per `go test` invocation, one line naming the
// suites that will be skipped because their server variables are unset, and
// the variables that enable them. Call it from TestMain before m.Run.
//
// `go test ./...` shows the output of a passing package only with -v, so the
// line goes to the controlling terminal when there is one (and to stderr
// otherwise, where -v shows it). Several test binaries run at once under one
// `go test`; the first to claim a marker file named after their common parent
// process prints the line, the others stay quiet. Under CI=true nothing is
// skipped (missing servers fail), so nothing is printed.
func AnnounceSkips() {
	if InCI() {
		return
	}
	var missing []string
	for _, s := range suites {
		if strings.TrimSpace(os.Getenv(s.env)) == "" {
			missing = append(missing, s.name+" ("+s.env+")")
		}
	}
	if len(missing) == 0 {
		return
	}
	marker := filepath.Join(os.TempDir(), fmt.Sprintf("authkit-testenv-skips-%d", os.Getppid()))
	if fi, err := os.Stat(marker); err == nil && time.Since(fi.ModTime()) > time.Hour {
		_ = os.Remove(marker) // left by an earlier run whose process id was reused
	}
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return // another package of this run has printed the line
	}
	_ = f.Close()
	line := "authkit tests: skipped " + strings.Join(missing, ", ") +
		"; set the variables (or run .ci/run) to test against the real servers\n"
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		_, _ = tty.WriteString(line)
		_ = tty.Close()
		return
	}
	_, _ = os.Stderr.WriteString(line)
}

// suites names the server-backed suites and the variable that enables each.
var suites = [...]struct{ name, env string }{
	{"Redis suites", RedisURLEnv},
	{"Redis Cluster suites", RedisClusterAddrsEnv},
	{"PostgreSQL suites", PostgresDSNEnv},
}
