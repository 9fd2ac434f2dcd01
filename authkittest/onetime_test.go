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

// otRef is a correct OneTimeTokenStore; flaw switches on one defect at a time.
type otRef struct {
	flaw string
	mu   sync.Mutex
	m    map[string]authkit.OneTimeToken
}

func (s *otRef) key(k string) string {
	switch s.flaw {
	case "globKeys":
		// Treats '*' as "any key", like an unescaped Redis KEYS/SQL LIKE.
		if strings.ContainsAny(k, "*%") {
			return "*"
		}
	case "sharedKey":
		return ""
	}
	return k
}

func (s *otRef) Save(ctx context.Context, h string, t authkit.OneTimeToken) error {
	if err := ctx.Err(); err != nil && s.flaw != "ignoreCtx" {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flaw == "noOverwrite" {
		if _, ok := s.m[s.key(h)]; ok {
			return nil
		}
	}
	if s.flaw == "dropsEmail" {
		t.Email = ""
	}
	if s.flaw == "asciiOnly" {
		t.UserID = strings.Map(func(r rune) rune {
			if r > 0x7e {
				return '?'
			}
			return r
		}, t.UserID)
	}
	s.m[s.key(h)] = t
	return nil
}

func (s *otRef) Take(ctx context.Context, h string) (authkit.OneTimeToken, bool, error) {
	if err := ctx.Err(); err != nil && s.flaw != "ignoreCtx" {
		return authkit.OneTimeToken{}, false, err
	}
	k := s.key(h)
	if s.flaw == "racyTake" {
		s.mu.Lock()
		t, ok := s.m[k]
		s.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		s.mu.Lock()
		delete(s.m, k)
		s.mu.Unlock()
		return t, ok && time.Now().Before(t.Expiry), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[k]
	if !ok {
		if s.flaw == "missingErrors" {
			return t, false, context.DeadlineExceeded
		}
		return t, false, nil
	}
	if s.flaw != "reusable" {
		delete(s.m, k)
	}
	if s.flaw != "neverExpires" && !time.Now().Before(t.Expiry) {
		return authkit.OneTimeToken{}, false, nil
	}
	if s.flaw == "expiryShifted" {
		t.Expiry = t.Expiry.Add(time.Hour)
	}
	return t, true, nil
}

func TestOneTimeTokenStoreReference(t *testing.T) {
	authkittest.RunOneTimeTokenStore(t, func(t *testing.T) authkit.OneTimeTokenStore {
		return &otRef{m: map[string]authkit.OneTimeToken{}}
	})
}

// TestOneTimeTokenStoreRejectsBroken proves each case catches the defect it
// names: removing the protection from a store makes the suite fail.
func TestOneTimeTokenStoreRejectsBroken(t *testing.T) {
	tests := []struct {
		flaw      string
		wantCases []string
	}{
		{"reusable", []string{"SingleUse", "AtomicTake"}},
		{"racyTake", []string{"AtomicTake"}},
		{"neverExpires", []string{"ExpiredIsMissing", "ShortTTL"}},
		{"missingErrors", []string{"TakeMissing", "SingleUse"}},
		{"noOverwrite", []string{"Overwrite"}},
		{"sharedKey", []string{"KeysIndependent", "HostileKeys"}},
		{"globKeys", []string{"HostileKeys"}},
		{"dropsEmail", []string{"RoundTrip", "BinarySafeFields"}},
		{"asciiOnly", []string{"BinarySafeFields"}},
		{"expiryShifted", []string{"RoundTrip"}},
		{"ignoreCtx", []string{"CancelledContext"}},
	}
	for _, tt := range tests {
		t.Run(tt.flaw, func(t *testing.T) {
			t.Parallel()
			err := authkittest.TestOneTimeTokenStore(func() (authkit.OneTimeTokenStore, error) {
				return &otRef{flaw: tt.flaw, m: map[string]authkit.OneTimeToken{}}, nil
			})
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
