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

// TakeChallenge spends a challenge without a code: of many concurrent
// takes exactly one gets it, and a code cannot use it afterwards.
func TestTakeChallengeIsSingleUseUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	tok, err := e.m.NewChallenge(ctx, "u1", []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	var won, lost atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			c, err := e.m.TakeChallenge(ctx, tok)
			switch {
			case err == nil && c.UserID == "u1" && string(c.Data) == "data":
				won.Add(1)
			case errors.Is(err, mfa.ErrInvalidChallenge):
				lost.Add(1)
			default:
				t.Errorf("TakeChallenge: %+v %v", c, err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || lost.Load() != 31 {
		t.Fatalf("%d took it, %d refused; want 1 and 31", won.Load(), lost.Load())
	}
	if _, _, err := e.m.VerifyChallenge(ctx, tok, "123456"); !errors.Is(err, mfa.ErrInvalidChallenge) {
		t.Fatalf("VerifyChallenge after TakeChallenge: %v, want ErrInvalidChallenge", err)
	}
}

func TestTakeChallengeRefusesExpiredAndMalformed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	tok, err := e.m.NewChallenge(ctx, "u1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "mfa_short", tok + "x", "xxx_" + tok[4:]} {
		if _, err := e.m.TakeChallenge(ctx, bad); !errors.Is(err, mfa.ErrInvalidChallenge) {
			t.Fatalf("TakeChallenge(%q): %v, want ErrInvalidChallenge", bad, err)
		}
	}
	e.clock.Add(5 * time.Minute)
	if _, err := e.m.TakeChallenge(ctx, tok); !errors.Is(err, mfa.ErrInvalidChallenge) {
		t.Fatalf("expired: %v, want ErrInvalidChallenge", err)
	}
}
