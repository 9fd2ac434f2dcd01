package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authkit-go/authkit/oauth"
)

// OAuthStates is the SQL [oauth.StateStore]. Take is one
// DELETE … RETURNING, so a state is consumed at most once even when the
// callback is replayed concurrently (RFC 9700 §4.7, RFC 6749 §10.12). The
// PKCE verifier it holds is a secret: back up and log this table
// accordingly.
type OAuthStates struct{ s *Store }

var _ oauth.StateStore = (*OAuthStates)(nil)

// OAuthStates returns the [oauth.StateStore] adapter.
func (s *Store) OAuthStates() *OAuthStates { return &OAuthStates{s} }

// Save implements [oauth.StateStore].
func (x *OAuthStates) Save(ctx context.Context, state string, p oauth.Pending) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	_, err := x.s.db.ExecContext(ctx, x.s.q.stateSave, key(state), key(p.Verifier), key(p.Nonce),
		key(p.RedirectURI), key(p.ReturnTo), p.Expiry.UnixMicro())
	return wrap("oauth state save", err)
}

// Take implements [oauth.StateStore]. An expired row is deleted and
// reported missing.
func (x *OAuthStates) Take(ctx context.Context, state string) (oauth.Pending, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	var verifier, nonce, redirect, returnTo []byte
	var exp int64
	err := x.s.db.QueryRowContext(ctx, x.s.q.stateTake, key(state)).Scan(&verifier, &nonce, &redirect, &returnTo, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return oauth.Pending{}, false, nil
	}
	if err != nil {
		return oauth.Pending{}, false, wrap("oauth state take", err)
	}
	if exp <= x.s.nowMicros() {
		return oauth.Pending{}, false, nil
	}
	return oauth.Pending{Verifier: string(verifier), Nonce: string(nonce), RedirectURI: string(redirect),
		ReturnTo: string(returnTo), Expiry: time.UnixMicro(exp)}, true, nil
}
