package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/testenv"
)

const childArgsEnv = "PRODEX_MAIN_ARGS"

// TestMain runs main itself when the test binary is started as a child by
// TestStartupFailureNamesTheCause.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childArgsEnv); ok {
		os.Args = append([]string{"production"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	testenv.AnnounceSkips()
	os.Exit(m.Run())
}

// Every start-up failure ends the program with status 1 and the cause on
// stderr, every failing dependency named at once; no server is needed.
func TestStartupFailureNamesTheCause(t *testing.T) {
	loose := t.TempDir()
	if err := os.WriteFile(filepath.Join(loose, "master.secret"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	down := []string{"-db", "postgres://nobody@127.0.0.1:1/app?connect_timeout=2", "-redis", "redis://127.0.0.1:1/0"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"bad Redis URL", []string{"-redis", "mysql://x"}, []string{"redis: invalid URL scheme"}},
		{"bad DSN", []string{"-db", "postgres://x:notaport/", "-redis", "redis://127.0.0.1:1/0"}, []string{"cannot parse"}},
		{"database and Redis down", append(down, "-secrets", t.TempDir()), []string{"users table:", "127.0.0.1:1", "redis"}},
		{"secret file readable by others", append(down, "-secrets", loose), []string{"accessible by group or others"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(tt.args, "\x1f"))
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v; want status 1; output:\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
