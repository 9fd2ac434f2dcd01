package memstore

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/passkey"
)

// Tickets is the in-memory [authkit.TicketStore]: single-use records by
// purpose and key with an expiry, for reset and verification links, OAuth
// state, MFA challenges and passkey ceremonies alike. Take is atomic under
// one mutex. Expired records are dropped when touched or by
// [Tickets.Purge]. Get one from [Store.Tickets].
type Tickets struct {
	now func() time.Time

	mu sync.Mutex
	m  map[ticketKey]ticketRecord
}

type ticketKey struct{ purpose, key string }

type ticketRecord struct {
	data   []byte
	expiry time.Time
}

var (
	_ authkit.TicketStore = (*Tickets)(nil)
	_ mfa.TicketStore     = (*Tickets)(nil)
	_ oauth.TicketStore   = (*Tickets)(nil)
	_ passkey.TicketStore = (*Tickets)(nil)
)

// newTickets returns an empty ticket store. now returns the current time
// and decides expiry; nil means time.Now (tests inject a fake clock).
func newTickets(now func() time.Time) *Tickets {
	if now == nil {
		now = time.Now
	}
	return &Tickets{now: now, m: map[ticketKey]ticketRecord{}}
}

// Put implements [authkit.TicketStore]. It keeps its own copy of data; a
// record already expired is not kept (and removes the one it would replace).
func (s *Tickets) Put(ctx context.Context, purpose, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := ticketKey{purpose, key}
	if !s.now().Before(expiry) {
		delete(s.m, k)
		return nil
	}
	s.m[k] = ticketRecord{data: bytes.Clone(data), expiry: expiry}
	return nil
}

// Take implements [authkit.TicketStore]: it returns and deletes the record
// in one critical section.
func (s *Tickets) Take(ctx context.Context, purpose, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := ticketKey{purpose, key}
	r, ok := s.m[k]
	if !ok {
		return nil, false, nil
	}
	delete(s.m, k)
	if !s.now().Before(r.expiry) {
		return nil, false, nil
	}
	return r.data, true, nil
}

// Purge drops expired records and returns how many it removed.
func (s *Tickets) Purge() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, n := s.now(), 0
	for k, r := range s.m {
		if !now.Before(r.expiry) {
			delete(s.m, k)
			n++
		}
	}
	return n
}

// Len returns the number of stored tickets, expired ones included until
// purged.
func (s *Tickets) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
