package redisstore

import (
	"context"

	"github.com/authkit-go/authkit"
)

// OneTimeTokens is the Redis [authkit.OneTimeTokenStore]: the string
// <prefix>ot:<hash> holds an encoded [authkit.OneTimeToken] and expires at
// its Expiry. Take is one GETDEL, so a token is spent at most once.
type OneTimeTokens struct{ s *Store }

var _ authkit.OneTimeTokenStore = (*OneTimeTokens)(nil)

// OneTimeTokens returns the [authkit.OneTimeTokenStore] adapter.
func (s *Store) OneTimeTokens() *OneTimeTokens { return &OneTimeTokens{s} }

// Save implements [authkit.OneTimeTokenStore]: one SET with PX (the
// lifetime left by Config.Now, counted on Redis's clock), or a DEL when
// t.Expiry is not after Config.Now.
func (x *OneTimeTokens) Save(ctx context.Context, tokenHash string, t authkit.OneTimeToken) error {
	e := newEnc(len(t.Purpose) + len(t.UserID) + len(t.Email) + 16)
	e.str(t.Purpose)
	e.str(t.UserID)
	e.str(t.Email)
	e.time(t.Expiry)
	return x.s.setOrDelete(ctx, "one-time token save", x.s.key("ot", tokenHash), e.b, t.Expiry)
}

// Take implements [authkit.OneTimeTokenStore]: one GETDEL.
func (x *OneTimeTokens) Take(ctx context.Context, tokenHash string) (authkit.OneTimeToken, bool, error) {
	b, found, err := x.s.take(ctx, "one-time token take", x.s.key("ot", tokenHash))
	if err != nil || !found {
		return authkit.OneTimeToken{}, false, err
	}
	d := newDec(b)
	t := authkit.OneTimeToken{Purpose: d.str(), UserID: d.str(), Email: d.str(), Expiry: d.time()}
	if err := d.done(); err != nil {
		return authkit.OneTimeToken{}, false, wrap("one-time token take", err)
	}
	if !t.Expiry.After(x.s.now()) {
		return authkit.OneTimeToken{}, false, nil
	}
	return t, true, nil
}
