package jwt_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
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

func newRM(t *testing.T, cfg jwt.RefreshManagerConfig) (*jwt.RefreshManager, *clock) {
	t.Helper()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	if cfg.Store == nil {
		cfg.Store = memtest.New(t, clk.Now).RefreshTokens()
	}
	cfg.Now = clk.Now
	m, err := jwt.NewRefreshManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, clk
}

var pwdOTP = jwt.SignIn{AMR: []string{"pwd", "otp"}, ACR: "urn:example:loa:2", MFA: true}

func TestRefreshRotationCarriesSignInFacts(t *testing.T) {
	ctx := context.Background()
	m, clk := newRM(t, jwt.RefreshManagerConfig{})
	signedIn := clk.Now().Add(-time.Minute)
	in := pwdOTP
	in.AuthTime = signedIn
	t1, rec, err := m.Issue(ctx, "user-1", in)
	if err != nil {
		t.Fatal(err)
	}
	if rec.UserID != "user-1" || rec.ID != jwt.RefreshTokenID(t1) || !strings.HasPrefix(rec.ID, jwt.RefreshShard("user-1")+".") {
		t.Fatalf("record %+v", rec)
	}
	tok := t1
	for i := range 3 {
		clk.Add(time.Hour)
		next, rec2, err := m.Refresh(ctx, tok)
		if err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
		if next == tok || rec2.FamilyID != rec.FamilyID || rec2.UserID != "user-1" || !rec2.FamilyExpiry.Equal(rec.FamilyExpiry) {
			t.Fatalf("rotated %+v from %+v", rec2, rec)
		}
		got := rec2.SignIn
		if !got.AuthTime.Equal(signedIn) || !slices.Equal(got.AMR, in.AMR) || got.ACR != in.ACR || !got.MFA {
			t.Fatalf("rotation %d: sign-in facts %+v, want %+v", i+1, got, in)
		}
		tok = next
	}
}

func TestIssueWithoutAuthTimeUsesNow(t *testing.T) {
	m, clk := newRM(t, jwt.RefreshManagerConfig{})
	_, rec, err := m.Issue(context.Background(), "u", jwt.SignIn{})
	if err != nil || !rec.SignIn.AuthTime.Equal(clk.Now()) {
		t.Fatalf("auth time %v err %v, want %v", rec.SignIn.AuthTime, err, clk.Now())
	}
}

// A shorter FamilyLifetime configured later must not move the auth_time of
// existing families (it used to be derived as FamilyExpiry − FamilyLifetime).
func TestFamilyLifetimeChangeDoesNotMoveAuthTime(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	st := memtest.New(t, clk.Now).RefreshTokens()
	before, _ := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st, Now: clk.Now})
	after, _ := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st, Now: clk.Now, Lifetime: time.Hour, FamilyLifetime: 24 * time.Hour})
	signedIn := clk.Now()
	tok, _, _ := before.Issue(ctx, "u", jwt.SignIn{AuthTime: signedIn})
	clk.Add(time.Hour)
	_, rec, err := after.Refresh(ctx, tok)
	if err != nil || !rec.SignIn.AuthTime.Equal(signedIn) {
		t.Fatalf("auth time %v err %v, want %v", rec.SignIn.AuthTime, err, signedIn)
	}
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	ctx := context.Background()
	m, clk := newRM(t, jwt.RefreshManagerConfig{GraceWindow: jwt.NoGraceWindow})
	t1, _, _ := m.Issue(ctx, "u", jwt.SignIn{})
	other, _, _ := m.Issue(ctx, "u", jwt.SignIn{}) // another sign-in of the same user
	t2, _, err := m.Refresh(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	t3, _, err := m.Refresh(ctx, t2)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	// Replaying the first, already rotated token:
	_, rec, err := m.Refresh(ctx, t1)
	if !errors.Is(err, jwt.ErrTokenReused) || rec.UserID != "u" {
		t.Fatalf("reuse: %v (record %+v)", err, rec)
	}
	// The newest token of the family is revoked too.
	if _, _, err := m.Refresh(ctx, t3); !errors.Is(err, jwt.ErrInvalidToken) {
		t.Fatalf("newest token after reuse: %v", err)
	}
	// Other families are untouched.
	if _, _, err := m.Refresh(ctx, other); err != nil {
		t.Fatalf("other family: %v", err)
	}
}

func TestRefreshGraceWindow(t *testing.T) {
	ctx := context.Background()
	t.Run("retry_within_window_gets_the_same_token", func(t *testing.T) {
		m, clk := newRM(t, jwt.RefreshManagerConfig{})
		t1, _, _ := m.Issue(ctx, "u", pwdOTP)
		t2, _, err := m.Refresh(ctx, t1)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(jwt.DefaultGraceWindow - time.Millisecond) // the response was lost
		t2b, rec, err := m.Refresh(ctx, t1)
		if err != nil || t2b != t2 || !rec.SignIn.MFA {
			t.Fatalf("retry: %q %v, want the same successor %q", t2b, err, t2)
		}
		if _, _, err := m.Refresh(ctx, t2); err != nil {
			t.Fatalf("the successor after a retry: %v", err)
		}
	})
	t.Run("after_window_is_reuse", func(t *testing.T) {
		m, clk := newRM(t, jwt.RefreshManagerConfig{GraceWindow: 10 * time.Second})
		t1, _, _ := m.Issue(ctx, "u", jwt.SignIn{})
		t2, _, _ := m.Refresh(ctx, t1)
		clk.Add(10 * time.Second)
		if _, _, err := m.Refresh(ctx, t1); !errors.Is(err, jwt.ErrTokenReused) {
			t.Fatalf("after the window: %v", err)
		}
		if _, _, err := m.Refresh(ctx, t2); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Fatalf("successor after reuse: %v", err)
		}
	})
	t.Run("superseded_twice_is_reuse", func(t *testing.T) {
		m, _ := newRM(t, jwt.RefreshManagerConfig{GraceWindow: jwt.MaxGraceWindow})
		t1, _, _ := m.Issue(ctx, "u", jwt.SignIn{})
		t2, _, _ := m.Refresh(ctx, t1)
		t3, _, _ := m.Refresh(ctx, t2)
		if _, _, err := m.Refresh(ctx, t1); !errors.Is(err, jwt.ErrTokenReused) {
			t.Fatalf("token whose successor was rotated: %v", err)
		}
		if _, _, err := m.Refresh(ctx, t3); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Fatalf("newest after reuse: %v", err)
		}
	})
	t.Run("config", func(t *testing.T) {
		st := memtest.New(t, nil).RefreshTokens()
		for g, want := range map[time.Duration]time.Duration{0: jwt.DefaultGraceWindow, jwt.NoGraceWindow: 0, time.Second: time.Second} {
			m, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st, GraceWindow: g})
			if err != nil || m.GraceWindow() != want {
				t.Errorf("GraceWindow %v: got %v err %v, want %v", g, m.GraceWindow(), err, want)
			}
		}
		for _, g := range []time.Duration{-2, jwt.MaxGraceWindow + 1} {
			if _, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st, GraceWindow: g}); err == nil {
				t.Errorf("GraceWindow %v accepted", g)
			}
		}
	})
}

// Many clients presenting the same token at once (a browser's parallel
// requests) all get the one successor: never two live successors.
func TestConcurrentRefreshOneSuccessor(t *testing.T) {
	ctx := context.Background()
	m, _ := newRM(t, jwt.RefreshManagerConfig{})
	tok, _, _ := m.Issue(ctx, "u", jwt.SignIn{})
	const n = 64
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], _, errs[i] = m.Refresh(ctx, tok)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("caller %d: %q %v, want %q", i, got[i], errs[i], got[0])
		}
	}
}

// rotateFault fails Rotate in one of two ways: before the store acts
// ("down") or after it acted, with the reply lost ("lost").
type rotateFault struct {
	*memstore.RefreshTokens
	mu   sync.Mutex
	mode string
}

func (f *rotateFault) Rotate(ctx context.Context, r jwt.Rotation) (jwt.RotateResult, error) {
	f.mu.Lock()
	mode := f.mode
	f.mode = ""
	f.mu.Unlock()
	switch mode {
	case "down":
		return jwt.RotateResult{}, errBoom
	case "lost":
		_, _ = f.RefreshTokens.Rotate(ctx, r)
		return jwt.RotateResult{}, errBoom
	}
	return f.RefreshTokens.Rotate(ctx, r)
}

// A store error or a lost reply in the middle of a refresh costs the user
// nothing: the retry succeeds, without a reuse verdict.
func TestRefreshStoreFaultDoesNotBurnFamily(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{"down", "lost"} {
		t.Run(mode, func(t *testing.T) {
			st := &rotateFault{RefreshTokens: memtest.New(t, nil).RefreshTokens()}
			m, clk := newRM(t, jwt.RefreshManagerConfig{Store: st})
			tok, _, _ := m.Issue(ctx, "u", jwt.SignIn{})
			st.mode = mode
			if _, _, err := m.Refresh(ctx, tok); !errors.Is(err, errBoom) || errors.Is(err, jwt.ErrInvalidToken) {
				t.Fatalf("store fault: %v, want a system error", err)
			}
			clk.Add(time.Second)
			next, _, err := m.Refresh(ctx, tok)
			if err != nil {
				t.Fatalf("retry after the fault: %v", err)
			}
			if _, _, err := m.Refresh(ctx, next); err != nil {
				t.Fatalf("the family after the fault: %v", err)
			}
		})
	}
}

// junkSealed hands back a sealed successor that the presented token does
// not open (a corrupt or tampered store).
type junkSealed struct{ *memstore.RefreshTokens }

func (j junkSealed) Rotate(ctx context.Context, r jwt.Rotation) (jwt.RotateResult, error) {
	res, err := j.RefreshTokens.Rotate(ctx, r)
	if res.Outcome == jwt.RotateRetried {
		res.Sealed = append([]byte(nil), res.Sealed...)
		res.Sealed[len(res.Sealed)-1] ^= 1
	}
	return res, err
}

func TestRetryWithTamperedSealedSuccessorFails(t *testing.T) {
	ctx := context.Background()
	m, _ := newRM(t, jwt.RefreshManagerConfig{Store: junkSealed{memtest.New(t, nil).RefreshTokens()}})
	tok, _, _ := m.Issue(ctx, "u", jwt.SignIn{})
	if _, _, err := m.Refresh(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if next, _, err := m.Refresh(ctx, tok); err == nil || next != "" {
		t.Fatalf("tampered successor: %q %v", next, err)
	}
}

func TestIssueAfterNotBeforeRefused(t *testing.T) {
	ctx := context.Background()
	m, clk := newRM(t, jwt.RefreshManagerConfig{})
	signedIn := clk.Now()
	clk.Add(time.Second)
	if err := m.RevokeUser(ctx, "u"); err != nil { // log out everywhere, after the password check
		t.Fatal(err)
	}
	if _, _, err := m.Issue(ctx, "u", jwt.SignIn{AuthTime: signedIn}); !errors.Is(err, jwt.ErrRevoked) {
		t.Fatalf("family for a sign-in before logout-everywhere: %v", err)
	}
	if _, _, err := m.Issue(ctx, "u", jwt.SignIn{}); err != nil {
		t.Fatalf("sign-in after: %v", err)
	}
}

func TestRefreshAbsoluteFamilyExpiry(t *testing.T) {
	ctx := context.Background()
	m, clk := newRM(t, jwt.RefreshManagerConfig{Lifetime: 2 * time.Hour, FamilyLifetime: 3 * time.Hour})
	tok, _, _ := m.Issue(ctx, "u", jwt.SignIn{})
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
}

func TestRevokeAndRevokeUser(t *testing.T) {
	ctx := context.Background()
	m, clk := newRM(t, jwt.RefreshManagerConfig{})
	a, _, _ := m.Issue(ctx, "u", jwt.SignIn{})
	b, _, _ := m.Issue(ctx, "u", jwt.SignIn{})
	c, _, _ := m.Issue(ctx, "v", jwt.SignIn{})
	if err := m.Revoke(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Refresh(ctx, a); !errors.Is(err, jwt.ErrInvalidToken) {
		t.Fatalf("revoked: %v", err)
	}
	clk.Add(time.Second)
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
}

func TestRefreshMalformedAndStoreErrors(t *testing.T) {
	ctx := context.Background()
	m, _ := newRM(t, jwt.RefreshManagerConfig{})
	valid, _, _ := m.Issue(ctx, "u", jwt.SignIn{})
	for _, tok := range []string{"", "akrt_", "akrt_short", "x" + valid[1:], valid[:5] + "4" + valid[6:], valid[:5] + "g" + valid[6:], valid + "A"} {
		if _, _, err := m.Refresh(ctx, tok); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Fatalf("%q: %v", tok, err)
		}
	}
	bad, _ := newRM(t, jwt.RefreshManagerConfig{Store: errStore{}})
	_, _, err := bad.Refresh(ctx, valid)
	if err == nil || errors.Is(err, jwt.ErrInvalidToken) || !errors.Is(err, errBoom) {
		t.Fatalf("store failure must fail closed as a system error: %v", err)
	}
}

func TestRefreshShard(t *testing.T) {
	seen := map[string]bool{}
	for i := range 5000 {
		s := jwt.RefreshShard(strconv.Itoa(i))
		if len(s) != 3 || s > "3ff" {
			t.Fatalf("shard %q", s)
		}
		seen[s] = true
	}
	if len(seen) < 900 {
		t.Fatalf("5000 users fell into %d of 1024 shards", len(seen))
	}
	id := jwt.RefreshTokenID(jwt.RefreshTokenPrefix + "2ab" + strings.Repeat("A", 43))
	if s, ok := jwt.RefreshIDShard(id); !ok || s != "2ab" {
		t.Fatalf("RefreshIDShard(%q) = %q %v", id, s, ok)
	}
	for _, bad := range []string{"", "2ab", "4ab.x", "2aG.x", "2abx"} {
		if _, ok := jwt.RefreshIDShard(bad); ok {
			t.Fatalf("RefreshIDShard(%q) accepted", bad)
		}
	}
}

var errBoom = errors.New("boom")

type errStore struct{ errNB }

func (errStore) Create(context.Context, jwt.RefreshToken) (bool, error) { return false, errBoom }
func (errStore) Rotate(context.Context, jwt.Rotation) (jwt.RotateResult, error) {
	return jwt.RotateResult{}, errBoom
}
func (errStore) RevokeToken(context.Context, string) (string, bool, error) { return "", false, errBoom }
func (errStore) RevokeUser(context.Context, string) error                  { return errBoom }
func (errStore) UpdateSignIn(context.Context, jwt.SignInUpdate) (jwt.RefreshToken, bool, error) {
	return jwt.RefreshToken{}, false, errBoom
}

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
	nb := memtest.New(t, nil).NotBefore()
	v, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: "https://i", Audience: []string{"api"}, Now: clk.Now, NotBefore: nb})

	t.Run("logout_everywhere", func(t *testing.T) {
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

	t.Run("store_failure_fails_closed", func(t *testing.T) {
		v2, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: "https://i", Audience: []string{"api"}, Now: clk.Now, NotBefore: errNB{}})
		tok, _, _ := iss.Issue(ctx, jwt.AccessTokenRequest{Subject: "u"})
		if _, err := v2.Verify(ctx, tok); err == nil || !errors.Is(err, errBoom) {
			t.Fatalf("store error: %v", err)
		}
	})
}

func TestMemstorePurgeKeepsNotBefore(t *testing.T) {
	// A sign-in's AuthTime can be older than any access token: the
	// not-before outlives MaxAccessTokenLifetime so Create still refuses it.
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s := memtest.New(t, clk.Now).RefreshTokens()
	old := clk.Now().Add(time.Second)
	_ = s.SetNotBefore(ctx, "old", old)
	clk.Add(jwt.MaxAccessTokenLifetime + 2*time.Second)
	s.Purge()
	if got, _, _ := s.NotBefore(ctx, "old"); !got.Equal(old) {
		t.Fatalf("not-before after Purge: %v, want %v", got, old)
	}
}

// blockingNB blocks the first NotBefore lookup after it read the store
// until the test releases it.
type blockingNB struct {
	*memstore.RefreshTokens
	entered, release chan struct{}
	once             sync.Once
}

func (b *blockingNB) NotBefore(ctx context.Context, u string) (time.Time, bool, error) {
	t, f, err := b.RefreshTokens.NotBefore(ctx, u)
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return t, f, err
}

// A lookup that read the store before a logout-everywhere and stores its
// result after ForgetNotBefore must not leave the stale value cached.
func TestNotBeforeCacheNeverOlderThanForget(t *testing.T) {
	ctx := context.Background()
	ks, _ := jwt.NewKeySet(jwt.KeySetConfig{})
	if _, err := ks.Rotate(nil); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().Add(time.Minute)}
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: ks, Issuer: "https://i", Audience: []string{"api"}, Now: clk.Now})
	nb := &blockingNB{RefreshTokens: memtest.New(t, nil).RefreshTokens(), entered: make(chan struct{}), release: make(chan struct{})}
	v, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: "https://i", Audience: []string{"api"}, Now: clk.Now,
		NotBefore: nb, NotBeforeCacheTTL: time.Hour})
	old, _, _ := iss.Issue(ctx, jwt.AccessTokenRequest{Subject: "u"})
	done := make(chan error)
	go func() { _, err := v.Verify(ctx, old); done <- err }()
	<-nb.entered // the lookup has read the store: no not-before yet
	clk.Add(2 * time.Second)
	if err := nb.SetNotBefore(ctx, "u", clk.Now()); err != nil {
		t.Fatal(err)
	}
	v.ForgetNotBefore("u")
	close(nb.release)
	if err := <-done; err != nil {
		t.Fatalf("verify that started before the logout: %v", err)
	}
	if _, err := v.Verify(ctx, old); !errors.Is(err, jwt.ErrRevoked) {
		t.Fatalf("revoked token verified from a stale cache entry: %v", err)
	}
}
