package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/testenv"
)

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runFails runs the command in-process with args and returns its error and
// what it wrote to stderr; a panic fails the test binary.
func runFails(t *testing.T, args ...string) (stderrText string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err = run(ctx, args, &stdout, &stderr)
	if err == nil {
		t.Fatalf("run %q succeeded; stdout %q", args, stdout.String())
	}
	if strings.Contains(stdout.String(), "listening on") {
		t.Fatalf("run %q announced itself before failing: %q", args, stdout.String())
	}
	t.Logf("run %q: %v", args, err)
	return stderr.String(), err
}

// TestStartupFailuresReportTheCause: every start-up failure returns the real
// cause (main prints it and exits 1) instead of panicking while cleaning up.
func TestStartupFailuresReportTheCause(t *testing.T) {
	dir := t.TempDir()
	common := []string{"-addr", "127.0.0.1:0", "-key-dir", filepath.Join(dir, "keys"), "-users", "sqlite:" + filepath.Join(dir, "users.db")}

	t.Run("bad_flag", func(t *testing.T) {
		stderr, err := runFails(t, "-no-such-flag")
		if !strings.Contains(err.Error(), "no-such-flag") || !strings.Contains(stderr, "Usage") {
			t.Fatalf("err %v, stderr %q", err, stderr)
		}
	})
	t.Run("redis_down", func(t *testing.T) {
		addr := freeAddr(t)
		_, err := runFails(t, append(common, "-store", "redis://"+addr+"/0")...)
		if !strings.Contains(err.Error(), addr) && !strings.Contains(err.Error(), "refused") {
			t.Fatalf("err %v does not name the Redis address", err)
		}
	})
	t.Run("postgres_database_missing", func(t *testing.T) {
		u, err := url.Parse(testenv.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/authkit_no_such_database"
		_, err = runFails(t, append(common, "-store", "postgres:"+u.String())...)
		if !strings.Contains(err.Error(), "authkit_no_such_database") || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("err %v does not say the database is missing", err)
		}
		// The same for the user table.
		_, err = runFails(t, "-addr", "127.0.0.1:0", "-store", "memory", "-users", "postgres:"+u.String())
		if !strings.Contains(err.Error(), "authkit_no_such_database") || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("err %v does not say the database is missing", err)
		}
	})
}

// TestMainExitsNonZero re-runs the test binary as the command: a start-up
// failure prints "server: " and the cause on stderr and exits with status 1.
func TestMainExitsNonZero(t *testing.T) {
	if args := os.Getenv("AUTHKIT_EXAMPLE_SERVER_ARGS"); args != "" {
		os.Args = append([]string{"server"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	addr := freeAddr(t)
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMainExitsNonZero$")
	cmd.Env = append(os.Environ(), "AUTHKIT_EXAMPLE_SERVER_ARGS=-addr 127.0.0.1:0 -key-dir "+filepath.Join(dir, "k")+
		" -users sqlite:"+filepath.Join(dir, "u.db")+" -store redis://"+addr+"/0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v; stderr %q", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "server: ") || strings.Contains(stderr.String(), "panic") {
		t.Fatalf("stderr %q", stderr.String())
	}
}
