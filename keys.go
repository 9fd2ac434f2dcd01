package authkit

import (
	"context"
	"fmt"

	"github.com/authkit-go/authkit/jwt"
)

// LoadOrCreateKeys returns the signing keys kept in src (for example a
// jwt.FileKeySource, or a KMS-backed jwt.KeySource), generating an ES256
// key and saving it there on first use, for [Config.Keys]. The keys rotate
// with jwt.KeySet's own methods followed by KeySet.Save.
//
// Two processes that find src empty at the same moment would each generate
// a key: start one instance first, or create the keys ahead of time.
func LoadOrCreateKeys(ctx context.Context, src jwt.KeySource) (*jwt.KeySet, error) {
	ks, found, err := jwt.LoadKeySet(ctx, src, jwt.KeySetConfig{})
	if err != nil {
		return nil, fmt.Errorf("authkit: loading signing keys: %w", err)
	}
	if found {
		return ks, nil
	}
	key, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		return nil, fmt.Errorf("authkit: generating a signing key: %w", err)
	}
	if ks, err = jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}}); err != nil {
		return nil, fmt.Errorf("authkit: %w", err)
	}
	if err := ks.Save(ctx, src); err != nil {
		return nil, fmt.Errorf("authkit: saving signing keys: %w", err)
	}
	return ks, nil
}
