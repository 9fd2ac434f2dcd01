package redisstore

import (
	"context"

	"github.com/authkit-go/authkit/oauth"
)

// OAuthStates is the Redis [oauth.StateStore]: the string <prefix>os:<state>
// holds an encoded [oauth.Pending] (including the PKCE verifier, a secret
// that this package never logs) and expires at its Expiry. Take is one
// GETDEL, so a state is spent at most once (RFC 9700 §4.7).
type OAuthStates struct{ s *Store }

var _ oauth.StateStore = (*OAuthStates)(nil)

// OAuthStates returns the [oauth.StateStore] adapter.
func (s *Store) OAuthStates() *OAuthStates { return &OAuthStates{s} }

// Save implements [oauth.StateStore]: one SET with PX (the lifetime
// left by Config.Now, counted on Redis's clock), or a DEL when p.Expiry is
// not after Config.Now.
func (x *OAuthStates) Save(ctx context.Context, state string, p oauth.Pending) error {
	e := newEnc(len(p.Verifier) + len(p.Nonce) + len(p.RedirectURI) + len(p.ReturnTo) + 16)
	e.str(p.Verifier)
	e.str(p.Nonce)
	e.str(p.RedirectURI)
	e.str(p.ReturnTo)
	e.time(p.Expiry)
	return x.s.setOrDelete(ctx, "oauth state save", x.s.key("os", state), e.b, p.Expiry)
}

// Take implements [oauth.StateStore]: one GETDEL.
func (x *OAuthStates) Take(ctx context.Context, state string) (oauth.Pending, bool, error) {
	b, found, err := x.s.take(ctx, "oauth state take", x.s.key("os", state))
	if err != nil || !found {
		return oauth.Pending{}, false, err
	}
	d := newDec(b)
	p := oauth.Pending{Verifier: d.str(), Nonce: d.str(), RedirectURI: d.str(), ReturnTo: d.str(), Expiry: d.time()}
	if err := d.done(); err != nil {
		return oauth.Pending{}, false, wrap("oauth state take", err)
	}
	if !p.Expiry.After(x.s.now()) {
		return oauth.Pending{}, false, nil
	}
	return p, true, nil
}
