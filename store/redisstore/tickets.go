package redisstore

import (
	"context"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/passkey"
)

// Tickets is the Redis [authkit.TicketStore], one store for every purpose
// (reset and verification links, OAuth state, MFA challenges, passkey
// ceremonies). The string <prefix>tk:<purpose>:<key> (each part escaped,
// so no two (purpose, key) pairs share a key and no part adds a hash tag)
// holds the expiry and the data, and expires after the time left until the
// expiry by Config.Now, counted on Redis's own clock: a server clock
// running ahead cannot drop a record early. Every command touches one key,
// so the store works on a Redis Cluster unchanged. Take is one GETDEL
// (Redis 6.2 or newer), atomic by itself.
type Tickets struct{ s *Store }

var (
	_ authkit.TicketStore = (*Tickets)(nil)
	_ mfa.TicketStore     = (*Tickets)(nil)
	_ oauth.TicketStore   = (*Tickets)(nil)
	_ passkey.TicketStore = (*Tickets)(nil)
)

// Tickets returns the [authkit.TicketStore] adapter.
func (s *Store) Tickets() *Tickets { return &Tickets{s} }

func (x *Tickets) key(purpose, key string) string {
	return x.s.prefix + "tk:" + esc(purpose) + ":" + esc(key)
}

// Put implements [authkit.TicketStore]: one SET with PX (expiry minus
// Config.Now), or a DEL when expiry is not after Config.Now, so a record
// already expired is never stored and the one it replaces is gone.
func (x *Tickets) Put(ctx context.Context, purpose, key string, data []byte, expiry time.Time) error {
	e := newEnc(len(data) + 16)
	e.time(expiry)
	e.bytes(data)
	return x.s.setOrDelete(ctx, "ticket put", x.key(purpose, key), e.b, expiry)
}

// Take implements [authkit.TicketStore]: one GETDEL. A record whose expiry
// has passed by Config.Now is not found even if Redis still held it.
func (x *Tickets) Take(ctx context.Context, purpose, key string) ([]byte, bool, error) {
	b, found, err := x.s.take(ctx, "ticket take", x.key(purpose, key))
	if err != nil || !found {
		return nil, false, err
	}
	d := newDec(b)
	exp, data := d.time(), d.bytes()
	if err := d.done(); err != nil {
		return nil, false, wrap("ticket take", err)
	}
	if !exp.After(x.s.now()) {
		return nil, false, nil
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}
