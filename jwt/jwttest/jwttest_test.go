package jwttest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/jwt/jwttest"
	"github.com/authkit-go/authkit/store/memstore"
)

// memLose is a process restart: the memory store is replaced by a new one.
func memLose(t testing.TB) func(jwt.RefreshStore) jwt.RefreshStore {
	return func(jwt.RefreshStore) jwt.RefreshStore { return memtest.New(t, nil).RefreshTokens() }
}

func TestMemstoreRefreshTokens(t *testing.T) {
	jwttest.RunHarness(t, jwttest.Harness{
		New:  func(t *testing.T) jwt.RefreshStore { return memtest.New(t, nil).RefreshTokens() },
		Lose: func(t *testing.T, s jwt.RefreshStore) jwt.RefreshStore { return memLose(t)(s) },
	})
}

// broken wraps memstore and breaks one promise.
type broken struct {
	*memstore.RefreshTokens
	mode string
	mu   sync.Mutex
	last map[string]time.Time
}

func (b *broken) Create(ctx context.Context, t jwt.RefreshToken) (bool, error) {
	switch b.mode {
	case "ignoreCtx":
		ctx = context.Background()
	case "ignoreNotBefore":
		t.SignIn.AuthTime = t.SignIn.AuthTime.Add(time.Hour)
	}
	return b.RefreshTokens.Create(ctx, t)
}

func (b *broken) Rotate(ctx context.Context, r jwt.Rotation) (jwt.RotateResult, error) {
	switch b.mode {
	case "ignoreCtx":
		ctx = context.Background()
	case "noGrace":
		r.Grace = 0
	case "retryMints":
		// A retry stores a second successor instead of returning the first.
		res, err := b.RefreshTokens.Rotate(ctx, r)
		if err == nil && res.Outcome == jwt.RotateRetried {
			n := res.Token
			n.ID = r.Next.ID
			if _, err := b.RefreshTokens.Create(ctx, n); err != nil {
				return res, err
			}
			return jwt.RotateResult{Outcome: jwt.Rotated, Token: n}, nil
		}
		return res, err
	case "factsFromCaller":
		res, err := b.RefreshTokens.Rotate(ctx, r)
		res.Token.SignIn = r.Next.SignIn
		return res, err
	}
	return b.RefreshTokens.Rotate(ctx, r)
}

func (b *broken) UpdateSignIn(ctx context.Context, u jwt.SignInUpdate) (jwt.RefreshToken, bool, error) {
	if b.mode == "updateNoop" {
		// claims the update without making it
		return jwt.RefreshToken{ID: u.ID, UserID: u.UserID, SignIn: u.SignIn}, true, nil
	}
	return b.RefreshTokens.UpdateSignIn(ctx, u)
}

func (b *broken) RevokeToken(ctx context.Context, id string) (string, bool, error) {
	switch b.mode {
	case "ignoreCtx":
		ctx = context.Background()
	case "noRevokeToken":
		return "", true, nil
	}
	return b.RefreshTokens.RevokeToken(ctx, id)
}

func (b *broken) RevokeUser(ctx context.Context, u string) error {
	switch b.mode {
	case "ignoreCtx":
		ctx = context.Background()
	case "noRevokeUser":
		return nil
	}
	return b.RefreshTokens.RevokeUser(ctx, u)
}

func (b *broken) SetNotBefore(ctx context.Context, u string, at time.Time) error {
	switch b.mode {
	case "ignoreCtx":
		ctx = context.Background()
	case "overwrite":
		b.mu.Lock()
		b.last[u] = at
		b.mu.Unlock()
		return nil
	case "sanitize":
		u = sanitize(u)
	}
	return b.RefreshTokens.SetNotBefore(ctx, u, at)
}

func (b *broken) NotBefore(ctx context.Context, u string) (time.Time, bool, error) {
	switch b.mode {
	case "ignoreCtx":
		ctx = context.Background()
	case "overwrite":
		b.mu.Lock()
		defer b.mu.Unlock()
		at, ok := b.last[u]
		return at, ok, nil
	case "sanitize":
		// a store that strips "unsafe" characters instead of storing ids literally
		return b.RefreshTokens.NotBefore(ctx, sanitize(u))
	}
	return b.RefreshTokens.NotBefore(ctx, u)
}

func sanitize(u string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, u)
}

func TestSuiteRejectsBrokenRefreshStores(t *testing.T) {
	cases := map[string][]string{
		"noGrace":         {"RetryWithinGraceReturnsSameSuccessor", "ConcurrentRotateOneSuccessor"},
		"retryMints":      {"RetryWithinGraceReturnsSameSuccessor", "ConcurrentRotateOneSuccessor"},
		"factsFromCaller": {"RotateRoundTrip", "SignInFactsCarriedUnchanged"},
		"noRevokeToken":   {"RevokeToken"},
		"noRevokeUser":    {"RevokeUser"},
		"ignoreNotBefore": {"CreateAfterNotBeforeRefused"},
		"ignoreCtx":       {"CancelledContext"},
		"overwrite":       {"NotBeforeLaterWins"},
		"sanitize":        {"HostileIDs"},
		"noEpoch":         {"DataLossFailsClosed"},
		"updateNoop":      {"UpdateSignInCarriedByRotation"},
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
			newStore := func() (jwt.RefreshStore, error) {
				return &broken{RefreshTokens: memtest.New(t, nil).RefreshTokens(), mode: mode, last: map[string]time.Time{}}, nil
			}
			lose := memLose(t)
			if mode == "noEpoch" {
				// A store that forgets its data but not the old epoch.
				old := time.Now().Add(-time.Hour)
				lose = func(jwt.RefreshStore) jwt.RefreshStore {
					return memtest.New(t, func() time.Time { return old }).RefreshTokens()
				}
			}
			err := jwttest.Test(newStore, lose)
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
			suite.WantFailed(t, err, want...)
		})
	}
}

func TestSuitePassesMemstore(t *testing.T) {
	t.Parallel()
	if err := jwttest.Test(func() (jwt.RefreshStore, error) { return memtest.New(t, nil).RefreshTokens(), nil }, memLose(t)); err != nil {
		t.Fatal(err)
	}
}
