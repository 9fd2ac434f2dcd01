package passkeytest_test

import (
	"context"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/memstore"
)

// Each flawed store breaks one rule of the contract; the suite must name
// the case that catches it.

type addReplaces struct{ *memstore.Passkeys }

func (s addReplaces) Add(ctx context.Context, c passkey.Credential) (bool, error) {
	if old, found, _ := s.Get(ctx, c.ID); found {
		_, _ = s.Passkeys.Remove(ctx, old.UserID, c.ID, false)
	}
	return s.Passkeys.Add(ctx, c)
}

type updateWithoutCAS struct{ *memstore.Passkeys }

func (s updateWithoutCAS) UpdateUse(ctx context.Context, id []byte, _ uint32, u passkey.Use) (bool, error) {
	c, found, err := s.Get(ctx, id)
	if err != nil || !found {
		return false, err
	}
	return s.Passkeys.UpdateUse(ctx, id, c.SignCount, u)
}

type removeIgnoresKeepLast struct{ *memstore.Passkeys }

func (s removeIgnoresKeepLast) Remove(ctx context.Context, user string, id []byte, _ bool) (passkey.RemoveResult, error) {
	return s.Passkeys.Remove(ctx, user, id, false)
}

type renameAnyUser struct{ *memstore.Passkeys }

func (s renameAnyUser) Rename(ctx context.Context, _ string, id []byte, name string) (bool, error) {
	c, found, err := s.Get(ctx, id)
	if err != nil || !found {
		return false, err
	}
	return s.Passkeys.Rename(ctx, c.UserID, id, name)
}

func TestSuiteCatchesBrokenCredentialStores(t *testing.T) {
	cases := []struct {
		name  string
		store func() passkey.CredentialStore
		want  []string
	}{
		{"add replaces", func() passkey.CredentialStore { return addReplaces{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.AddDuplicate}},
		{"update without compare", func() passkey.CredentialStore { return updateWithoutCAS{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.UpdateUse}},
		{"remove ignores keepLast", func() passkey.CredentialStore { return removeIgnoresKeepLast{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.RemoveKeepLast, passkeytest.RaceRemoveKeepLast}},
		{"rename any user", func() passkey.CredentialStore { return renameAnyUser{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.Rename}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := passkeytest.Test(func() (passkey.CredentialStore, error) { return tc.store(), nil })
			suite.WantFailed(t, err, tc.want...)
		})
	}
	if err := passkeytest.Test(func() (passkey.CredentialStore, error) { return memtest.New(t, nil).Passkeys(), nil }); err != nil {
		t.Fatalf("memstore fails the suite: %v", err)
	}
}

type takeKeeps struct{ *memstore.Tickets }

func (s takeKeeps) Take(ctx context.Context, purpose, key string) ([]byte, bool, error) {
	data, found, err := s.Tickets.Take(ctx, purpose, key)
	if found {
		_ = s.Put(ctx, purpose, key, data, time.Now().Add(time.Minute))
	}
	return data, found, err
}

type ignoresPurpose struct{ *memstore.Tickets }

func (s ignoresPurpose) Put(ctx context.Context, _, key string, data []byte, exp time.Time) error {
	return s.Tickets.Put(ctx, "", key, data, exp)
}

func (s ignoresPurpose) Take(ctx context.Context, _, key string) ([]byte, bool, error) {
	return s.Tickets.Take(ctx, "", key)
}

func TestSuiteCatchesBrokenTicketStores(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a TTL")
	}
	cases := []struct {
		name  string
		store func() passkey.TicketStore
		want  []string
	}{
		{"take keeps", func() passkey.TicketStore { return takeKeeps{memtest.New(t, nil).Tickets()} }, []string{passkeytest.TicketTakeOnce, passkeytest.TicketRaceTake}},
		{"ignores purpose", func() passkey.TicketStore { return ignoresPurpose{memtest.New(t, nil).Tickets()} }, []string{passkeytest.TicketPurposes}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := passkeytest.TestTickets(func() (passkey.TicketStore, error) { return tc.store(), nil })
			suite.WantFailed(t, err, tc.want...)
		})
	}
}
