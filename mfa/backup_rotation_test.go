package mfa_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authkit-go/authkit/mfa"
)

// Rotating the backup-code key voids no issued code: a code stored under
// the previous key works once (and only once) when that key is listed in
// PreviousBackupKeys, and not at all when it is not.
func TestBackupCodesSurviveKeyRotation(t *testing.T) {
	ctx := context.Background()
	old := newEnv(t, nil)
	_, codes := old.enrolled(t, "u1")

	rotated := func(prev [][]byte) *mfa.MFA {
		m, err := mfa.New(mfa.Config{
			Issuer: "Acme", Store: old.store, Replay: old.replay, Tickets: old.tickets,
			Throttle: old.counter, Box: old.box, BackupKey: key32(101), PreviousBackupKeys: prev,
			Now: old.clock.Now, QRSize: 64,
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if err := rotated(nil).UseBackupCode(ctx, "u1", codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("without the previous key: %v, want ErrInvalidCode", err)
	}
	m := rotated([][]byte{key32(100)})
	if err := m.UseBackupCode(ctx, "u1", codes[0]); err != nil {
		t.Fatalf("code issued under the previous key: %v", err)
	}
	if err := m.UseBackupCode(ctx, "u1", codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("the same code again: %v, want ErrInvalidCode", err)
	}
	if _, err := mfa.New(mfa.Config{Issuer: "Acme", Store: old.store, Replay: old.replay, Tickets: old.tickets,
		Throttle: old.counter, Box: old.box, BackupKey: key32(101), PreviousBackupKeys: [][]byte{[]byte("short")}}); !errors.Is(err, mfa.ErrInvalidConfig) {
		t.Fatalf("short previous key: %v, want ErrInvalidConfig", err)
	}
}
