package mfa_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/authkit-go/authkit/mfa"
)

// interleave runs a function once, just before the next Put reaches the
// store: it forces "this write started before that Delete" without sleeps.
type interleave struct {
	mfa.Store
	mu     sync.Mutex
	before func()
}

func (s *interleave) arm(f func()) { s.mu.Lock(); s.before = f; s.mu.Unlock() }

func (s *interleave) Put(ctx context.Context, u string, prev uint64, e mfa.Enrollment, codes [][]byte) (bool, error) {
	s.mu.Lock()
	f := s.before
	s.before = nil
	s.mu.Unlock()
	if f != nil {
		f()
	}
	return s.Store.Put(ctx, u, prev, e, codes)
}

func newInterleavedEnv(t *testing.T) (*env, *interleave) {
	t.Helper()
	var il *interleave
	e := newEnv(t, func(c *mfa.Config) {
		il = &interleave{Store: c.Store}
		c.Store = il
	})
	return e, il
}

// An attacker holding only a session (a recent access token) must not be
// able to swap the victim's active TOTP key for one of their own.
func TestReplaceActiveFactorWithoutCurrentFactorIsRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	victim, _ := e.enrolled(t, "u1")
	before, _, _ := e.store.Get(ctx, "u1")

	if _, err := e.m.Enroll(ctx, "u1", "attacker", mfa.Proof{}); !errors.Is(err, mfa.ErrFactorRequired) {
		t.Fatalf("Enroll over an active factor without proof = %v, want ErrFactorRequired", err)
	}
	after, _, _ := e.store.Get(ctx, "u1")
	if !bytes.Equal(before.Secret, after.Secret) || len(after.Pending) != 0 || after.Version != before.Version {
		t.Fatal("a refused Enroll changed the stored enrollment")
	}
	if _, err := e.m.Confirm(ctx, "u1", codeAt(t, victim, e.clock.Now())); !errors.Is(err, mfa.ErrNoPendingEnrollment) {
		t.Fatalf("Confirm after a refused Enroll = %v, want ErrNoPendingEnrollment", err)
	}
	if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, victim, e.clock.Now())); err != nil {
		t.Fatalf("victim's key stopped working: %v", err)
	}
}

// A pending key that was not authorized to replace the active one (stored
// before the active key was confirmed elsewhere, or by an older release)
// never overwrites it.
func TestConfirmNeverOverwritesActiveSecretWithUnauthorizedPending(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	victim, _ := e.enrolled(t, "u1")
	other := newEnv(t, nil)
	s2, err := other.m.Enroll(ctx, "u1", "attacker", mfa.Proof{})
	if err != nil {
		t.Fatal(err)
	}
	pending, _, _ := other.store.Get(ctx, "u1")
	cur, _, _ := e.store.Get(ctx, "u1")
	next := cur
	next.Version, next.Pending, next.PendingAt, next.PendingReplaces = cur.Version+1, pending.Pending, e.clock.Now(), false
	if ok, err := e.store.Put(ctx, "u1", cur.Version, next, nil); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, err := e.m.Confirm(ctx, "u1", codeAt(t, s2, e.clock.Now())); !errors.Is(err, mfa.ErrFactorRequired) {
		t.Fatalf("Confirm of an unauthorized replacement = %v, want ErrFactorRequired", err)
	}
	if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, victim, e.clock.Now())); err != nil {
		t.Fatalf("victim's key stopped working: %v", err)
	}
}

func TestReplaceActiveFactorWithProof(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		proof func(t *testing.T, old *mfa.Setup, codes []string, e *env) mfa.Proof
		spent func(t *testing.T, old *mfa.Setup, codes []string, e *env) error
	}{
		{"current TOTP code", func(t *testing.T, old *mfa.Setup, _ []string, e *env) mfa.Proof {
			return mfa.Proof{Code: codeAt(t, old, e.clock.Now())}
		}, func(t *testing.T, old *mfa.Setup, _ []string, e *env) error {
			return e.m.VerifyTOTP(ctx, "u1", codeAt(t, old, e.clock.Now()))
		}},
		{"backup code", func(_ *testing.T, _ *mfa.Setup, codes []string, _ *env) mfa.Proof {
			return mfa.Proof{Code: codes[0]}
		}, func(_ *testing.T, _ *mfa.Setup, codes []string, e *env) error {
			return e.m.UseBackupCode(ctx, "u1", codes[0])
		}},
		{"recent second factor at sign-in", func(*testing.T, *mfa.Setup, []string, *env) mfa.Proof {
			return mfa.Proof{RecentSecondFactor: true}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			old, oldCodes := e.enrolled(t, "u1")
			s2, err := e.m.Enroll(ctx, "u1", "a", tc.proof(t, old, oldCodes, e))
			if err != nil {
				t.Fatalf("Enroll with proof: %v", err)
			}
			if tc.spent != nil {
				if err := tc.spent(t, old, oldCodes, e); !errors.Is(err, mfa.ErrInvalidCode) {
					t.Fatalf("proof used again = %v, want ErrInvalidCode (spent)", err)
				}
			}
			e.clock.Add(mfa.Period)
			newCodes, err := e.m.Confirm(ctx, "u1", codeAt(t, s2, e.clock.Now()))
			if err != nil {
				t.Fatalf("Confirm: %v", err)
			}
			e.clock.Add(mfa.Period)
			if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, old, e.clock.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("old key after replacement = %v", err)
			}
			if err := e.m.UseBackupCode(ctx, "u1", oldCodes[1]); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("old backup code after replacement = %v", err)
			}
			if err := e.m.UseBackupCode(ctx, "u1", newCodes[0]); err != nil {
				t.Fatalf("new backup code: %v", err)
			}
		})
	}
}

func TestReplaceWithWrongCodeIsRefusedAndThrottled(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.enrolled(t, "u1")
	for i := range mfa.DefaultMaxFailures {
		if _, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{Code: "000000"}); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("attempt %d: Enroll with a wrong code = %v, want ErrInvalidCode", i, err)
		}
	}
	if _, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{Code: "000000"}); !errors.Is(err, mfa.ErrThrottled) {
		t.Fatalf("Enroll past the budget = %v, want ErrThrottled", err)
	}
	if rec, _, _ := e.store.Get(ctx, "u1"); len(rec.Pending) != 0 {
		t.Fatal("a refused Enroll stored a pending key")
	}
}

func TestEnrollWithoutActiveFactorNeedsNoProof(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	if _, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{}); err != nil {
		t.Fatal(err)
	}
	s2, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{}) // restart: a new QR code
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Confirm(ctx, "u1", codeAt(t, s2, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := e.store.Get(ctx, "u1"); rec.PendingReplaces || len(rec.Pending) != 0 || !rec.Active() {
		t.Fatalf("after Confirm: %+v", rec)
	}
}

// A Confirm that read the pending key before MFA was disabled (or the
// account reset) must not bring the enrollment back after the Delete.
func TestConfirmAfterDeleteDoesNotResurrect(t *testing.T) {
	ctx := context.Background()
	for _, active := range []bool{false, true} {
		e, il := newInterleavedEnv(t)
		var s *mfa.Setup
		var err error
		if active {
			old, _ := e.enrolled(t, "u1")
			s, err = e.m.Enroll(ctx, "u1", "a", mfa.Proof{Code: codeAt(t, old, e.clock.Now())})
		} else {
			s, err = e.m.Enroll(ctx, "u1", "a", mfa.Proof{})
		}
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Add(mfa.Period)
		il.arm(func() {
			if err := e.store.Delete(ctx, "u1"); err != nil {
				t.Error(err)
			}
		})
		if _, err := e.m.Confirm(ctx, "u1", codeAt(t, s, e.clock.Now())); !errors.Is(err, mfa.ErrStateChanged) {
			t.Fatalf("active=%v: Confirm across a Delete = %v, want ErrStateChanged", active, err)
		}
		if _, found, _ := e.store.Get(ctx, "u1"); found {
			t.Fatalf("active=%v: the enrollment came back after Delete", active)
		}
	}
}

func TestEnrollAndRegenerateAfterDeleteDoNotResurrect(t *testing.T) {
	ctx := context.Background()
	e, il := newInterleavedEnv(t)
	_, codes := e.enrolled(t, "u1")
	del := func() {
		if err := e.store.Delete(ctx, "u1"); err != nil {
			t.Error(err)
		}
	}
	il.arm(del)
	if _, err := e.m.RegenerateBackupCodes(ctx, "u1", codes[0]); !errors.Is(err, mfa.ErrStateChanged) {
		t.Fatalf("RegenerateBackupCodes across a Delete = %v, want ErrStateChanged", err)
	}
	if _, found, _ := e.store.Get(ctx, "u1"); found {
		t.Fatal("enrollment back after RegenerateBackupCodes")
	}
	if used, _ := e.store.UseBackupCode(ctx, "u1", []byte(codes[1])); used {
		t.Fatal("backup codes back after RegenerateBackupCodes")
	}

	e, il = newInterleavedEnv(t)
	old, _ := e.enrolled(t, "u1")
	il.arm(del)
	if _, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{Code: codeAt(t, old, e.clock.Now())}); !errors.Is(err, mfa.ErrStateChanged) {
		t.Fatalf("Enroll across a Delete = %v, want ErrStateChanged", err)
	}
	if _, found, _ := e.store.Get(ctx, "u1"); found {
		t.Fatal("enrollment back after Enroll")
	}
}

// Regenerated backup codes are written only over the factor the code was
// checked against; a replacement in between voids the regeneration.
func TestRegenerateAfterReplacementWritesNothing(t *testing.T) {
	ctx := context.Background()
	e, il := newInterleavedEnv(t)
	_, codes := e.enrolled(t, "u1")
	il.arm(func() {
		cur, _, _ := e.store.Get(ctx, "u1")
		next := cur
		next.Version = cur.Version ^ 1
		if ok, err := e.store.Put(ctx, "u1", cur.Version, next, [][]byte{[]byte("x")}); !ok || err != nil {
			t.Error(ok, err)
		}
	})
	if _, err := e.m.RegenerateBackupCodes(ctx, "u1", codes[0]); !errors.Is(err, mfa.ErrStateChanged) {
		t.Fatalf("RegenerateBackupCodes = %v, want ErrStateChanged", err)
	}
}

func TestRequiredFailsClosedWhenStateIsMissing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.enrolled(t, "on")
	if _, err := e.m.Enroll(ctx, "pending", "a", mfa.Proof{}); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name         string
		ctx          context.Context
		user         string
		expected     bool
		want         bool
		wantMissing  bool
		wantCanceled bool
	}{
		{"expected and active", ctx, "on", true, true, false, false},
		{"expected and absent", ctx, "lost", true, true, true, false},
		{"expected, only pending", ctx, "pending", true, true, true, false},
		{"expected, store fails", cancelled, "on", true, true, true, true},
		{"not expected, active", ctx, "on", false, true, false, false},
		{"not expected, absent", ctx, "lost", false, false, false, false},
		{"not expected, only pending", ctx, "pending", false, false, false, false},
		{"not expected, store fails", cancelled, "on", false, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.m.Required(tc.ctx, tc.user, tc.expected)
			if got != tc.want || errors.Is(err, mfa.ErrStateMissing) != tc.wantMissing ||
				errors.Is(err, context.Canceled) != tc.wantCanceled || (err == nil) != (!tc.wantMissing && !tc.wantCanceled) {
				t.Fatalf("Required(%q, %v) = %v, %v", tc.user, tc.expected, got, err)
			}
		})
	}
}
