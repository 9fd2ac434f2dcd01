package jwt_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/memstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newRM(t *testing.T, cfg jwt.RefreshConfig) (*jwt.RefreshManager, *clock) {
	t.Helper()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	if cfg.Store == nil {
		cfg.Store = memstore.NewRefreshTokens(clk.Now)
	}
	cfg.Now = clk.Now
	m, err := jwt.NewRefreshManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, clk
}

func TestRefreshRotation(t *testing.T) {
	ctx := context.Background()
	m, _ := newRM(t, jwt.RefreshConfig{})
	t1, rec, err := m.Issue(ctx, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.UserID != "user-1" || rec.ID == t1 || rec.ID != jwt.RefreshTokenID(t1) {
		t.Fatalf("record %+v", rec)
	}
	t2, rec2, err := m.Refresh(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	if t2 == t1 || rec2.FamilyID != rec.FamilyID || rec2.UserID != "user-1" || !rec2.FamilyExpiry.Equal(rec.FamilyExpiry) {
		t.Fatalf("rotated %+v from %+v", rec2, rec)
	}
	if _, _, err := m.Refresh(ctx, t2); err != nil {
		t.Fatal(err)
	}
}

func TestRefresh(t *testing.T) {
	ctx := context.Background()

	t.Run("S20_reuse_revokes_family", func(t *testing.T) {
		m, _ := newRM(t, jwt.RefreshConfig{})
		t1, _, _ := m.Issue(ctx, "u")
		other, _, _ := m.Issue(ctx, "u") // another login of the same user
		t2, _, err := m.Refresh(ctx, t1)
		if err != nil {
			t.Fatal(err)
		}
		t3, _, err := m.Refresh(ctx, t2)
		if err != nil {
			t.Fatal(err)
		}
		// Replaying the first, already rotated token:
		if _, _, err := m.Refresh(ctx, t1); !errors.Is(err, jwt.ErrTokenReused) {
			t.Fatalf("reuse: %v", err)
		}
		// The newest token of the family is revoked too.
		if _, _, err := m.Refresh(ctx, t3); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Fatalf("newest token after reuse: %v", err)
		}
		// Other families are untouched.
		if _, _, err := m.Refresh(ctx, other); err != nil {
			t.Fatalf("other family: %v", err)
		}
	})

	t.Run("S20_absolute_family_expiry", func(t *testing.T) {
		m, clk := newRM(t, jwt.RefreshConfig{Lifetime: 2 * time.Hour, FamilyLifetime: 3 * time.Hour})
		tok, _, _ := m.Issue(ctx, "u")
		for i := 0; i < 2; i++ {
			clk.Add(50 * time.Minute)
			next, rec, err := m.Refresh(ctx, tok)
			if err != nil {
				t.Fatalf("rotation %d: %v", i, err)
			}
			tok = next
			if rec.Expiry.After(rec.FamilyExpiry) {
				t.Fatalf("token outlives family: %+v", rec)
			}
		}
		clk.Add(70 * time.Minute) // 2h50m: the next token expires with the family at 3h
		next, rec, err := m.Refresh(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Expiry.Equal(rec.FamilyExpiry) {
			t.Fatalf("expiry %v family %v", rec.Expiry, rec.FamilyExpiry)
		}
		clk.Add(11 * time.Minute) // 3h01m
		if _, _, err := m.Refresh(ctx, next); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Fatalf("past family lifetime: %v", err)
		}
	})

	t.Run("S19_concurrent_refresh", func(t *testing.T) {
		for _, n := range []int{2, 50} {
			m, _ := newRM(t, jwt.RefreshConfig{})
			tok, _, _ := m.Issue(ctx, "u")
			var ok, reused, other atomic.Int32
			var winner atomic.Value
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					next, _, err := m.Refresh(ctx, tok)
					switch {
					case err == nil:
						ok.Add(1)
						winner.Store(next)
					case errors.Is(err, jwt.ErrTokenReused):
						reused.Add(1)
					case errors.Is(err, jwt.ErrInvalidToken):
						other.Add(1)
					default:
						t.Errorf("unexpected error: %v", err)
					}
				}()
			}
			close(start)
			wg.Wait()
			// Exactly one wins; the others see reuse (and revoke the family)
			// or, once the family is revoked, an invalid token.
			if ok.Load() != 1 || reused.Load() < 1 || reused.Load()+other.Load() != int32(n-1) {
				t.Fatalf("n=%d: ok=%d reused=%d other=%d", n, ok.Load(), reused.Load(), other.Load())
			}
			// The winner's new token was revoked with the family.
			if _, _, err := m.Refresh(ctx, winner.Load().(string)); !errors.Is(err, jwt.ErrInvalidToken) {
				t.Fatalf("n=%d: winner's token after reuse: %v", n, err)
			}
		}
	})

	t.Run("grace_window", func(t *testing.T) {
		m, clk := newRM(t, jwt.RefreshConfig{GraceWindow: 10 * time.Second})
		t1, _, _ := m.Issue(ctx, "u")
		t2, _, err := m.Refresh(ctx, t1)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(5 * time.Second)
		t2b, _, err := m.Refresh(ctx, t1) // lost response: retried within grace
		if err != nil {
			t.Fatalf("within grace: %v", err)
		}
		if _, _, err := m.Refresh(ctx, t2b); err != nil {
			t.Fatal(err)
		}
		clk.Add(10 * time.Second)
		if _, _, err := m.Refresh(ctx, t1); !errors.Is(err, jwt.ErrTokenReused) {
			t.Fatalf("after grace: %v", err)
		}
		if _, _, err := m.Refresh(ctx, t2); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Fatalf("family not revoked: %v", err)
		}
		if _, err := jwt.NewRefreshManager(jwt.RefreshConfig{Store: memstore.NewRefreshTokens(nil), GraceWindow: 2 * time.Minute}); err == nil {
			t.Fatal("grace window above 1 minute accepted")
		}
	})

	t.Run("revoke_and_revoke_user", func(t *testing.T) {
		m, _ := newRM(t, jwt.RefreshConfig{})
		a, _, _ := m.Issue(ctx, "u")
		b, _, _ := m.Issue(ctx, "u")
		c, _, _ := m.Issue(ctx, "v")
		if err := m.Revoke(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.Refresh(ctx, a); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Fatalf("revoked: %v", err)
		}
		if err := m.RevokeUser(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.Refresh(ctx, b); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Fatalf("after RevokeUser: %v", err)
		}
		if _, _, err := m.Refresh(ctx, c); err != nil {
			t.Fatalf("other user: %v", err)
		}
		if err := m.Revoke(ctx, "garbage"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("malformed_and_store_errors", func(t *testing.T) {
		m, _ := newRM(t, jwt.RefreshConfig{})
		for _, tok := range []string{"", "akrt_", "akrt_short", "x" + jwt.RefreshTokenPrefix[1:] + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			if _, _, err := m.Refresh(ctx, tok); !errors.Is(err, jwt.ErrInvalidToken) {
				t.Fatalf("%q: %v", tok, err)
			}
		}
		bad, _ := newRM(t, jwt.RefreshConfig{Store: errStore{}})
		_, _, err := bad.Refresh(ctx, jwt.RefreshTokenPrefix+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		if err == nil || errors.Is(err, jwt.ErrInvalidToken) || !errors.Is(err, errBoom) {
			t.Fatalf("store failure must fail closed as a system error: %v", err)
		}
	})
}

var errBoom = errors.New("boom")

type errStore struct{}

func (errStore) Create(context.Context, jwt.RefreshToken) error { return errBoom }
func (errStore) Use(context.Context, string, time.Time) (jwt.RefreshToken, bool, error) {
	return jwt.RefreshToken{}, false, errBoom
}
func (errStore) RevokeFamily(context.Context, string) error { return errBoom }
func (errStore) RevokeUser(context.Context, string) error   { return errBoom }

type errNB struct{}

func (errNB) SetNotBefore(context.Context, string, time.Time) error { return errBoom }
func (errNB) NotBefore(context.Context, string) (time.Time, bool, error) {
	return time.Time{}, false, errBoom
}

func TestNotBefore(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	ks, err := jwt.NewKeySet(jwt.KeySetConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Rotate(nil); err != nil {
		t.Fatal(err)
	}
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: ks, Issuer: "https://i", Audience: []string{"api"}, Now: clk.Now})
	nb := memstore.NewNotBefore(nil)
	v, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: "https://i", Audience: []string{"api"}, Now: clk.Now, NotBefore: nb})

	t.Run("J25_logout_everywhere", func(t *testing.T) {
		old, _, _ := iss.Issue(ctx, jwt.AccessTokenRequest{Subject: "u"})
		otherUser, _, _ := iss.Issue(ctx, jwt.AccessTokenRequest{Subject: "w"})
		if _, err := v.Verify(ctx, old); err != nil {
			t.Fatal(err)
		}
		clk.Add(2 * time.Second)
		if err := nb.SetNotBefore(ctx, "u", clk.Now()); err != nil {
			t.Fatal(err)
		}
		v.ForgetNotBefore("u") // this instance wrote it; others wait ≤ NotBeforeCacheTTL
		_, err := v.Verify(ctx, old)
		if !errors.Is(err, jwt.ErrInvalidToken) || !errors.Is(err, jwt.ErrRevoked) {
			t.Fatalf("token issued before not-before: %v", err)
		}
		if _, err := v.Verify(ctx, otherUser); err != nil {
			t.Fatalf("other user: %v", err)
		}
		fresh, _, _ := iss.Issue(ctx, jwt.AccessTokenRequest{Subject: "u"})
		if _, err := v.Verify(ctx, fresh); err != nil {
			t.Fatalf("token issued after not-before: %v", err)
		}
	})

	t.Run("J25_store_failure_fails_closed", func(t *testing.T) {
		v2, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: "https://i", Audience: []string{"api"}, Now: clk.Now, NotBefore: errNB{}})
		tok, _, _ := iss.Issue(ctx, jwt.AccessTokenRequest{Subject: "u"})
		if _, err := v2.Verify(ctx, tok); err == nil || !errors.Is(err, errBoom) {
			t.Fatalf("store error: %v", err)
		}
	})
}

func TestMemstoreNotBeforePurge(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s := memstore.NewNotBefore(clk.Now)
	_ = s.SetNotBefore(ctx, "old", clk.Now())
	clk.Add(jwt.MaxAccessTokenLifetime + time.Second)
	_ = s.SetNotBefore(ctx, "new", clk.Now())
	s.Purge()
	if _, found, _ := s.NotBefore(ctx, "old"); found {
		t.Fatal("old entry kept")
	}
	if _, found, _ := s.NotBefore(ctx, "new"); !found {
		t.Fatal("new entry purged")
	}
}
