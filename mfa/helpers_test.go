package mfa_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/store/memstore"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// clock is an injectable server clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fakeCounter is a test AttemptCounter following the documented contract.
type fakeCounter struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]counterEntry
}

type counterEntry struct {
	n   int
	end time.Time
}

func newFakeCounter(now func() time.Time) *fakeCounter {
	return &fakeCounter{now: now, m: map[string]counterEntry{}}
}

func (f *fakeCounter) Incr(ctx context.Context, key string, window time.Duration) (int, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[key]
	if !ok || !f.now().Before(e.end) {
		e = counterEntry{end: f.now().Add(window)}
	}
	e.n++
	f.m[key] = e
	return e.n, e.end, nil
}

func (f *fakeCounter) Count(ctx context.Context, key string) (int, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[key]
	if !ok || !f.now().Before(e.end) {
		return 0, time.Time{}, nil
	}
	return e.n, e.end, nil
}

func (f *fakeCounter) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, key)
	return nil
}

var (
	_ mfa.AttemptCounter = (*fakeCounter)(nil)
	// The root lockout store's memstore type serves mfa by structure.
	_ mfa.AttemptCounter = (*memstore.Attempts)(nil)
)

// cycleReader yields a fixed pattern forever ("1234567890…" gives the RFC
// 6238 seeds as key material).
type cycleReader struct {
	pattern []byte
	i       int
}

func (r *cycleReader) Read(p []byte) (int, error) {
	for j := range p {
		p[j] = r.pattern[r.i%len(r.pattern)]
		r.i++
	}
	return len(p), nil
}

type env struct {
	m       *mfa.MFA
	clock   *clock
	store   *memstore.MFA
	replay  *memstore.TOTPReplay
	tickets *memstore.Tickets
	counter *fakeCounter
	box     *mfa.SecretBox
}

var testStart = time.Date(2026, 11, 26, 12, 0, 10, 0, time.UTC)

func testBox(t testing.TB) *mfa.SecretBox {
	t.Helper()
	box, err := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": key32(1)}})
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func key32(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func newEnv(t testing.TB, mod func(*mfa.Config)) *env {
	t.Helper()
	c := &clock{t: testStart}
	st := memtest.New(t, c.Now)
	e := &env{
		clock:   c,
		store:   st.MFA(),
		replay:  st.TOTPReplay(),
		tickets: st.Tickets(),
		counter: newFakeCounter(c.Now),
		box:     testBox(t),
	}
	cfg := mfa.Config{
		Issuer: "Acme", Store: e.store, Replay: e.replay, Tickets: e.tickets,
		Throttle: e.counter, Box: e.box, BackupKey: key32(100), Now: c.Now,
		QRSize: 64, // small QR codes keep -race runs fast; TestEnroll checks the default
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := mfa.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	return e
}

func otpAlg(a mfa.Algorithm) otp.Algorithm {
	switch a {
	case mfa.SHA256:
		return otp.AlgorithmSHA256
	case mfa.SHA512:
		return otp.AlgorithmSHA512
	}
	return otp.AlgorithmSHA1
}

// codeAt computes a code with pquerna/otp, an implementation independent of
// ours, as an authenticator app would.
func codeAt(t testing.TB, s *mfa.Setup, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(s.Secret, at, totp.ValidateOpts{Digits: otp.Digits(s.Digits), Algorithm: otpAlg(s.Algorithm)})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// enrolled enrolls and confirms user with a code from step T; it returns
// the setup and the backup codes, with the clock moved to the next step.
func (e *env) enrolled(t testing.TB, user string) (*mfa.Setup, []string) {
	t.Helper()
	ctx := context.Background()
	s, err := e.m.Enroll(ctx, user, user+"@example.com", mfa.Proof{})
	if err != nil {
		t.Fatal(err)
	}
	codes, err := e.m.Confirm(ctx, user, codeAt(t, s, e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(mfa.Period)
	return s, codes
}
