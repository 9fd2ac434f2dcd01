package jwt

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySource persists a KeySet's private keys. Hosts can back it with a KMS or
// a secret manager; [FileKeySource] is the shipped implementation. The data
// is an opaque document produced by [KeySet.Save]; implementations store and
// return it unchanged and must protect it (it holds private keys).
type KeySource interface {
	// Load returns the stored document; found=false if nothing is stored.
	Load(ctx context.Context) (data []byte, found bool, err error)
	// Save replaces the stored document.
	Save(ctx context.Context, data []byte) error
}

type keyDoc struct {
	Active string            `json:"active,omitempty"`
	Keys   []json.RawMessage `json:"keys"`
}

// Save writes every key of the set, private material included, and the
// active kid to src.
func (s *KeySet) Save(ctx context.Context, src KeySource) error {
	st := s.state.Load()
	doc := keyDoc{Keys: make([]json.RawMessage, 0, len(st.order))}
	if st.active != nil {
		doc.Active = st.active.kid
	}
	for _, k := range st.order {
		b, err := k.marshalPrivateJWK()
		if err != nil {
			return fmt.Errorf("jwt: save keys: %w", err)
		}
		doc.Keys = append(doc.Keys, b)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("jwt: save keys: %w", err)
	}
	return src.Save(ctx, b)
}

// LoadKeySet reads keys saved by [KeySet.Save] from src into a new KeySet
// built with cfg (cfg.Keys and cfg.Active are replaced). found=false means
// src holds nothing yet: generate a key and Save.
func LoadKeySet(ctx context.Context, src KeySource, cfg KeySetConfig) (*KeySet, bool, error) {
	data, found, err := src.Load(ctx)
	if err != nil || !found {
		return nil, found, err
	}
	var doc keyDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, true, ErrKeySourceCorrupt
	}
	cfg.Keys = nil
	for _, raw := range doc.Keys {
		k, err := ParseJWK(raw)
		if err != nil {
			return nil, true, fmt.Errorf("%w: %w", ErrKeySourceCorrupt, err)
		}
		cfg.Keys = append(cfg.Keys, k)
	}
	cfg.Active = doc.Active
	ks, err := NewKeySet(cfg)
	return ks, true, err
}

// FileKeySourceConfig configures a [FileKeySource].
type FileKeySourceConfig struct {
	Path string // required
	// KEK, if set (32 bytes), encrypts the file with AES-256-GCM; the
	// header "AKJWK1" is authenticated as additional data.
	KEK  []byte
	Rand io.Reader // nonces; nil: crypto/rand.Reader
}

// FileKeySource stores keys in one file written with mode 0600 (atomically,
// through a temporary file and rename). Load refuses a file readable by group
// or others.
type FileKeySource struct {
	path string
	aead cipher.AEAD
	rand io.Reader
}

const fileMagic = "AKJWK1"

// NewFileKeySource validates cfg.
func NewFileKeySource(cfg FileKeySourceConfig) (_ *FileKeySource, err error) {
	defer wrapInvalidConfig(&err)
	if cfg.Path == "" {
		return nil, errors.New("jwt: FileKeySourceConfig.Path is required")
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	f := &FileKeySource{path: cfg.Path, rand: cfg.Rand}
	if cfg.KEK != nil {
		if len(cfg.KEK) != 32 {
			return nil, fmt.Errorf("%w: KEK must be 32 bytes", ErrWeakKey)
		}
		b, err := aes.NewCipher(cfg.KEK)
		if err != nil {
			return nil, fmt.Errorf("jwt: KEK: %w", err)
		}
		if f.aead, err = cipher.NewGCM(b); err != nil {
			return nil, fmt.Errorf("jwt: KEK: %w", err)
		}
	}
	return f, nil
}

// Load implements KeySource.
func (f *FileKeySource) Load(ctx context.Context) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	fi, err := os.Stat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("jwt: key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("%w: %s has mode %v", ErrKeyFilePerm, f.path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, false, fmt.Errorf("jwt: key file: %w", err)
	}
	encrypted := bytes.HasPrefix(data, []byte(fileMagic))
	if f.aead == nil {
		if encrypted {
			return nil, false, fmt.Errorf("%w: file is encrypted but no KEK is configured", ErrKeySourceCorrupt)
		}
		return data, true, nil
	}
	if !encrypted {
		return nil, false, fmt.Errorf("%w: file is not encrypted", ErrKeySourceCorrupt)
	}
	rest := data[len(fileMagic):]
	ns := f.aead.NonceSize()
	if len(rest) < ns {
		return nil, false, ErrKeySourceCorrupt
	}
	plain, err := f.aead.Open(nil, rest[:ns], rest[ns:], []byte(fileMagic))
	if err != nil {
		return nil, false, ErrKeySourceCorrupt
	}
	return plain, true, nil
}

// Save implements KeySource.
func (f *FileKeySource) Save(ctx context.Context, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	out := data
	if f.aead != nil {
		nonce := make([]byte, f.aead.NonceSize())
		if _, err := io.ReadFull(f.rand, nonce); err != nil {
			return fmt.Errorf("jwt: nonce: %w", err)
		}
		out = append(append([]byte(fileMagic), nonce...), f.aead.Seal(nil, nonce, data, []byte(fileMagic))...)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".jwks-*")
	if err != nil {
		return fmt.Errorf("jwt: key file: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("jwt: key file: %w", err)
	}
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return fmt.Errorf("jwt: key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("jwt: key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("jwt: key file: %w", err)
	}
	if err := os.Rename(name, f.path); err != nil {
		return fmt.Errorf("jwt: key file: %w", err)
	}
	return nil
}
