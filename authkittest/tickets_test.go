package authkittest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
)

// tkRef is a correct TicketStore; flaw switches on one defect at a time.
type tkRef struct {
	flaw string
	mu   sync.Mutex
	m    map[string]tkRec
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
		time.Sleep(2 * time.Millisecond) // widens the check-then-delete window
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

func TestTicketStoreSuitePassesCorrectStores(t *testing.T) {
	authkittest.RunTicketStore(t, func(t *testing.T) authkit.TicketStore { return newTicketRef("") })
}

// TestTicketStoreSuiteRejectsBrokenStores proves each case catches the
// defect it names: removing the protection from a store makes the suite
// fail.
func TestTicketStoreSuiteRejectsBrokenStores(t *testing.T) {
	tests := []struct {
		flaw      string
		wantCases []string
	}{
		{"reusable", []string{"SingleUse", "AtomicTake", "PutReplaces"}},
		{"racyTake", []string{"AtomicTake"}},
		{"neverExpires", []string{"ExpiredIsMissing"}},
		{"keepsLiveOnExpiredPut", []string{"ExpiredPutReplaces"}},
		{"missingErrors", []string{"TakeMissing", "SingleUse"}},
		{"noOverwrite", []string{"PutReplaces"}},
		{"ignoresPurpose", []string{"PurposesAreNamespaces", "OpaqueKeys"}},
		{"joinedKey", []string{"PurposesAreNamespaces"}},
		{"globKeys", []string{"OpaqueKeys"}},
		{"hashTagKey", []string{"OpaqueKeys"}},
		{"asciiOnly", []string{"OpaqueKeys"}},
		{"aliases", []string{"KeepsOwnCopy"}},
		{"truncates", []string{"RoundTripBinary"}},
		{"stopsAtNUL", []string{"RoundTripBinary"}},
		{"ignoreCtx", []string{"CancelledContext"}},
		{"nanoExpiry", []string{"FarFutureExpiry"}},
		{"putGap", []string{"TakeRacesPut"}},
	}
	for _, tt := range tests {
		t.Run(tt.flaw, func(t *testing.T) {
			t.Parallel()
			err := authkittest.TestTicketStore(func() (authkit.TicketStore, error) { return newTicketRef(tt.flaw), nil })
			if err == nil {
				t.Fatalf("suite passed a store with flaw %q", tt.flaw)
			}
			for _, c := range tt.wantCases {
				if !strings.Contains(err.Error(), c+":") {
					t.Errorf("flaw %q: case %s did not fail; errors:\n%v", tt.flaw, c, err)
				}
			}
		})
	}
}
