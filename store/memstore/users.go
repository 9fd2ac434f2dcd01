package memstore

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/authkit-go/authkit"
)

// Users is an in-memory [authkit.UserStore], keyed by ID with a unique index
// on the login name. Records are copied in and out, so callers cannot change
// stored users through a returned slice.
type Users struct {
	mu      sync.RWMutex
	byID    map[string]authkit.User
	byLogin map[string]string // login -> ID
}

// newUsers returns an empty [Users].
func newUsers() *Users {
	return &Users{byID: map[string]authkit.User{}, byLogin: map[string]string{}}
}

var _ authkit.UserStore = (*Users)(nil)

func cloneUser(u authkit.User) authkit.User {
	u.Roles = slices.Clone(u.Roles)
	return u
}

// UserByLogin implements [authkit.UserStore].
func (s *Users) UserByLogin(ctx context.Context, login string) (authkit.User, bool, error) {
	if err := ctx.Err(); err != nil {
		return authkit.User{}, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byLogin[login]
	if !ok {
		return authkit.User{}, false, nil
	}
	return cloneUser(s.byID[id]), true, nil
}

// UserByID implements [authkit.UserStore].
func (s *Users) UserByID(ctx context.Context, id string) (authkit.User, bool, error) {
	if err := ctx.Err(); err != nil {
		return authkit.User{}, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.byID[id]
	if !ok {
		return authkit.User{}, false, nil
	}
	return cloneUser(u), true, nil
}

// CreateUser implements [authkit.UserStore]. It fails with
// [authkit.ErrLoginTaken] when the login (Email) is registered, and with an
// error when the ID is empty or already used.
func (s *Users) CreateUser(ctx context.Context, u authkit.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if u.ID == "" {
		return fmt.Errorf("memstore: user ID is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byLogin[u.Email]; ok {
		return authkit.ErrLoginTaken
	}
	if _, ok := s.byID[u.ID]; ok {
		return fmt.Errorf("memstore: user ID %q already exists", u.ID)
	}
	s.byID[u.ID] = cloneUser(u)
	s.byLogin[u.Email] = u.ID
	return nil
}

// SetPasswordHash implements [authkit.UserStore]. Setting the hash of an
// unknown user is an error.
func (s *Users) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return s.UpdateUser(ctx, userID, func(u *authkit.User) { u.PasswordHash = hash })
}

// UpdateUser applies fn to the stored user atomically (roles, email
// verification, disabling). fn must not change ID or Email; changes to them
// are rejected.
func (s *Users) UpdateUser(ctx context.Context, userID string, fn func(*authkit.User)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byID[userID]
	if !ok {
		return fmt.Errorf("memstore: no user %q", userID)
	}
	next := cloneUser(u)
	fn(&next)
	if next.ID != u.ID || next.Email != u.Email {
		return fmt.Errorf("memstore: UpdateUser cannot change ID or Email")
	}
	s.byID[userID] = cloneUser(next)
	return nil
}

// SetEmail changes a user's login name (Email) to login, which the caller
// has canonicalized ([authkit.CanonicalLogin]), and clears EmailVerified:
// the new address is unproven. It fails with [authkit.ErrLoginTaken] when
// another user has login, and with an error for an unknown user.
func (s *Users) SetEmail(ctx context.Context, userID, login string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byID[userID]
	if !ok {
		return fmt.Errorf("memstore: no user %q", userID)
	}
	if u.Email == login {
		return nil
	}
	if _, taken := s.byLogin[login]; taken {
		return authkit.ErrLoginTaken
	}
	delete(s.byLogin, u.Email)
	u.Email, u.EmailVerified = login, false
	s.byID[userID] = u
	s.byLogin[login] = userID
	return nil
}

// Len returns the number of users.
func (s *Users) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID)
}
