package jwttest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/jwt/jwttest"
	"github.com/authkit-go/authkit/store/memstore"
)

func TestMemstoreRefreshTokens(t *testing.T) {
	jwttest.Run(t, func(t *testing.T) jwt.RefreshStore { return memstore.NewRefreshTokens(nil) })
}

func TestMemstoreNotBefore(t *testing.T) {
	jwttest.RunNotBefore(t, func(t *testing.T) jwt.NotBeforeStore { return memstore.NewNotBefore(nil) })
}

// broken wraps memstore and breaks one promise.
type broken struct {
	*memstore.RefreshTokens
	mode string
	mu   sync.Mutex
	seen map[string]jwt.RefreshToken
}

func (b *broken) Create(ctx context.Context, t jwt.RefreshToken) error {
	if b.mode == "ignoreCtx" {
		ctx = context.Background()
	}
	if b.mode == "expiredFound" || b.mode == "nonAtomic" || b.mode == "reviveRevoked" {
		b.mu.Lock()
		b.seen[t.ID] = t
		b.mu.Unlock()
	}
	return b.RefreshTokens.Create(ctx, t)
}

func (b *broken) Use(ctx context.Context, id string, now time.Time) (jwt.RefreshToken, bool, error) {
	switch b.mode {
	case "ignoreCtx":
		ctx = context.Background()
	case "expiredFound":
		b.mu.Lock()
		t, ok := b.seen[id]
		b.mu.Unlock()
		if ok && !now.Before(t.Expiry) {
			return t, true, nil
		}
	case "nonAtomic":
		// read, yield, then write: several callers see UsedAt zero.
		b.mu.Lock()
		t, ok := b.seen[id]
		b.mu.Unlock()
		if !ok {
			return b.RefreshTokens.Use(ctx, id, now)
		}
		time.Sleep(time.Millisecond)
		p, found, err := b.RefreshTokens.Use(ctx, id, now)
		if found && err == nil {
			p.UsedAt = t.UsedAt
		}
		return p, found, err
	case "reviveRevoked":
		p, found, err := b.RefreshTokens.Use(ctx, id, now)
		if !found && err == nil {
			b.mu.Lock()
			t, ok := b.seen[id]
			b.mu.Unlock()
			if ok && now.Before(t.Expiry) {
				return t, true, nil
			}
		}
		return p, found, err
	case "forgetUsed":
		p, found, err := b.RefreshTokens.Use(ctx, id, now)
		p.UsedAt = time.Time{}
		return p, found, err
	}
	return b.RefreshTokens.Use(ctx, id, now)
}

func (b *broken) RevokeFamily(ctx context.Context, f string) error {
	switch b.mode {
	case "noRevokeFamily", "ignoreCtx":
		return nil
	}
	return b.RefreshTokens.RevokeFamily(ctx, f)
}

func (b *broken) RevokeUser(ctx context.Context, u string) error {
	if b.mode == "noRevokeUser" || b.mode == "ignoreCtx" {
		return nil
	}
	return b.RefreshTokens.RevokeUser(ctx, u)
}

func TestSuiteRejectsBrokenRefreshStores(t *testing.T) {
	cases := map[string][]string{
		"expiredFound":   {"ExpiredIsMissing", "ShortTTLHonoured"},
		"nonAtomic":      {"ConcurrentUseOneWinner"},
		"forgetUsed":     {"SecondUseReportsReuse", "ConcurrentUseOneWinner"},
		"noRevokeFamily": {"RevokeFamily", "CreateIntoRevokedFamilyIsDead", "ConcurrentMixed"},
		"noRevokeUser":   {"RevokeUser"},
		"reviveRevoked":  {"RevokeFamily", "RevokeUser"},
		"ignoreCtx":      {"CancelledContext"},
	}
	// The modes run concurrently (not as parallel subtests, which -parallel
	// would serialize) because each Test includes a ~2.5 s TTL case.
	results := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for mode := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := jwttest.Test(func() (jwt.RefreshStore, error) {
				return &broken{RefreshTokens: memstore.NewRefreshTokens(nil), mode: mode, seen: map[string]jwt.RefreshToken{}}, nil
			})
			mu.Lock()
			results[mode] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	for mode, want := range cases {
		t.Run(mode, func(t *testing.T) {
			err := results[mode]
			if err == nil {
				t.Fatalf("suite passed a store with %s", mode)
			}
			for _, name := range want {
				if !strings.Contains(err.Error(), name+":") {
					t.Errorf("case %s did not fail for %s; got: %v", name, mode, err)
				}
			}
		})
	}
}

func TestSuitePassesMemstore(t *testing.T) {
	t.Parallel()
	if err := jwttest.Test(func() (jwt.RefreshStore, error) { return memstore.NewRefreshTokens(nil), nil }); err != nil {
		t.Fatal(err)
	}
	if err := jwttest.TestNotBefore(func() (jwt.NotBeforeStore, error) { return memstore.NewNotBefore(nil), nil }); err != nil {
		t.Fatal(err)
	}
}

type brokenNB struct {
	inner *memstore.NotBefore
	mode  string
	mu    sync.Mutex
	last  map[string]time.Time
}

func (b *brokenNB) SetNotBefore(ctx context.Context, u string, at time.Time) error {
	switch b.mode {
	case "overwrite":
		b.mu.Lock()
		defer b.mu.Unlock()
		b.last[u] = at
		return nil
	case "ignoreCtx":
		ctx = context.Background()
	case "sanitize":
		u = sanitize(u)
	}
	return b.inner.SetNotBefore(ctx, u, at)
}

func (b *brokenNB) NotBefore(ctx context.Context, u string) (time.Time, bool, error) {
	switch b.mode {
	case "overwrite":
		b.mu.Lock()
		defer b.mu.Unlock()
		at, ok := b.last[u]
		return at, ok, nil
	case "ignoreCtx":
		ctx = context.Background()
	case "sanitize":
		// a store that strips "unsafe" characters instead of storing ids literally
		return b.inner.NotBefore(ctx, sanitize(u))
	}
	return b.inner.NotBefore(ctx, u)
}

func TestSuiteRejectsBrokenNotBeforeStores(t *testing.T) {
	cases := map[string][]string{
		"overwrite": {"LaterWins"},
		"ignoreCtx": {"CancelledContext"},
		"sanitize":  {"HostileIDs"},
	}
	for mode, want := range cases {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			err := jwttest.TestNotBefore(func() (jwt.NotBeforeStore, error) {
				return &brokenNB{inner: memstore.NewNotBefore(nil), mode: mode, last: map[string]time.Time{}}, nil
			})
			if err == nil {
				t.Fatalf("suite passed a store with %s", mode)
			}
			for _, name := range want {
				if !strings.Contains(err.Error(), name+":") {
					t.Errorf("case %s did not fail for %s; got: %v", name, mode, err)
				}
			}
		})
	}
}

func sanitize(u string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, u)
}
