package storetestkit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// ErrInjected is the error of a fault a [Faults] injects.
var ErrInjected = errors.New("injected fault")

// Faults counts the round trips (commands, statements, commits) a backend's
// fault injector lets through and fails the armed one: "before" without
// sending it, "after" once the server has run it (the reply is lost).
type Faults struct {
	mu    sync.Mutex
	at    int // round trips to let through before the fault; -1: disarmed
	mode  string
	count int // round trips seen since arming
}

// NewFaults returns a disarmed Faults.
func NewFaults() *Faults { return &Faults{at: -1} }

// Arm fails round trip at (counted from 0) in mode and restarts the count;
// Arm(-1, "") only counts.
func (f *Faults) Arm(at int, mode string) {
	f.mu.Lock()
	f.at, f.mode, f.count = at, mode, 0
	f.mu.Unlock()
}

// Seen is the number of round trips since Arm.
func (f *Faults) Seen() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}

// Next counts a round trip and reports whether it fails, and how: "",
// "before" or "after".
func (f *Faults) Next() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	fire := f.count == f.at
	f.count++
	if !fire {
		return ""
	}
	f.at = -1
	return f.mode
}

// Clock is a settable clock for the managers.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a Clock set to now.
func NewClock() *Clock {
	c := &Clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

// Now is the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// CheckAfterFault checks the family of a token whose rotation failed: the
// client presents tok again and gets a successor; presenting tok again
// within the window gives that same successor (one live successor); and
// after the window tok is reuse, which ends the family.
func CheckAfterFault(t *testing.T, m *jwt.RefreshManager, clk *Clock, tok string) {
	t.Helper()
	ctx := t.Context()
	next, _, err := m.Refresh(ctx, tok)
	if err != nil {
		t.Fatalf("retry after the fault: %v (reuse=%v)", err, errors.Is(err, jwt.ErrTokenReused))
	}
	again, _, err := m.Refresh(ctx, tok)
	if err != nil || again != next {
		t.Fatalf("second retry: %q %v, want the same successor %q", again, err, next)
	}
	clk.Advance(jwt.DefaultGraceWindow + time.Second)
	if _, _, err := m.Refresh(ctx, tok); !errors.Is(err, jwt.ErrTokenReused) {
		t.Fatalf("the old token after the window: %v, want reuse", err)
	}
	if _, _, err := m.Refresh(ctx, next); !errors.Is(err, jwt.ErrInvalidToken) {
		t.Fatalf("the successor after reuse: %v, want invalid (family revoked)", err)
	}
}

// FaultAtEveryStep counts the round trips (of kind unit: "command",
// "statement") of one rotation of store, which must be at least minSteps
// and all go through f, then fails each of them in a subtest, once before
// the server runs it and once after, and checks the family with
// [CheckAfterFault]: a client that did nothing wrong and presents its
// token again keeps its sign-in, there is never more than one live
// successor, and a presentation after the grace window is still reuse.
func FaultAtEveryStep(t *testing.T, store jwt.RefreshStore, f *Faults, minSteps int, unit string) {
	t.Helper()
	clk := NewClock()
	m, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: store, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := m.Issue(t.Context(), "counter", jwt.SignIn{})
	if err != nil {
		t.Fatal(err)
	}
	f.Arm(-1, "")
	if _, _, err := m.Refresh(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	steps := f.Seen()
	if steps < minSteps {
		t.Fatalf("a rotation sent %d %ss", steps, unit)
	}
	for _, mode := range []string{"before", "after"} {
		for k := range steps {
			t.Run(fmt.Sprintf("%s_%d", mode, k), func(t *testing.T) {
				tok, _, err := m.Issue(t.Context(), fmt.Sprintf("u-%s-%d", mode, k), jwt.SignIn{})
				if err != nil {
					t.Fatal(err)
				}
				f.Arm(k, mode)
				if _, _, err := m.Refresh(t.Context(), tok); !errors.Is(err, ErrInjected) {
					t.Fatalf("rotation with a fault at %s %d: %v", unit, k, err)
				}
				f.Arm(-1, "")
				CheckAfterFault(t, m, clk, tok)
			})
		}
	}
}

// KillMidRotation issues a refresh token to each of users users of
// refresh, starts a child running role with [ChildArgs] of store (its body
// calls [RotateChild]), which rotates them in a loop, and SIGKILLs it
// mid-loop; then it presents
// each family's last token the client knows (the reply to the rotation in
// flight may never have arrived): every family rotates, no reuse, one
// successor, and the successor rotates.
func KillMidRotation(t *testing.T, refresh jwt.RefreshStore, users int, role string, store any) {
	t.Helper()
	ctx := t.Context()
	m, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: refresh, GraceWindow: jwt.MaxGraceWindow})
	if err != nil {
		t.Fatal(err)
	}
	toks := make([]string, users)
	for i := range toks {
		if toks[i], _, err = m.Issue(ctx, fmt.Sprint("killed-", i), jwt.SignIn{}); err != nil {
			t.Fatal(err)
		}
	}
	cmd := Command(t, role, store)
	cmd.Stdin = strings.NewReader(strings.Join(toks, "\n") + "\n")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	rotations := 0
	for rotations < 3*users { // let it run, then kill it mid-loop
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		i, tok := parseRotation(t, line)
		toks[i] = tok
		rotations++
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for { // lines written before the kill; a torn last line is skipped
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		if strings.Count(line, " ") == 1 {
			i, tok := parseRotation(t, line)
			toks[i] = tok
		}
	}
	_ = cmd.Wait()
	for i, tok := range toks {
		next, _, err := m.Refresh(ctx, tok)
		if err != nil {
			t.Fatalf("family %d after the kill: %v (reuse=%v)", i, err, errors.Is(err, jwt.ErrTokenReused))
		}
		if again, _, err := m.Refresh(ctx, tok); err != nil || again != next {
			t.Fatalf("family %d presented again: %q %v, want %q", i, again, err, next)
		}
		if _, _, err := m.Refresh(ctx, next); err != nil {
			t.Fatalf("family %d, its successor: %v", i, err)
		}
	}
	t.Logf("child rotated %d times before the kill", rotations)
}

func parseRotation(t *testing.T, line string) (int, string) {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 2 {
		t.Fatalf("child line %q", line)
	}
	i, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("child line %q", line)
	}
	return i, f[1]
}

// RotateChild is the body of the child of [KillMidRotation], once it has
// opened its store: it rotates the tokens given on stdin in a loop and
// prints "<i> <token>" after each rotation, until it is killed.
func RotateChild(store jwt.RefreshStore) int {
	m, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: store, GraceWindow: jwt.MaxGraceWindow})
	if err != nil {
		return Fail(err)
	}
	var toks []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			toks = append(toks, s)
		}
	}
	w := bufio.NewWriter(os.Stdout)
	for n := 0; ; n++ {
		i := n % len(toks)
		next, _, err := m.Refresh(context.Background(), toks[i])
		if err != nil {
			fmt.Fprintln(os.Stderr, "child rotation:", err)
			return 1
		}
		toks[i] = next
		fmt.Fprintf(w, "%d %s\n", i, next)
		w.Flush()
	}
}
