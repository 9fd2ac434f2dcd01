package authkit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authkit-go/authkit"
)

// randomLooking returns 32 fixed bytes that look random (distinct per seed).
func randomLooking(seed string) []byte {
	b := sha256.Sum256([]byte(seed))
	return b[:]
}

// A Secret prints only its identifier under every fmt verb: %d, %x and the
// other verbs that bypass String would otherwise dump the struct's bytes.
func TestSecretDoesNotPrintItsBytesUnderAnyVerb(t *testing.T) {
	raw := randomLooking("print")
	s, err := authkit.ParseSecret(hex.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := authkit.NewSecrets(s)
	if err != nil {
		t.Fatal(err)
	}
	leaks := []string{hex.EncodeToString(raw[:4]), fmt.Sprint(raw[:4])[1:8], s.Text()[:8]}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%c", "%U", "%08d"} {
		for _, v := range []any{s, &s, []authkit.Secret{s}, ss, *ss} {
			out := fmt.Sprintf(verb, v)
			for _, l := range leaks {
				if strings.Contains(out, l) {
					t.Fatalf("fmt %s of %T prints the secret: %s", verb, v, out)
				}
			}
		}
	}
}

// Degenerate secrets (all zeros, one repeated byte, a short repeated
// pattern) have the right length but almost no entropy; they are refused.
func TestLowEntropySecretIsRefused(t *testing.T) {
	for _, b := range [][]byte{
		make([]byte, 32),
		bytes.Repeat([]byte{0xff}, 64),
		bytes.Repeat([]byte("changeme"), 4),
		bytes.Repeat([]byte{1, 2}, 16),
	} {
		if _, err := authkit.ParseSecret(hex.EncodeToString(b)); !errors.Is(err, authkit.ErrWeakSecret) {
			t.Errorf("ParseSecret(%x) = %v, want ErrWeakSecret", b, err)
		}
	}
	zeros, err := authkit.NewSecret(bytes.NewReader(make([]byte, 32)))
	if err == nil {
		if _, err := authkit.NewSecrets(zeros); !errors.Is(err, authkit.ErrWeakSecret) {
			t.Fatalf("NewSecrets(all-zero secret) = %v, want ErrWeakSecret", err)
		}
	} else if !errors.Is(err, authkit.ErrWeakSecret) {
		t.Fatalf("NewSecret(zero reader) = %v, want ErrWeakSecret", err)
	}
}

// The public ID of a secret reveals nothing of any key a host derives: with
// the same HKDF info, the ID would be the first bytes of Key("key-id").
func TestSecretIDIsNotAPrefixOfAnyDerivedKey(t *testing.T) {
	s, err := authkit.ParseSecret(hex.EncodeToString(randomLooking("id")))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := authkit.NewSecrets(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"key-id", "id", "secret-id", " key-id", authkit.LabelCSRF} {
		if strings.HasPrefix(hex.EncodeToString(ss.Key(label)), s.ID()) {
			t.Fatalf("ID %s is the prefix of Key(%q)", s.ID(), label)
		}
	}
}

// Two secrets whose short IDs collide would share one slot in the MFA
// SecretBox key map, and the OLD secret's key would then seal. NewSecrets
// refuses such a pair (found here by a birthday search).
func TestSecretsWithCollidingIDsAreRefused(t *testing.T) {
	seen := map[string]authkit.Secret{}
	var a, b authkit.Secret
	for i := 0; ; i++ {
		s, err := authkit.ParseSecret(hex.EncodeToString(randomLooking(fmt.Sprint("collide", i))))
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := seen[s.ID()]; ok {
			a, b = s, o
			break
		}
		if i > 1<<22 {
			t.Skip("no ID collision found (IDs longer than 32 bits)")
		}
		seen[s.ID()] = s
	}
	ss, err := authkit.NewSecrets(a, b)
	if err == nil {
		box, err := ss.MFASecretBox()
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := box.Seal("u1", []byte("JBSWY3DPEHPK3PXP"))
		if err != nil {
			t.Fatal(err)
		}
		onlyOld, _ := authkit.NewSecrets(b)
		oldBox, _ := onlyOld.MFASecretBox()
		if _, err := oldBox.Open("u1", sealed); err == nil {
			t.Fatalf("the previous secret's key sealed under the current secret's ID %s", a.ID())
		}
		t.Fatalf("NewSecrets accepted two secrets with one ID %s", a.ID())
	}
	if !errors.Is(err, authkit.ErrInvalidConfig) {
		t.Fatalf("NewSecrets(colliding IDs) = %v, want ErrInvalidConfig", err)
	}
}

// A dangling symlink at the secret path (planted to make the process write
// its new secret where the link points) is not followed for writing: the
// call fails and nothing is created at the target.
func TestLoadOrCreateSecretDoesNotWriteThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	path := filepath.Join(dir, "secret")
	if err := os.Symlink(target, path); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if _, err := authkit.LoadOrCreateSecret(path); err == nil {
		t.Fatal("LoadOrCreateSecret through a dangling symlink succeeded")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("secret written through the symlink: %v", err)
	}
}
