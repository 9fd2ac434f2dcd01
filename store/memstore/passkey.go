package memstore

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/authkit-go/authkit/passkey"
)

// Passkeys is the in-memory [passkey.CredentialStore]: credentials by id
// with a per-user index, every method atomic under one mutex. Use
// newPasskeys.
type Passkeys struct {
	mu     sync.Mutex
	byID   map[string]passkey.Credential
	byUser map[string]map[string]struct{} // userID -> set of credential ids
}

var _ passkey.CredentialStore = (*Passkeys)(nil)

// newPasskeys returns an empty passkey credential store.
func newPasskeys() *Passkeys {
	return &Passkeys{byID: map[string]passkey.Credential{}, byUser: map[string]map[string]struct{}{}}
}

func clonePasskey(c passkey.Credential) passkey.Credential {
	c.ID = bytes.Clone(c.ID)
	c.UserHandle = bytes.Clone(c.UserHandle)
	c.PublicKey = bytes.Clone(c.PublicKey)
	c.AAGUID = bytes.Clone(c.AAGUID)
	c.Transports = slices.Clone(c.Transports)
	return c
}

// userCreds returns the user's credentials oldest first; s.mu is held.
func (s *Passkeys) userCreds(userID string) []passkey.Credential {
	out := make([]passkey.Credential, 0, len(s.byUser[userID]))
	for id := range s.byUser[userID] {
		out = append(out, clonePasskey(s.byID[id]))
	}
	slices.SortFunc(out, func(a, b passkey.Credential) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), bytes.Compare(a.ID, b.ID))
	})
	return out
}

// List implements [passkey.CredentialStore].
func (s *Passkeys) List(ctx context.Context, userID string) ([]passkey.Credential, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userCreds(userID), nil
}

// Get implements [passkey.CredentialStore].
func (s *Passkeys) Get(ctx context.Context, credentialID []byte) (passkey.Credential, bool, error) {
	if err := ctx.Err(); err != nil {
		return passkey.Credential{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.byID[string(credentialID)]
	if !ok {
		return passkey.Credential{}, false, nil
	}
	return clonePasskey(c), true, nil
}

// Add implements [passkey.CredentialStore].
func (s *Passkeys) Add(ctx context.Context, c passkey.Credential) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := string(c.ID)
	if _, ok := s.byID[id]; ok {
		return false, nil
	}
	s.byID[id] = clonePasskey(c)
	set := s.byUser[c.UserID]
	if set == nil {
		set = map[string]struct{}{}
		s.byUser[c.UserID] = set
	}
	set[id] = struct{}{}
	return true, nil
}

// Rename implements [passkey.CredentialStore].
func (s *Passkeys) Rename(ctx context.Context, userID string, credentialID []byte, name string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.byID[string(credentialID)]
	if !ok || c.UserID != userID {
		return false, nil
	}
	c.Name = name
	s.byID[string(credentialID)] = c
	return true, nil
}

// Remove implements [passkey.CredentialStore].
func (s *Passkeys) Remove(ctx context.Context, userID string, credentialID []byte, keepLast bool) (passkey.RemoveResult, error) {
	if err := ctx.Err(); err != nil {
		return passkey.RemoveResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := string(credentialID)
	var res passkey.RemoveResult
	c, ok := s.byID[id]
	switch {
	case !ok || c.UserID != userID:
	case keepLast && len(s.byUser[userID]) == 1:
		res.Last = true
	default:
		delete(s.byID, id)
		delete(s.byUser[userID], id)
		if len(s.byUser[userID]) == 0 {
			delete(s.byUser, userID)
		}
		res.Removed = true
	}
	for _, c := range s.userCreds(userID) {
		res.Remaining = append(res.Remaining, c.ID)
	}
	return res, nil
}

// UpdateUse implements [passkey.CredentialStore].
func (s *Passkeys) UpdateUse(ctx context.Context, credentialID []byte, prevSignCount uint32, u passkey.Use) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.byID[string(credentialID)]
	if !ok || c.SignCount != prevSignCount {
		return false, nil
	}
	c.SignCount, c.LastUsedAt, c.UserVerified = u.SignCount, u.LastUsedAt, u.UserVerified
	c.BackupEligible, c.BackupState = u.BackupEligible, u.BackupState
	s.byID[string(credentialID)] = c
	return true, nil
}
