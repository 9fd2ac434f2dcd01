package main

import (
	"context"

	"github.com/authkit-go/authkit/jwt"
)

// signingKeys loads the access-token signing keys from path, encrypted
// under kek, or creates and saves an ES256 key on the first start. Several
// instances must share the file (or another jwt.KeySource, such as a
// secret manager), and one instance must create it before the others start.
func signingKeys(ctx context.Context, path string, kek []byte) (*jwt.KeySet, error) {
	src, err := jwt.NewFileKeySource(jwt.FileKeySourceConfig{Path: path, KEK: kek})
	if err != nil {
		return nil, err
	}
	keys, found, err := jwt.LoadKeySet(ctx, src, jwt.KeySetConfig{})
	if err != nil || found {
		return keys, err
	}
	k, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		return nil, err
	}
	if keys, err = jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{k}}); err != nil {
		return nil, err
	}
	return keys, keys.Save(ctx, src)
}
