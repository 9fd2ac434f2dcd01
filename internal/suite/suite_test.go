package suite_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authkit-go/authkit/internal/suite"
)

var errOdd = errors.New("odd")

func parity() suite.Suite[int] {
	return suite.Suite[int]{Name: "paritytest", Cases: []suite.Case[int]{
		{Name: "Even", Check: func(_ context.Context, n int) error {
			if n%2 != 0 {
				return errOdd
			}
			return nil
		}},
		{Name: "Positive", Check: func(_ context.Context, n int) error {
			if n <= 0 {
				return errors.New("not positive")
			}
			return nil
		}},
		{Name: "Small", Check: func(_ context.Context, n int) error { return errors.New("always fails") }},
	}, Skip: map[string]string{"Small": "not checked here"}}
}

func TestTestJoinsOneCaseErrorPerFailedCase(t *testing.T) {
	t.Parallel()
	err := parity().Test(func() (int, error) { return -3, nil })
	failed := suite.Failed(err)
	if len(failed) != 2 || !failed["Even"] || !failed["Positive"] {
		t.Fatalf("failed = %v, want Even and Positive (Small is skipped)", failed)
	}
	if !errors.Is(err, errOdd) {
		t.Fatalf("err = %v, does not wrap the case's failure", err)
	}
	if !strings.Contains(err.Error(), "paritytest: Even: odd") {
		t.Fatalf("err = %q, want the suite and case named", err)
	}
	if err := parity().Test(func() (int, error) { return 4, nil }); err != nil {
		t.Fatalf("a conforming value fails: %v", err)
	}
}

func TestTestReportsFactoryErrorForEveryCase(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	err := parity().Test(func() (int, error) { return 0, boom })
	if !errors.Is(err, boom) || len(suite.Failed(err)) != 2 {
		t.Fatalf("Test with failing factory = %v", err)
	}
}

func TestRunCallsFactoryOncePerCaseAndSkipsWithReason(t *testing.T) {
	var calls atomic.Int32
	t.Run("suite", func(t *testing.T) {
		parity().Run(t, func(*testing.T) int { calls.Add(1); return 2 })
	})
	if n := calls.Load(); n != 2 {
		t.Fatalf("factory called %d times, want 2 (one per case that is not skipped)", n)
	}
}

func TestFailedFindsWrappedCaseErrors(t *testing.T) {
	t.Parallel()
	a := &suite.CaseError{Suite: "s", Case: "A", Err: errOdd}
	b := &suite.CaseError{Suite: "s", Case: "B", Err: errOdd}
	err := errors.Join(a, errors.Join(b, errors.New("other")))
	if got := suite.Failed(err); len(got) != 2 || !got["A"] || !got["B"] {
		t.Fatalf("Failed = %v", got)
	}
	if got := suite.Failed(nil); len(got) != 0 {
		t.Fatalf("Failed(nil) = %v", got)
	}
}

// recordingTB records Errorf calls; any other method would hit the nil
// embedded TB.
type recordingTB struct {
	testing.TB
	errors int
}

func (r *recordingTB) Helper()               {}
func (r *recordingTB) Errorf(string, ...any) { r.errors++ }

func TestWantFailedChecksEveryWantedCaseAndACleanReference(t *testing.T) {
	t.Parallel()
	failed := errors.Join(&suite.CaseError{Suite: "s", Case: "A", Err: errOdd})
	for _, tc := range []struct {
		name   string
		err    error
		want   []string
		errors int
	}{
		{"wanted case failed", failed, []string{"A"}, 0},
		{"wanted case passed", failed, []string{"A", "B"}, 1},
		{"broken store passed everything", nil, []string{"A"}, 1},
		{"reference passes", nil, nil, 0},
		{"reference fails", failed, nil, 1},
	} {
		r := &recordingTB{}
		suite.WantFailed(r, tc.err, tc.want...)
		if r.errors != tc.errors {
			t.Errorf("%s: %d errors reported, want %d", tc.name, r.errors, tc.errors)
		}
	}
}
