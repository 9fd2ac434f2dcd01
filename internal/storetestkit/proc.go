// Package storetestkit holds the test drivers the store adapters share, so
// that each adapter's tests keep only what is specific to its backend (how
// to open a store in a new process, how to inject a fault):
//
//   - a harness that re-executes the test binary as child processes, starts
//     them on one wall-clock instant and collects their JSON results
//     ([Main], [Start], [Results], [Ready], [Report], [Race], [Tally]);
//   - the cross-process races every backend must win exactly once
//     ([RaceStores], [RunRace], [CheckRace]) and the session revocation
//     race ([RunRevokeWriters], [RevokeRace]);
//   - the refresh-rotation fault drivers ([Faults], [FaultAtEveryStep],
//     [CheckAfterFault], [KillMidRotation], [RotateChild]);
//   - a blackholed server and the table of store calls that must give up
//     within the configured timeout against it ([Blackhole], [Calls]).
//
// It is imported only by tests.
package storetestkit

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/testenv"
)

// Environment variables of a re-executed test binary: EnvRole names the
// child body [Main] runs, EnvArgs carries its JSON arguments.
const (
	EnvRole = "AUTHKIT_STORETEST_CHILD"
	EnvArgs = "AUTHKIT_STORETEST_ARGS"
)

// Main is called first in TestMain. In a child process started by
// [Start] or [Command] it runs the body that roles maps EnvRole to, with
// the JSON arguments the parent passed, and exits with its result; in the
// parent it returns at once.
func Main(roles map[string]func(args []byte) int) {
	role := os.Getenv(EnvRole)
	if role == "" {
		return
	}
	body, ok := roles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "storetestkit: no child body %q\n", role)
		os.Exit(2)
	}
	os.Exit(body([]byte(os.Getenv(EnvArgs))))
}

// ChildArgs are a child's arguments: Proc is its index among the children
// of [Start], Store what its backend needs to open the store.
type ChildArgs[S any] struct {
	Proc  int
	Store S
}

// Child makes the body of a role for [Main]: it decodes the [ChildArgs]
// of store arguments S, opens the child's own store with open, runs body
// and closes the store.
func Child[S, T any](open func(S) (T, func(), error), body func(st T, proc int) int) func(args []byte) int {
	return func(args []byte) int {
		var a ChildArgs[S]
		if err := json.Unmarshal(args, &a); err != nil {
			return Fail(err)
		}
		st, closeStore, err := open(a.Store)
		if err != nil {
			return Fail(err)
		}
		defer closeStore()
		return body(st, a.Proc)
	}
}

// Flags parses the test flags, announces the suites that skip
// (testenv.AnnounceSkips), and sets -test.parallel to parallel unless it
// was given: store cases mostly wait on the server, so more of them run
// at once than GOMAXPROCS.
func Flags(parallel int) {
	flag.Parse()
	testenv.AnnounceSkips()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", strconv.Itoa(parallel))
	}
}

// Command returns a command that re-executes the test binary, running no
// test, as a child that runs role with [ChildArgs] of store. Its stderr is
// this process's.
func Command(t testing.TB, role string, store any) *exec.Cmd {
	return command(t, role, ChildArgs[any]{Store: store})
}

func command(t testing.TB, role string, args ChildArgs[any]) *exec.Cmd {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatalf("child arguments: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), EnvRole+"="+role, EnvArgs+"="+string(b))
	cmd.Stderr = os.Stderr
	return cmd
}

// Group is a set of children started by [Start].
type Group struct {
	t     testing.TB
	procs []*proc
}

type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// Start starts n children running role with [ChildArgs] of store, and
// waits until each has said it is ready (see [Ready]).
func Start(t testing.TB, n int, role string, store any) *Group {
	t.Helper()
	g := &Group{t: t}
	for i := range n {
		cmd := command(t, role, ChildArgs[any]{Proc: i, Store: store})
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		g.procs = append(g.procs, &proc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)})
	}
	for _, p := range g.procs {
		if line, err := p.out.ReadString('\n'); err != nil || line != "ready\n" {
			t.Fatalf("child did not get ready: %q, %v", line, err)
		}
	}
	return g
}

// Len is the number of children.
func (g *Group) Len() int { return len(g.procs) }

// Go tells every child to start at the wall-clock instant at.
func (g *Group) Go(at time.Time) {
	for _, p := range g.procs {
		fmt.Fprintf(p.stdin, "%d\n", at.UnixNano())
		p.stdin.Close()
	}
}

// Output is what a child wrote on stdout after "ready", and how it ended.
type Output struct {
	Out []byte
	Err error // of cmd.Wait
}

// Outputs reads every child's output and waits for it to exit.
func (g *Group) Outputs() []Output {
	g.t.Helper()
	outs := make([]Output, len(g.procs))
	for i, p := range g.procs {
		b, err := io.ReadAll(p.out)
		if err != nil {
			g.t.Fatal(err)
		}
		outs[i] = Output{Out: b, Err: p.cmd.Wait()}
	}
	return outs
}

// Results waits for every child and decodes its JSON result (see
// [Report]); a child that failed or printed no result fails the test.
func Results[T any](g *Group) []T {
	g.t.Helper()
	outs := g.Outputs()
	res := make([]T, len(outs))
	for i, o := range outs {
		if o.Err != nil {
			g.t.Fatalf("child %d: %v, output %q", i, o.Err, o.Out)
		}
		if err := json.Unmarshal(o.Out, &res[i]); err != nil {
			g.t.Fatalf("child output %q: %v", o.Out, err)
		}
	}
	return res
}

// Ready is the child's side of [Start]: once the child has connected, it
// says "ready" and returns the start instant the parent sends with
// [Group.Go].
func Ready() (time.Time, error) {
	fmt.Println("ready")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		return time.Time{}, err
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, ns), nil
}

// Report prints v as the child's JSON result and returns the child's exit
// code.
func Report(v any) int {
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		return Fail(err)
	}
	return 0
}

// Fail prints err on stderr and returns the exit code of a child that
// could not run.
func Fail(err error) int {
	fmt.Fprintln(os.Stderr, err)
	return 2
}

// Race runs body on n goroutines in each of rounds wall-clock slots: round
// r starts at start + r*slot, and the next round waits for all of them.
func Race(start time.Time, rounds int, slot time.Duration, n int, body func(round, g int)) {
	for r := range rounds {
		time.Sleep(time.Until(start.Add(time.Duration(r) * slot)))
		var wg sync.WaitGroup
		for g := range n {
			wg.Go(func() { body(r, g) })
		}
		wg.Wait()
	}
}

// Tally is a child's result: per named race, how many of its callers won
// in each round, the values they saw, and the errors they met.
type Tally struct {
	Counts map[string][]int      `json:"counts,omitempty"`
	Seen   map[string][][]string `json:"seen,omitempty"`
	Errors []string              `json:"errors,omitempty"`
}

// Count is the count of name in round r.
func (t Tally) Count(name string, r int) int {
	if c := t.Counts[name]; r < len(c) {
		return c[r]
	}
	return 0
}

// Values are the values of name seen in round r.
func (t Tally) Values(name string, r int) []string {
	if s := t.Seen[name]; r < len(s) {
		return s[r]
	}
	return nil
}

// Recorder fills a [Tally] from concurrent callers.
type Recorder struct {
	mu     sync.Mutex
	rounds int
	t      Tally
}

// NewRecorder returns a Recorder of rounds rounds.
func NewRecorder(rounds int) *Recorder {
	return &Recorder{rounds: rounds, t: Tally{Counts: map[string][]int{}, Seen: map[string][][]string{}}}
}

// Add counts n wins of name in round r.
func (rec *Recorder) Add(name string, r, n int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.t.Counts[name] == nil {
		rec.t.Counts[name] = make([]int, rec.rounds)
	}
	rec.t.Counts[name][r] += n
}

// See records values of name seen in round r.
func (rec *Recorder) See(name string, r int, values ...string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.t.Seen[name] == nil {
		rec.t.Seen[name] = make([][]string, rec.rounds)
	}
	rec.t.Seen[name][r] = append(rec.t.Seen[name][r], values...)
}

// Fail records an error (nil is ignored).
func (rec *Recorder) Fail(err error) {
	if err == nil {
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.t.Errors = append(rec.t.Errors, err.Error())
}

// Tally returns what was recorded.
func (rec *Recorder) Tally() Tally {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.t
}

// Sum is the count of name in round r over all children.
func Sum(ts []Tally, name string, r int) int {
	n := 0
	for _, t := range ts {
		n += t.Count(name, r)
	}
	return n
}

// Union is every value of name seen in round r by any child.
func Union(ts []Tally, name string, r int) []string {
	var all []string
	for _, t := range ts {
		all = append(all, t.Values(name, r)...)
	}
	return all
}

// ReportErrors fails t with every error a child recorded.
func ReportErrors(t testing.TB, ts []Tally) {
	t.Helper()
	for i, res := range ts {
		for _, e := range res.Errors {
			t.Errorf("child %d: %s", i, e)
		}
	}
}
