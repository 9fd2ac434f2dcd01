package authkit_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
)

// The first start generates and saves a signing key (mode 0600); the next
// start loads the same key.
func TestLoadOrCreateKeysKeepsTheKeyAcrossStarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.jwk")
	src, err := jwt.NewFileKeySource(jwt.FileKeySourceConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := authkit.LoadOrCreateKeys(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	second, err := authkit.LoadOrCreateKeys(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if first.Active().ID() != second.Active().ID() || first.Active().Algorithm() != jwt.ES256 {
		t.Fatalf("kids %s and %s", first.Active().ID(), second.Active().ID())
	}
	if err := os.WriteFile(path, []byte("not a key document"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := authkit.LoadOrCreateKeys(ctx, src); err == nil {
		t.Fatal("a corrupt key file was accepted (or silently replaced)")
	}
}
