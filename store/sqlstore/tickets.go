package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/passkey"
)

// Tickets is the SQL [authkit.TicketStore], one table for every purpose
// (reset and verification links, OAuth state, MFA challenges, passkey
// ceremonies): a row per (purpose, key) with the data and its expiry.
// Purpose and key are compared as bytes, so no character in them means
// anything to SQL. Take is one DELETE … RETURNING, so of concurrent Takes
// exactly one gets the row; expiry is decided by Config.Now and expired
// rows are removed by Take or [Store.Purge].
type Tickets struct{ s *Store }

var (
	_ authkit.TicketStore = (*Tickets)(nil)
	_ mfa.TicketStore     = (*Tickets)(nil)
	_ oauth.TicketStore   = (*Tickets)(nil)
	_ passkey.TicketStore = (*Tickets)(nil)
)

// Tickets returns the [authkit.TicketStore] adapter.
func (s *Store) Tickets() *Tickets { return &Tickets{s} }

// ceilMicros is t in Unix microseconds, rounded up so a record is never
// taken for expired before its expiry.
func ceilMicros(t time.Time) int64 {
	m := t.UnixMicro()
	if time.UnixMicro(m).Before(t) {
		m++
	}
	return m
}

// Put implements [authkit.TicketStore]: one upsert, or, when expiry is not
// after Config.Now, one DELETE, so an expired record is never stored and
// the one it replaces is gone.
func (x *Tickets) Put(ctx context.Context, purpose, k string, data []byte, expiry time.Time) error {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	exp := ceilMicros(expiry)
	var err error
	if exp <= x.s.nowMicros() {
		_, err = x.s.db.ExecContext(ctx, x.s.q.ticketDelete, key(purpose), key(k))
	} else {
		_, err = x.s.db.ExecContext(ctx, x.s.q.ticketPut, key(purpose), key(k), blob(data), exp)
	}
	return wrap("ticket put", err)
}

// Take implements [authkit.TicketStore]: one DELETE … RETURNING. An
// expired row is deleted and reported missing.
func (x *Tickets) Take(ctx context.Context, purpose, k string) ([]byte, bool, error) {
	ctx, cancel := x.s.bound(ctx)
	defer cancel()
	var live bool
	var data []byte
	err := x.s.db.QueryRowContext(ctx, x.s.q.ticketTake, key(purpose), key(k), x.s.nowMicros()).Scan(&live, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap("ticket take", err)
	}
	if !live {
		return nil, false, nil
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}
