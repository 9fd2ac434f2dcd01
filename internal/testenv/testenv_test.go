package testenv

import (
	"net"
	"testing"
)

func TestHostPort(t *testing.T) {
	tests := []struct {
		in, port, want string
	}{
		{"redis://127.0.0.1:6379/0", "6379", "127.0.0.1:6379"},
		{"redis://localhost/1", "6379", "localhost:6379"},
		{"postgres://postgres@127.0.0.1:5433/test?sslmode=disable", "5432", "127.0.0.1:5433"},
		{"host=db port=6000 user=postgres dbname=test", "5432", "db:6000"},
		{"user=postgres dbname=test", "5432", "127.0.0.1:5432"},
		{"redis://[::1]:7000", "6379", "[::1]:7000"},
		{"127.0.0.1:7101,127.0.0.1:7102", "", "127.0.0.1:7101"},
		{"127.0.0.1:7101", "", "127.0.0.1:7101"},
	}
	for _, tt := range tests {
		got, err := hostPort(tt.in, tt.port)
		if err != nil || got != tt.want {
			t.Errorf("hostPort(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// fakeTB records Skipf and Fatalf (the only methods lookup calls besides
// Helper) and unwinds with a panic that run recovers, so lookup's decisions
// can be asserted. Any other method would hit the nil embedded TB.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true; panic(f) }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; panic(f) }

func run(f *fakeTB, fn func(testing.TB) string) {
	defer func() {
		if r := recover(); r != nil && r != f {
			panic(r)
		}
	}()
	fn(f)
}

func TestLookupDecisions(t *testing.T) {
	// A listener that answers, and an address that does not.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name      string
		ci, value string
		wantSkip  bool
		wantFail  bool
	}{
		{"unset_locally_skips", "", "", true, false},
		{"unset_in_ci_fails", "true", "", false, true},
		{"reachable_passes", "true", "redis://" + ln.Addr().String(), false, false},
		{"unreachable_fails_locally", "", "redis://" + deadAddr, false, true},
		{"unreachable_fails_in_ci", "true", "redis://" + deadAddr, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv(RedisURLEnv, tt.value)
			f := &fakeTB{}
			run(f, Redis)
			if f.skipped != tt.wantSkip || f.failed != tt.wantFail {
				t.Fatalf("skipped=%v failed=%v; want skipped=%v failed=%v", f.skipped, f.failed, tt.wantSkip, tt.wantFail)
			}
		})
	}
}
