package storetestkit

import (
	"os"
	"reflect"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Main(map[string]func([]byte) int{"echo": Child(openEcho, echoChild)})
	os.Exit(m.Run())
}

func openEcho(word string) (string, func(), error) { return word, func() {}, nil }

// echoChild races 3 goroutines in 2 rounds; each counts one "n" and sees
// its word.
func echoChild(word string, proc int) int {
	start, err := Ready()
	if err != nil {
		return Fail(err)
	}
	rec := NewRecorder(2)
	Race(start, 2, 10*time.Millisecond, 3, func(r, g int) {
		rec.Add("n", r, 1)
		if g == 0 {
			rec.See("who", r, word+string(rune('0'+proc)))
		}
	})
	return Report(rec.Tally())
}

func TestStartCollectsEveryChildsTally(t *testing.T) {
	g := Start(t, 2, "echo", "w")
	g.Go(time.Now().Add(20 * time.Millisecond))
	res := Results[Tally](g)
	ReportErrors(t, res)
	for r := range 2 {
		if n := Sum(res, "n", r); n != 6 {
			t.Errorf("round %d: Sum = %d, want 6", r, n)
		}
		if got := Union(res, "who", r); !reflect.DeepEqual(got, []string{"w0", "w1"}) {
			t.Errorf("round %d: Union = %q, want [w0 w1]", r, got)
		}
	}
	if n := Sum(res, "missing", 0); n != 0 {
		t.Errorf("Sum of a name never counted = %d, want 0", n)
	}
}

func TestFaultsFireOnceAtTheArmedStep(t *testing.T) {
	f := NewFaults()
	for range 3 {
		if m := f.Next(); m != "" {
			t.Fatalf("disarmed Next = %q", m)
		}
	}
	f.Arm(1, "after")
	got := []string{f.Next(), f.Next(), f.Next()}
	if !reflect.DeepEqual(got, []string{"", "after", ""}) {
		t.Fatalf("Next after Arm(1) = %q, want [\"\" after \"\"]", got)
	}
	if f.Seen() != 3 {
		t.Fatalf("Seen = %d, want 3", f.Seen())
	}
}
