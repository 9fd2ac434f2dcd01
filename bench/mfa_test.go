package bench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/authkit-go/authkit/mfa"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Store-free fakes: the benchmark measures mfa's verify path (unsealing the
// key, three HOTP candidates, constant-time compare, throttle bookkeeping)
// without any store cost, as docs/PERF.md's TOTP row asks.
// (memstore is not used here: it imports every leaf, jwt included.)
type mfaFixedStore struct{ e *mfa.Enrollment }

func (s mfaFixedStore) Get(context.Context, string) (mfa.Enrollment, bool, error) {
	return *s.e, true, nil
}
func (s mfaFixedStore) Put(_ context.Context, _ string, _ uint64, e mfa.Enrollment, _ [][]byte) (bool, error) {
	*s.e = e
	return true, nil
}
func (mfaFixedStore) Delete(context.Context, string) error { return nil }
func (mfaFixedStore) UseBackupCode(context.Context, string, []byte) (bool, error) {
	return false, nil
}

type mfaAlwaysAdvance struct{}

func (mfaAlwaysAdvance) Advance(context.Context, string, uint64, time.Time) (bool, error) {
	return true, nil
}

type mfaNopCounter struct{}

func (mfaNopCounter) Incr(context.Context, string, time.Duration) (int, time.Time, error) {
	return 1, time.Time{}, nil
}
func (mfaNopCounter) Reset(context.Context, string) error { return nil }

// BenchmarkTOTP compares authkit's VerifyTOTP (store excluded) with
// pquerna/otp's totp.ValidateCustom (skew 1, SHA1, 6 digits) in one run.
func BenchmarkTOTP(b *testing.B) {
	ctx := context.Background()
	at := time.Unix(1790000000, 0)
	now := func() time.Time { return at }
	box, err := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		b.Fatal(err)
	}
	cfg := mfa.Config{
		Issuer: "Bench", Store: mfaFixedStore{new(mfa.Enrollment)}, Replay: mfaAlwaysAdvance{}, Throttle: mfaNopCounter{},
		Box: box, BackupKey: bytes.Repeat([]byte{9}, 32), Now: now,
	}
	m, err := mfa.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	setup, err := m.Enroll(ctx, "u1", "bench@example.com", mfa.Proof{})
	if err != nil {
		b.Fatal(err)
	}
	code, _ := totp.GenerateCode(setup.Secret, at)
	if _, err := m.Confirm(ctx, "u1", code); err != nil {
		b.Fatal(err)
	}
	wrong := "000000"
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		if c, _ := totp.GenerateCode(setup.Secret, at.Add(d)); c == wrong {
			b.Fatal("wrong code collides")
		}
	}
	opts := totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

	b.Run("case=match/impl=pquerna", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _ := totp.ValidateCustom(code, setup.Secret, at, opts); !ok {
				b.Fatal("no match")
			}
		}
	})
	b.Run("case=match/impl=authkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := m.VerifyTOTP(ctx, "u1", code); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("case=miss/impl=pquerna", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _ := totp.ValidateCustom(wrong, setup.Secret, at, opts); ok {
				b.Fatal("match")
			}
		}
	})
	b.Run("case=miss/impl=authkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := m.VerifyTOTP(ctx, "u1", wrong); err == nil {
				b.Fatal("match")
			}
		}
	})
}
