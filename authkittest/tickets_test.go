package authkittest_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/internal/suite"
)

// tkRef is a correct TicketStore; flaw switches on one defect at a time.
type tkRef struct {
	flaw    string
	mu      sync.Mutex
	m       map[string]tkRec
	arrived atomic.Int64 // racyTake: readers that have read
}

// meet makes a racyTake reader wait (at most 50 ms) until another reader
// has read too, so the check-then-delete window is always hit when Takes
// run concurrently, however loaded the machine.
func (s *tkRef) meet() {
	n := s.arrived.Add(1)
	deadline := time.Now().Add(50 * time.Millisecond)
	for s.arrived.Load() <= n && time.Now().Before(deadline) {
		runtime.Gosched()
	}
}

type tkRec struct {
	data []byte
	exp  time.Time
}

func (s *tkRef) key(purpose, k string) string {
	switch s.flaw {
	case "joinedKey":
		return purpose + ":" + k // "a:b"+"c" meets "a"+"b:c"
	case "ignoresPurpose":
		return k
	case "globKeys":
		// Treats '*' and '%' as "any key", like an unescaped Redis KEYS or SQL LIKE.
		if strings.ContainsAny(k, "*%") {
			return purpose + "\x00*"
		}
	case "hashTagKey":
		// Keeps only a Redis-style hash tag, so "{tag}" and "{" meet.
		if i := strings.IndexByte(k, '{'); i >= 0 {
			return purpose + "\x00{"
		}
	case "asciiOnly":
		k = strings.Map(func(r rune) rune {
			if r > 0x7e {
				return '?'
			}
			return r
		}, k)
	}
	return purpose + "\x00" + k
}

func (s *tkRef) Put(ctx context.Context, purpose, k string, data []byte, exp time.Time) error {
	if err := ctx.Err(); err != nil && s.flaw != "ignoreCtx" {
		return err
	}
	key := s.key(purpose, k)
	if s.flaw == "putGap" {
		// Replaces in two steps, deleting first: a Take in between finds nothing.
		s.mu.Lock()
		delete(s.m, key)
		s.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
	if s.flaw == "nanoExpiry" {
		exp = time.Unix(0, exp.UnixNano()) // wraps after the year 2262
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; ok && s.flaw == "noOverwrite" {
		return nil
	}
	if !time.Now().Before(exp) && s.flaw != "neverExpires" {
		if s.flaw != "keepsLiveOnExpiredPut" {
			delete(s.m, key)
		}
		return nil
	}
	switch s.flaw {
	case "aliases":
	case "truncates":
		if len(data) > 32<<10 {
			data = data[:32<<10]
		}
		data = append([]byte(nil), data...)
	case "stopsAtNUL":
		if i := strings.IndexByte(string(data), 0); i >= 0 {
			data = data[:i]
		}
		data = append([]byte(nil), data...)
	default:
		data = append([]byte(nil), data...)
	}
	s.m[key] = tkRec{data: data, exp: exp}
	return nil
}

func (s *tkRef) Take(ctx context.Context, purpose, k string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil && s.flaw != "ignoreCtx" {
		return nil, false, err
	}
	key := s.key(purpose, k)
	if s.flaw == "racyTake" {
		s.mu.Lock()
		r, ok := s.m[key]
		s.mu.Unlock()
		s.meet() // another Take reads before this one deletes
		s.mu.Lock()
		delete(s.m, key)
		s.mu.Unlock()
		return r.data, ok && time.Now().Before(r.exp), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	if !ok {
		if s.flaw == "missingErrors" {
			return nil, false, context.DeadlineExceeded
		}
		return nil, false, nil
	}
	if s.flaw != "reusable" {
		delete(s.m, key)
	}
	if s.flaw != "neverExpires" && !time.Now().Before(r.exp) {
		return nil, false, nil
	}
	return r.data, true, nil
}

func newTicketRef(flaw string) *tkRef { return &tkRef{flaw: flaw, m: map[string]tkRec{}} }

// TestTicketStoreSuiteRejectsBrokenStores proves each case catches the
// defect it names: removing the protection from a store makes the suite
// fail, and the reference passes.
func TestTicketStoreSuiteRejectsBrokenStores(t *testing.T) {
	t.Parallel()
	flaws := []suite.Flaw{
		{}, // the reference
		{Name: "reusable", Want: []string{"SingleUse", "AtomicTake", "PutReplaces"}},
		{Name: "racyTake", Want: []string{"AtomicTake"}},
		{Name: "neverExpires", Want: []string{"ExpiredIsMissing"}},
		{Name: "keepsLiveOnExpiredPut", Want: []string{"ExpiredPutReplaces"}},
		{Name: "missingErrors", Want: []string{"TakeMissing", "SingleUse"}},
		{Name: "noOverwrite", Want: []string{"PutReplaces"}},
		{Name: "ignoresPurpose", Want: []string{"PurposesAreNamespaces", "OpaqueKeys"}},
		{Name: "joinedKey", Want: []string{"PurposesAreNamespaces"}},
		{Name: "globKeys", Want: []string{"OpaqueKeys"}},
		{Name: "hashTagKey", Want: []string{"OpaqueKeys"}},
		{Name: "asciiOnly", Want: []string{"OpaqueKeys"}},
		{Name: "aliases", Want: []string{"KeepsOwnCopy"}},
		{Name: "truncates", Want: []string{"RoundTripBinary"}},
		{Name: "stopsAtNUL", Want: []string{"RoundTripBinary"}},
		{Name: "ignoreCtx", Want: []string{"CancelledContext"}},
		{Name: "nanoExpiry", Want: []string{"FarFutureExpiry"}},
		{Name: "putGap", Want: []string{"TakeRacesPut"}},
	}
	suite.CheckFlaws(t, flaws, func(flaw string) error {
		return authkittest.TestTicketStore(func() (authkit.TicketStore, error) { return newTicketRef(flaw), nil })
	})
}
