package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
)

// Files in -key-dir.
const (
	// signingKeysFile holds the access-token signing keys (a private JWKS,
	// mode 0600); they rotate on their own (jwt.KeySet).
	signingKeysFile = "jwks-private.json"
	// secretFile holds the master secret (base64, mode 0600). Every
	// symmetric key of the server is derived from it (authkit.Secrets):
	// the TOTP SecretBox key, the backup-code key, the device-cookie key,
	// the OIDC transaction-cookie key and the CSRF key.
	secretFile = "master.secret"
	// previousSecretFile, when present, holds the secret before the last
	// rotation: it still opens what was sealed under it (TOTP keys), while
	// the current one seals. To rotate, rename master.secret to
	// previous.secret and restart; a new master.secret is created.
	previousSecretFile = "previous.secret"
)

// loadKeys returns the signing key set and the keyring of server secrets:
// fresh ones when dir is empty (memory mode), otherwise loaded from dir or
// created there on first start.
func loadKeys(ctx context.Context, dir string) (*jwt.KeySet, *authkit.Secrets, error) {
	if dir == "" {
		k, err := jwt.GenerateKey(jwt.ES256, nil)
		if err != nil {
			return nil, nil, err
		}
		ks, err := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{k}})
		if err != nil {
			return nil, nil, err
		}
		s, err := authkit.NewSecret(nil)
		if err != nil {
			return nil, nil, err
		}
		sec, err := authkit.NewSecrets(s)
		return ks, sec, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	src, err := jwt.NewFileKeySource(jwt.FileKeySourceConfig{Path: filepath.Join(dir, signingKeysFile)})
	if err != nil {
		return nil, nil, err
	}
	ks, err := authkit.LoadOrCreateKeys(ctx, src)
	if err != nil {
		return nil, nil, fmt.Errorf("signing keys in %s: %w", dir, err)
	}
	cur, err := authkit.LoadOrCreateSecret(filepath.Join(dir, secretFile))
	if err != nil {
		return nil, nil, err
	}
	var prev []authkit.Secret
	prevPath := filepath.Join(dir, previousSecretFile)
	switch _, err := os.Stat(prevPath); {
	case err == nil:
		p, err := authkit.LoadOrCreateSecret(prevPath)
		if err != nil {
			return nil, nil, err
		}
		prev = append(prev, p)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, nil, err
	}
	sec, err := authkit.NewSecrets(cur, prev...)
	return ks, sec, err
}
