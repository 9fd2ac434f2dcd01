// Package suite is the one driver behind every conformance suite of the
// module (sessiontest, jwttest, mfatest, limitertest,
// authkittest, passkeytest, storetest): a suite is a named list of cases,
// each a function of a fresh value under test. [Suite.Run] runs each case
// as a parallel subtest; [Suite.Test] runs the same cases concurrently
// without a *testing.T and returns errors.Join of one [*CaseError] per
// failed case, so a suite's own tests can prove that each case rejects a
// broken implementation.
package suite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Case is one named check of a value of type S.
type Case[S any] struct {
	// Name appears in the subtest name and in [CaseError.Case].
	Name string
	// Check runs the case on s and returns its failure, nil if it passed.
	Check func(ctx context.Context, s S) error
}

// Suite is a named list of cases over values of type S.
type Suite[S any] struct {
	// Name prefixes every failure, e.g. "sessiontest".
	Name  string
	Cases []Case[S]
	// Skip maps the name of a case that does not apply to this
	// implementation to the reason: [Suite.Run] reports it with t.Skip and
	// [Suite.Test] leaves the case out.
	Skip map[string]string
}

// CaseError reports one failed case.
type CaseError struct {
	Suite string // the suite's name, e.g. "sessiontest"
	Case  string // the case's name
	Err   error  // the failure
}

// Error returns "suite: case: failure".
func (e *CaseError) Error() string { return e.Suite + ": " + e.Case + ": " + e.Err.Error() }

// Unwrap returns the case's failure.
func (e *CaseError) Unwrap() error { return e.Err }

// Run runs each case in its own parallel subtest. newS is called once per
// case, in the case's subtest, and returns a fresh, isolated value (its own
// key prefix, table or schema); it registers any cleanup with t.Cleanup.
func (s Suite[S]) Run(t *testing.T, newS func(t *testing.T) S) {
	t.Helper()
	for _, c := range s.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			if why, ok := s.Skip[c.Name]; ok {
				t.Skip(why)
			}
			if err := c.Check(t.Context(), newS(t)); err != nil {
				t.Error(&CaseError{Suite: s.Name, Case: c.Name, Err: err})
			}
		})
	}
}

// Test runs every case that is not skipped concurrently, each on its own
// value from newS, and returns errors.Join of one [*CaseError] per failed
// case; a newS error fails its case.
func (s Suite[S]) Test(newS func() (S, error)) error {
	errs := make([]error, len(s.Cases))
	var wg sync.WaitGroup
	for i, c := range s.Cases {
		if _, ok := s.Skip[c.Name]; ok {
			continue
		}
		wg.Go(func() {
			v, err := newS()
			if err != nil {
				err = fmt.Errorf("new store: %w", err)
			} else {
				err = c.Check(context.Background(), v)
			}
			if err != nil {
				errs[i] = &CaseError{Suite: s.Name, Case: c.Name, Err: err}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Names returns the names of the cases, in order.
func (s Suite[S]) Names() []string {
	names := make([]string, len(s.Cases))
	for i, c := range s.Cases {
		names[i] = c.Name
	}
	return names
}

// Failed returns the set of case names err reports: the [*CaseError]s that
// err is or joins.
func Failed(err error) map[string]bool {
	out := map[string]bool{}
	var walk func(error)
	walk = func(err error) {
		var ce *CaseError
		switch e := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		default:
			if errors.As(err, &ce) {
				out[ce.Case] = true
			}
		}
	}
	walk(err)
	return out
}

// WantFailed reports an error through t for each case in want that err
// does not report as failed: the check a suite's own tests make that a
// broken implementation is rejected by the case meant to catch it. With no
// want, err must be nil: the reference implementation passes.
func WantFailed(t testing.TB, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Errorf("the reference implementation fails: %v", err)
		}
		return
	}
	failed := Failed(err)
	for _, w := range want {
		if !failed[w] {
			t.Errorf("case %s did not fail; failures: %v", w, err)
		}
	}
}

// Flaw is one implementation a suite's own test runs the suite on: a
// broken one and the cases that must catch it, or the reference (no Want),
// which must pass.
type Flaw struct {
	Name string   // what is broken; "" is the reference
	Want []string // the cases that must fail; none for the reference
}

// CheckFlaws runs test once per flaw, all at once (suites wait for real
// time, and parallel subtests would run only GOMAXPROCS of them at once),
// and then checks each result with [WantFailed] in a subtest named for the
// flaw ("reference" for the reference).
func CheckFlaws(t *testing.T, flaws []Flaw, test func(flaw string) error) {
	t.Helper()
	errs := make([]error, len(flaws))
	var wg sync.WaitGroup
	for i, f := range flaws {
		wg.Go(func() { errs[i] = test(f.Name) })
	}
	wg.Wait()
	for i, f := range flaws {
		name := f.Name
		if name == "" {
			name = "reference"
		}
		t.Run(name, func(t *testing.T) { WantFailed(t, errs[i], f.Want...) })
	}
}
