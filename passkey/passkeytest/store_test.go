package passkeytest_test

import (
	"context"
	"strings"
	"sync"
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

// checkThenRemove counts the user's credentials and then deletes without
// keepLast: the check and the delete are two steps. Two removals that both
// counted two credentials wait for each other in between, so the
// interleaving that breaks keepLast is certain rather than likely (a caller
// with no partner goes on after a second).
type checkThenRemove struct {
	*memstore.Passkeys
	mu      sync.Mutex
	waiting chan struct{}
}

func (s *checkThenRemove) Remove(ctx context.Context, user string, id []byte, keepLast bool) (passkey.RemoveResult, error) {
	if keepLast {
		list, err := s.List(ctx, user)
		if err != nil {
			return passkey.RemoveResult{}, err
		}
		if len(list) == 1 {
			return s.Passkeys.Remove(ctx, user, id, true)
		}
		if len(list) == 2 {
			s.pair()
		}
	}
	return s.Passkeys.Remove(ctx, user, id, false)
}

func (s *checkThenRemove) pair() {
	s.mu.Lock()
	if s.waiting != nil {
		close(s.waiting)
		s.waiting = nil
		s.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	s.waiting = ch
	s.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(time.Second):
		s.mu.Lock()
		if s.waiting == ch {
			s.waiting = nil
		}
		s.mu.Unlock()
	}
}

type renameAnyUser struct{ *memstore.Passkeys }

func (s renameAnyUser) Rename(ctx context.Context, _ string, id []byte, name string) (bool, error) {
	c, found, err := s.Get(ctx, id)
	if err != nil || !found {
		return false, err
	}
	return s.Passkeys.Rename(ctx, c.UserID, id, name)
}

// removeAnyUser removes a credential for whoever owns it, not only for
// the user named.
type removeAnyUser struct{ *memstore.Passkeys }

func (s removeAnyUser) Remove(ctx context.Context, user string, id []byte, keepLast bool) (passkey.RemoveResult, error) {
	if c, found, err := s.Get(ctx, id); err == nil && found {
		user = c.UserID
	}
	return s.Passkeys.Remove(ctx, user, id, keepLast)
}

// bracesDropped keys users by their id without hash-tag braces, so "a}"
// and "a" share one set of credentials.
type bracesDropped struct{ *memstore.Passkeys }

func (s bracesDropped) Add(ctx context.Context, c passkey.Credential) (bool, error) {
	c.UserID = strings.Trim(c.UserID, "{}")
	return s.Passkeys.Add(ctx, c)
}

func (s bracesDropped) List(ctx context.Context, user string) ([]passkey.Credential, error) {
	return s.Passkeys.List(ctx, strings.Trim(user, "{}"))
}

func (s bracesDropped) Remove(ctx context.Context, user string, id []byte, keepLast bool) (passkey.RemoveResult, error) {
	return s.Passkeys.Remove(ctx, strings.Trim(user, "{}"), id, keepLast)
}

func TestSuiteCatchesBrokenCredentialStores(t *testing.T) {
	cases := []struct {
		name  string
		store func() passkey.CredentialStore
		want  []string
	}{
		{"add replaces", func() passkey.CredentialStore { return addReplaces{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.AddDuplicate}},
		{"update without compare", func() passkey.CredentialStore { return updateWithoutCAS{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.UpdateUse}},
		{"remove ignores keepLast", func() passkey.CredentialStore { return removeIgnoresKeepLast{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.RemoveKeepLast, passkeytest.RaceRemoveKeepLast, passkeytest.RaceRemoveLastTwo}},
		{"keepLast checked apart from the delete", func() passkey.CredentialStore { return &checkThenRemove{Passkeys: memtest.New(t, nil).Passkeys()} }, []string{passkeytest.RaceRemoveLastTwo}},
		{"rename any user", func() passkey.CredentialStore { return renameAnyUser{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.Rename}},
		{"remove any user", func() passkey.CredentialStore { return removeAnyUser{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.ReaddByOtherUser}},
		{"user ids without braces", func() passkey.CredentialStore { return bracesDropped{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.OddUserIDs}},
		{"add replaces (race)", func() passkey.CredentialStore { return addReplaces{memtest.New(t, nil).Passkeys()} }, []string{passkeytest.RaceAddSameID}},
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
