package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/authkit-go/authkit/jwt"
)

// secrets are the server's symmetric keys. In memory mode they are drawn at
// start; otherwise they live in KeyDir/secrets.json (mode 0600) next to the
// signing keys, so that a restart keeps TOTP secrets readable, backup codes
// valid and sessions' CSRF tokens verifiable.
type secrets struct {
	SecretBoxKeyID string `json:"secret_box_key_id"`
	SecretBoxKey   []byte `json:"secret_box_key"`   // AES-256-GCM for TOTP secrets at rest
	BackupKey      []byte `json:"backup_key"`       // HMAC-SHA256 key for backup codes
	OAuthCookieKey []byte `json:"oauth_cookie_key"` // AES-256-GCM for the OIDC transaction cookie
	CSRFKey        []byte `json:"csrf_key"`         // derives per-session CSRF secrets
}

func newSecrets(r io.Reader) (*secrets, error) {
	s := &secrets{SecretBoxKeyID: "k1"}
	for _, b := range []*[]byte{&s.SecretBoxKey, &s.BackupKey, &s.OAuthCookieKey, &s.CSRFKey} {
		*b = make([]byte, 32)
		if _, err := io.ReadFull(r, *b); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *secrets) valid() bool {
	return s.SecretBoxKeyID != "" && len(s.SecretBoxKey) == 32 && len(s.BackupKey) >= 32 &&
		len(s.OAuthCookieKey) == 32 && len(s.CSRFKey) >= 32
}

// loadKeys returns the signing key set and the server secrets: fresh ones
// when dir is empty (memory mode), otherwise loaded from dir or created there
// on first start.
func loadKeys(ctx context.Context, dir string) (*jwt.KeySet, *secrets, error) {
	cfg := jwt.KeySetConfig{}
	if dir == "" {
		k, err := jwt.GenerateKey(jwt.ES256, rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		cfg.Keys = []*jwt.Key{k}
		ks, err := jwt.NewKeySet(cfg)
		if err != nil {
			return nil, nil, err
		}
		sec, err := newSecrets(rand.Reader)
		return ks, sec, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	src, err := jwt.NewFileKeySource(jwt.FileKeySourceConfig{Path: filepath.Join(dir, "jwks-private.json")})
	if err != nil {
		return nil, nil, err
	}
	ks, found, err := jwt.LoadKeySet(ctx, src, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("loading signing keys from %s: %w", dir, err)
	}
	if !found {
		k, err := jwt.GenerateKey(jwt.ES256, rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		cfg.Keys = []*jwt.Key{k}
		if ks, err = jwt.NewKeySet(cfg); err != nil {
			return nil, nil, err
		}
		if err := ks.Save(ctx, src); err != nil {
			return nil, nil, fmt.Errorf("saving signing keys: %w", err)
		}
	}
	sec, err := loadSecrets(filepath.Join(dir, "secrets.json"))
	return ks, sec, err
}

func loadSecrets(path string) (*secrets, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		sec, err := newSecrets(rand.Reader)
		if err != nil {
			return nil, err
		}
		data, err := json.Marshal(sec)
		if err != nil {
			return nil, err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return nil, err
		}
		return sec, os.Rename(tmp, path)
	case err != nil:
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by group or others (chmod 600 it)", path)
	}
	var sec secrets
	if err := json.Unmarshal(data, &sec); err != nil || !sec.valid() {
		return nil, fmt.Errorf("%s is corrupt", path)
	}
	return &sec, nil
}
