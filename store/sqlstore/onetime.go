package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authkit-go/authkit"
)

// OneTimeTokens is the SQL [authkit.OneTimeTokenStore] for password-reset
// and email-verification tokens, keyed by the token's hash.
// Take is one DELETE … RETURNING: a token is spent at most once.
type OneTimeTokens struct{ s *Store }

var _ authkit.OneTimeTokenStore = (*OneTimeTokens)(nil)

// OneTimeTokens returns the [authkit.OneTimeTokenStore] adapter.
func (s *Store) OneTimeTokens() *OneTimeTokens { return &OneTimeTokens{s} }

// Save implements [authkit.OneTimeTokenStore].
func (x *OneTimeTokens) Save(ctx context.Context, tokenHash string, t authkit.OneTimeToken) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	_, err := x.s.db.ExecContext(ctx, x.s.q.oneTimeSave, key(tokenHash), key(t.Purpose), key(t.UserID), key(t.Email), t.Expiry.UnixMicro())
	return wrap("one-time token save", err)
}

// Take implements [authkit.OneTimeTokenStore]. An expired row is deleted
// and reported missing.
func (x *OneTimeTokens) Take(ctx context.Context, tokenHash string) (authkit.OneTimeToken, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	var purpose, user, email []byte
	var exp int64
	err := x.s.db.QueryRowContext(ctx, x.s.q.oneTimeTake, key(tokenHash)).Scan(&purpose, &user, &email, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.OneTimeToken{}, false, nil
	}
	if err != nil {
		return authkit.OneTimeToken{}, false, wrap("one-time token take", err)
	}
	if exp <= x.s.nowMicros() {
		return authkit.OneTimeToken{}, false, nil
	}
	return authkit.OneTimeToken{Purpose: string(purpose), UserID: string(user), Email: string(email), Expiry: time.UnixMicro(exp)}, true, nil
}
