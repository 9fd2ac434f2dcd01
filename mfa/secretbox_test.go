package mfa_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/authkit-go/authkit/mfa"
)

func TestSecretBox(t *testing.T) {
	k1, k2 := key32(1), key32(2)
	box1, err := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": k1}})
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdefghij")
	blob, err := box1.Seal("u1", secret)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("round trip", func(t *testing.T) {
		got, err := box1.Open("u1", blob)
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("Open = %q, %v", got, err)
		}
		if bytes.Contains(blob, secret) {
			t.Fatal("plaintext visible in blob")
		}
		if id, err := box1.KeyID(blob); err != nil || id != "k1" {
			t.Fatalf("KeyID = %q, %v", id, err)
		}
	})
	t.Run("fresh nonce per seal", func(t *testing.T) {
		b2, _ := box1.Seal("u1", secret)
		if bytes.Equal(blob, b2) {
			t.Fatal("two seals are identical")
		}
	})
	t.Run("bound_to_user", func(t *testing.T) {
		if _, err := box1.Open("u2", blob); !errors.Is(err, mfa.ErrSealedSecret) {
			t.Fatalf("blob opened for another user: %v", err)
		}
	})
	t.Run("tamper any byte", func(t *testing.T) {
		for i := range blob {
			bad := bytes.Clone(blob)
			bad[i] ^= 0x01
			if _, err := box1.Open("u1", bad); !errors.Is(err, mfa.ErrSealedSecret) {
				t.Fatalf("byte %d flipped: Open = %v", i, err)
			}
		}
		for _, bad := range [][]byte{nil, blob[:len(blob)-1], append(bytes.Clone(blob), 0)} {
			if _, err := box1.Open("u1", bad); !errors.Is(err, mfa.ErrSealedSecret) {
				t.Fatalf("Open(len %d) = %v", len(bad), err)
			}
		}
	})
	t.Run("rotation", func(t *testing.T) {
		box2, err := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k2", Keys: map[string][]byte{"k1": k1, "k2": k2}})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := box2.Open("u1", blob); err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("old blob under rotated box: %q, %v", got, err)
		}
		fresh, _ := box2.Seal("u1", secret)
		if id, _ := box2.KeyID(fresh); id != "k2" {
			t.Fatalf("new seal under %q, want k2", id)
		}
		out, changed, err := box2.Reseal("u1", blob)
		if err != nil || !changed {
			t.Fatalf("Reseal = %v, %v", changed, err)
		}
		if id, _ := box2.KeyID(out); id != "k2" {
			t.Fatalf("resealed under %q", id)
		}
		out2, changed, err := box2.Reseal("u1", out)
		if err != nil || changed || !bytes.Equal(out2, out) {
			t.Fatalf("Reseal of an active-key blob = %v, %v", changed, err)
		}
		only2, _ := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k2", Keys: map[string][]byte{"k2": k2}})
		if _, err := only2.Open("u1", blob); !errors.Is(err, mfa.ErrSealedSecret) {
			t.Fatalf("retired key still opens: %v", err)
		}
		if got, err := only2.Open("u1", out); err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("resealed blob: %v", err)
		}
		// Same id, different key material: fails closed.
		swapped, _ := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": k2}})
		if _, err := swapped.Open("u1", blob); !errors.Is(err, mfa.ErrSealedSecret) {
			t.Fatalf("wrong key material opened the blob: %v", err)
		}
	})
	t.Run("config", func(t *testing.T) {
		for _, cfg := range []mfa.SecretBoxConfig{
			{},
			{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": k1[:16]}},
			{ActiveKeyID: "k9", Keys: map[string][]byte{"k1": k1}},
			{ActiveKeyID: "", Keys: map[string][]byte{"": k1}},
			{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": k1, string(make([]byte, 33)): k2}},
		} {
			if _, err := mfa.NewSecretBox(cfg); !errors.Is(err, mfa.ErrInvalidConfig) {
				t.Errorf("NewSecretBox(%q active) = %v", cfg.ActiveKeyID, err)
			}
		}
	})
}

// The TOTP key in the store is resealed after rotation and keeps working.
func TestReseal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	s, _ := e.enrolled(t, "u1")
	box2, _ := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k2", Keys: map[string][]byte{"k1": key32(1), "k2": key32(2)}})
	m2, err := mfa.New(mfa.Config{Issuer: "Acme", Store: e.store, Replay: e.replay, Throttle: e.counter, Box: box2, BackupKey: key32(100), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	changed, err := m2.Reseal(ctx, "u1")
	if err != nil || !changed {
		t.Fatalf("Reseal = %v, %v", changed, err)
	}
	rec, _, _ := e.store.Get(ctx, "u1")
	if id, _ := box2.KeyID(rec.Secret); id != "k2" {
		t.Fatalf("stored under %q", id)
	}
	if changed, err := m2.Reseal(ctx, "u1"); err != nil || changed {
		t.Fatalf("second Reseal = %v, %v", changed, err)
	}
	if err := m2.VerifyTOTP(ctx, "u1", codeAt(t, s, e.clock.Now())); err != nil {
		t.Fatalf("verify after reseal: %v", err)
	}
	// A sealed secret copied to another user's record does not open.
	if ok, err := e.store.Put(ctx, "u2", 0, rec, nil); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := m2.VerifyTOTP(ctx, "u2", codeAt(t, s, e.clock.Now())); !errors.Is(err, mfa.ErrSealedSecret) {
		t.Fatalf("copied secret for u2 = %v, want ErrSealedSecret", err)
	}
}
