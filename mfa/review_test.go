package mfa_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/mfa"
)

// A replacement authorized once must not stay confirmable forever: whoever
// later learns the abandoned key (a screenshot of the QR code, a shared
// screen) and holds only the password could otherwise swap the factor
// without ever proving the current one.
func TestAbandonedReplacementCannotBeConfirmedLater(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	old, _ := e.enrolled(t, "u1")
	s2, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{RecentSecondFactor: true})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * 24 * time.Hour)
	if _, err := e.m.Confirm(ctx, "u1", codeAt(t, s2, e.clock.Now())); !errors.Is(err, mfa.ErrNoPendingEnrollment) {
		t.Fatalf("Confirm of a month-old replacement = %v, want ErrNoPendingEnrollment", err)
	}
	if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, old, e.clock.Now())); err != nil {
		t.Fatalf("active key after a refused stale Confirm: %v", err)
	}
}

// A pending enrollment within its lifetime is still confirmable.
func TestReplacementConfirmableWithinPendingTTL(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.enrolled(t, "u1")
	s2, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{RecentSecondFactor: true})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(mfa.DefaultPendingTTL - time.Minute)
	if _, err := e.m.Confirm(ctx, "u1", codeAt(t, s2, e.clock.Now())); err != nil {
		t.Fatalf("Confirm within the pending lifetime: %v", err)
	}
}

// A TOTP code already accepted at login is no proof for a replacement.
func TestReplacementProofRejectsCodeAlreadyUsedAtLogin(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	old, _ := e.enrolled(t, "u1")
	code := codeAt(t, old, e.clock.Now())
	if err := e.m.VerifyTOTP(ctx, "u1", code); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{Code: code}); !errors.Is(err, mfa.ErrReplayed) {
		t.Fatalf("Enroll with a replayed proof = %v, want ErrReplayed", err)
	}
	if got, _, _ := e.store.Get(ctx, "u1"); len(got.Pending) != 0 {
		t.Fatal("a refused proof stored a pending key")
	}
}

// A backup code spent as a replacement proof is gone, and the old set is
// void once the replacement is confirmed.
func TestBackupCodeSpentAsProofIsNotReusable(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	_, codes := e.enrolled(t, "u1")
	if _, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{Code: codes[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{Code: codes[0]}); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("second Enroll with the same backup code = %v, want ErrInvalidCode", err)
	}
}

// Backup codes spent while the set is regenerated: one code is accepted at
// most once across 64 goroutines, and no code of the old set works after
// RegenerateBackupCodes returned.
func TestOldBackupCodeRacingRegenerationIsVoidAfterwards(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *mfa.Config) { c.MaxFailures = 1000 })
	old, codes := e.enrolled(t, "u1")
	var wg sync.WaitGroup
	var wins atomic.Int32
	start := make(chan struct{})
	for range 64 {
		wg.Go(func() {
			<-start
			if e.m.UseBackupCode(ctx, "u1", codes[0]) == nil {
				wins.Add(1)
			}
		})
	}
	close(start)
	if _, err := e.m.RegenerateBackupCodes(ctx, "u1", codeAt(t, old, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if n := wins.Load(); n > 1 {
		t.Fatalf("one backup code accepted %d times", n)
	}
	for _, c := range codes {
		if err := e.m.UseBackupCode(ctx, "u1", c); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("old backup code after regeneration = %v, want ErrInvalidCode", err)
		}
	}
}
