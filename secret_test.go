package authkit_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/authkit-go/authkit"
)

func secretOf(t *testing.T, b byte) authkit.Secret {
	t.Helper()
	s, err := authkit.ParseSecret(base64.StdEncoding.EncodeToString(secretBytes(b, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// secretBytes returns n non-degenerate bytes that depend on b.
func secretBytes(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b + byte(i)
	}
	return out
}

// Every label derives its own key, and no key equals the secret.
func TestSecretsDeriveADistinctKeyPerLabel(t *testing.T) {
	ss, err := authkit.NewSecrets(secretOf(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{string(secretBytes(1, 32)): "the secret"}
	for _, label := range []string{authkit.LabelMFASecretBox, authkit.LabelMFABackupCodes, authkit.LabelDeviceCookie, authkit.LabelOAuthCookie, authkit.LabelCSRF, authkit.LabelPasskeyUserHandle} {
		k := ss.Key(label)
		if len(k) != 32 {
			t.Fatalf("%s: %d-byte key", label, len(k))
		}
		if other, dup := seen[string(k)]; dup {
			t.Fatalf("%s derives the same key as %s", label, other)
		}
		seen[string(k)] = label
		if !bytes.Equal(k, ss.Key(label)) {
			t.Fatalf("%s: derivation is not deterministic", label)
		}
	}
	other, _ := authkit.NewSecrets(secretOf(t, 2))
	if bytes.Equal(ss.Key(authkit.LabelCSRF), other.Key(authkit.LabelCSRF)) {
		t.Fatal("two secrets derive one key")
	}
	if !bytes.Equal(ss.MFABackupKey(), ss.Key(authkit.LabelMFABackupCodes)) || !bytes.Equal(ss.OAuthCookieKey(), ss.Key(authkit.LabelOAuthCookie)) || !bytes.Equal(ss.PasskeyUserHandleKey(), ss.Key(authkit.LabelPasskeyUserHandle)) {
		t.Fatal("helpers do not use their labels")
	}
}

// After a rotation the new secret seals, and what the old one sealed still
// opens; without the old secret it does not.
func TestSecretRotationOpensWhatTheOldSecretSealed(t *testing.T) {
	old, cur := secretOf(t, 1), secretOf(t, 2)
	before, err := authkit.NewSecrets(old)
	if err != nil {
		t.Fatal(err)
	}
	box, err := before.MFASecretBox()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal("u1", []byte("totp key"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := authkit.NewSecrets(cur, old)
	if err != nil {
		t.Fatal(err)
	}
	box2, err := after.MFASecretBox()
	if err != nil {
		t.Fatal(err)
	}
	if box2.ActiveKeyID() != cur.ID() || box2.ActiveKeyID() == old.ID() {
		t.Fatalf("active key %s, want the new secret's %s", box2.ActiveKeyID(), cur.ID())
	}
	got, err := box2.Open("u1", sealed)
	if err != nil || string(got) != "totp key" {
		t.Fatalf("rotated box cannot open the old blob: %q %v", got, err)
	}
	ks := after.Keys(authkit.LabelDeviceCookie)
	if len(ks) != 2 || !bytes.Equal(ks[0], after.Key(authkit.LabelDeviceCookie)) || !bytes.Equal(ks[1], before.Key(authkit.LabelDeviceCookie)) {
		t.Fatal("Keys is not current first, then previous")
	}
	onlyNew, _ := authkit.NewSecrets(cur)
	box3, _ := onlyNew.MFASecretBox()
	if _, err := box3.Open("u1", sealed); err == nil {
		t.Fatal("a box without the old secret opened its blob")
	}
}

// LoadOrCreateSecret creates the file with mode 0600 once and reads the
// same secret back, also when processes race to create it.
func TestLoadOrCreateSecretCreates0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authkit.secret")
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Go(func() {
			s, err := authkit.LoadOrCreateSecret(path)
			ids[i], errs[i] = s.ID(), err
		})
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("call %d: %s %v, want %s", i, ids[i], errs[i], ids[0])
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("directory holds %v, want only the secret file", entries)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw))); err != nil || len(b) != authkit.MinSecretSize {
		t.Fatalf("file holds %q", raw)
	}
	again, err := authkit.LoadOrCreateSecret(path)
	if err != nil || again.ID() != ids[0] {
		t.Fatalf("reload: %s %v", again.ID(), err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := authkit.LoadOrCreateSecret(path); !errors.Is(err, authkit.ErrSecretFilePerm) {
		t.Fatalf("world-readable file: %v, want ErrSecretFilePerm", err)
	}
}

// Secrets shorter than 32 bytes, or not base64 or hex, are refused.
func TestTooShortSecretIsRefused(t *testing.T) {
	for _, text := range []string{
		"", "secret", "hunter2hunter2hunter2hunter2hunter2",
		base64.StdEncoding.EncodeToString(make([]byte, 31)),
		fmt.Sprintf("%x", make([]byte, 31)),
	} {
		if _, err := authkit.ParseSecret(text); !errors.Is(err, authkit.ErrWeakSecret) {
			t.Errorf("ParseSecret(%q) = %v, want ErrWeakSecret", text, err)
		}
	}
	for _, text := range []string{
		base64.StdEncoding.EncodeToString(secretBytes(0, 32)),
		base64.RawURLEncoding.EncodeToString(secretBytes(0, 48)),
		fmt.Sprintf("%x\n", secretBytes(0, 32)),
	} {
		if _, err := authkit.ParseSecret(text); err != nil {
			t.Errorf("ParseSecret(%q) = %v", text, err)
		}
	}
	if _, err := authkit.NewSecrets(authkit.Secret{}); !errors.Is(err, authkit.ErrInvalidConfig) || !errors.Is(err, authkit.ErrWeakSecret) {
		t.Fatalf("NewSecrets(zero) = %v", err)
	}
	if _, err := authkit.NewSecrets(secretOf(t, 1), secretOf(t, 1)); !errors.Is(err, authkit.ErrInvalidConfig) {
		t.Fatalf("NewSecrets(dup) = %v", err)
	}
	path := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(path, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := authkit.LoadOrCreateSecret(path); !errors.Is(err, authkit.ErrWeakSecret) {
		t.Fatalf("short file: %v", err)
	}
}

// A Secret never prints its bytes.
func TestSecretDoesNotPrintItsBytes(t *testing.T) {
	s := secretOf(t, 'A')
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s)} {
		if strings.Contains(out, "ABCD") || strings.Contains(out, "QUJD") || strings.Contains(out, "41424344") {
			t.Fatalf("secret printed: %s", out)
		}
	}
}
