package mfa_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/mfa"
)

// alwaysAdvance accepts every step, so one code can be checked repeatedly.
type alwaysAdvance struct{}

func (alwaysAdvance) Advance(context.Context, string, uint64, time.Time) (bool, error) {
	return true, nil
}

// nopCounter never throttles.
type nopCounter struct{}

func (nopCounter) Incr(context.Context, string, time.Duration) (int, time.Time, error) {
	return 1, time.Time{}, nil
}
func (nopCounter) Reset(context.Context, string) error { return nil }

// BenchmarkVerifyTOTP is a TOTP check as a user calls it (store read, key
// unsealed, three candidate steps, constant-time compare) with in-memory
// stores, for a matching code (step T) and a miss (all three steps).
func BenchmarkVerifyTOTP(b *testing.B) {
	ctx := context.Background()
	c := &clock{t: testStart}
	m, err := mfa.New(mfa.Config{
		Issuer: "Bench", Store: memtest.New(b, nil).MFA(), Replay: alwaysAdvance{}, Throttle: nopCounter{},
		Box: testBox(b), BackupKey: key32(100), Now: c.Now, QRSize: 64,
	})
	if err != nil {
		b.Fatal(err)
	}
	s, err := m.Enroll(ctx, "u1", "bench@example.com", mfa.Proof{})
	if err != nil {
		b.Fatal(err)
	}
	code := codeAt(b, s, c.Now())
	if _, err := m.Confirm(ctx, "u1", code); err != nil {
		b.Fatal(err)
	}
	miss := "000000"
	if miss == code {
		miss = "000001"
	}
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := m.VerifyTOTP(ctx, "u1", code); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := m.VerifyTOTP(ctx, "u1", miss); !errors.Is(err, mfa.ErrInvalidCode) {
				b.Fatal(err)
			}
		}
	})
}
