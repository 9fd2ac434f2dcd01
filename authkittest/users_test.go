package authkittest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/internal/suite"
)

// refUsers is a correct UserStore and UserUpdater; flaw switches on one
// defect at a time.
type refUsers struct {
	flaw string
	mu   sync.Mutex
	byID map[string]authkit.User
}

func newRefUsers(flaw string) *refUsers {
	return &refUsers{flaw: flaw, byID: map[string]authkit.User{}}
}

func (s *refUsers) ctxErr(ctx context.Context) error {
	if s.flaw == "ignoreCtx" {
		return nil
	}
	return ctx.Err()
}

func (s *refUsers) out(u authkit.User) authkit.User {
	switch s.flaw {
	case "dropsMFA":
		u.MFAEnabled = false
	case "dropsDisabled":
		u.Disabled = false
	case "dropsVerified":
		u.EmailVerified = false
	case "createdAtDay":
		u.CreatedAt = u.CreatedAt.Truncate(24 * time.Hour)
	case "sortsRoles":
		u.Roles = slices.Sorted(slices.Values(u.Roles))
	case "dedupRoles":
		u.Roles = slices.Compact(slices.Clone(u.Roles))
	}
	if s.flaw != "aliasing" {
		u.Roles = slices.Clone(u.Roles)
	}
	return u
}

func (s *refUsers) match(stored, login string) bool {
	switch s.flaw {
	case "likeMatch": // an unescaped LIKE: % and _ are wildcards
		return likeMatch(stored, login)
	case "prefixMatch":
		return login != "" && strings.HasPrefix(stored, login)
	}
	return stored == login
}

func likeMatch(s, p string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if likeMatch(s[i:], p[1:]) {
				return true
			}
		}
		return false
	case '_':
		return s != "" && likeMatch(s[1:], p[1:])
	}
	return s != "" && s[0] == p[0] && likeMatch(s[1:], p[1:])
}

func (s *refUsers) UserByLogin(ctx context.Context, login string) (authkit.User, bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return authkit.User{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range s.byID {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		if u := s.byID[id]; s.match(u.Email, login) {
			return s.out(u), true, nil
		}
	}
	if s.flaw == "missingIsError" {
		return authkit.User{}, false, errors.New("not found")
	}
	return authkit.User{}, false, nil
}

func (s *refUsers) UserByID(ctx context.Context, id string) (authkit.User, bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return authkit.User{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byID[id]
	if !ok {
		if s.flaw == "missingIsError" {
			return authkit.User{}, false, errors.New("not found")
		}
		return authkit.User{}, false, nil
	}
	return s.out(u), true, nil
}

func (s *refUsers) taken(login string) bool {
	for _, u := range s.byID {
		if u.Email == login {
			return true
		}
	}
	return false
}

func (s *refUsers) CreateUser(ctx context.Context, u authkit.User) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	if s.flaw == "racyCreate" { // check, then insert in another step
		s.mu.Lock()
		taken := s.taken(u.Email)
		s.mu.Unlock()
		if taken {
			return authkit.ErrLoginTaken
		}
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flaw != "racyCreate" && s.taken(u.Email) {
		if s.flaw == "takenNotSentinel" {
			return errors.New("duplicate key")
		}
		if s.flaw == "takenOverwrites" {
			for id, v := range s.byID {
				if v.Email == u.Email {
					delete(s.byID, id)
				}
			}
			s.byID[u.ID] = u
			return nil
		}
		return authkit.ErrLoginTaken
	}
	if s.flaw != "aliasing" {
		u.Roles = slices.Clone(u.Roles)
	}
	s.byID[u.ID] = u
	return nil
}

func (s *refUsers) SetPasswordHash(ctx context.Context, userID, hash string) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flaw == "setHashAll" {
		for id, u := range s.byID {
			u.PasswordHash = hash
			s.byID[id] = u
		}
		return nil
	}
	u, ok := s.byID[userID]
	if !ok && s.flaw != "upsert" {
		return errors.New("no such user")
	}
	u.ID, u.PasswordHash = userID, hash
	s.byID[userID] = u
	return nil
}

func (s *refUsers) UpdateUser(ctx context.Context, userID string, fn func(*authkit.User)) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	if s.flaw == "racyUpdate" { // read, modify, write without a lock held
		s.mu.Lock()
		u, ok := s.byID[userID]
		s.mu.Unlock()
		if !ok {
			return errors.New("no such user")
		}
		u.Roles = slices.Clone(u.Roles)
		fn(&u)
		time.Sleep(time.Millisecond)
		s.mu.Lock()
		s.byID[userID] = u
		s.mu.Unlock()
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byID[userID]
	if !ok {
		if s.flaw == "upsert" {
			u = authkit.User{ID: userID}
			fn(&u)
			s.byID[userID] = u
			return nil
		}
		return errors.New("no such user")
	}
	u.Roles = slices.Clone(u.Roles)
	fn(&u)
	if s.flaw == "updateNoop" {
		return nil
	}
	s.byID[userID] = u
	return nil
}

func TestSuiteRejectsBrokenUserStores(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flaw  string
		cases []string
	}{
		{"", nil},
		{"missingIsError", []string{"FindMissing"}},
		{"dropsMFA", []string{"MFAEnabled"}},
		{"dropsDisabled", []string{"RoundTrip", "UpdateUser"}},
		{"dropsVerified", []string{"RoundTrip", "UpdateUser"}},
		{"createdAtDay", []string{"RoundTrip"}},
		{"sortsRoles", []string{"Roles"}},
		{"dedupRoles", []string{"Roles"}},
		{"aliasing", []string{"NoAliasing"}},
		{"takenNotSentinel", []string{"LoginTaken", "ConcurrentCreate"}},
		{"takenOverwrites", []string{"LoginTaken", "ConcurrentCreate"}},
		{"racyCreate", []string{"ConcurrentCreate"}},
		{"setHashAll", []string{"SetPasswordHash"}},
		{"upsert", []string{"SetPasswordHash", "UpdateMissing"}},
		{"likeMatch", []string{"LiteralLogins"}},
		{"prefixMatch", []string{"LiteralLogins"}},
		{"updateNoop", []string{"UpdateUser", "ConcurrentUpdate", "MFAEnabled"}},
		{"racyUpdate", []string{"ConcurrentUpdate"}},
		{"ignoreCtx", []string{"CancelledContext"}},
	}
	for _, tt := range tests {
		name := tt.flaw
		if name == "" {
			name = "reference"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := authkittest.TestUserStore(func() (authkit.UserStore, error) { return newRefUsers(tt.flaw), nil })
			suite.WantFailed(t, err, tt.cases...)
		})
	}
}

// The reference store passes through the subtest runner too, and
// NoMFAFlag skips only the MFAEnabled case.
func TestRunUserStoreHarness(t *testing.T) {
	authkittest.RunUserStore(t, func(*testing.T) authkit.UserStore { return newRefUsers("") })
	t.Run("NoMFAFlag", func(t *testing.T) {
		authkittest.RunUserStoreHarness(t, authkittest.UserStoreHarness{
			New:       func(*testing.T) authkit.UserStore { return newRefUsers("dropsMFA") },
			NoMFAFlag: true,
		})
	})
}

// onlyUserStore hides UpdateUser: the UserUpdater cases then pass without
// checking anything, since the interface is optional.
type onlyUserStore struct{ s *refUsers }

func (o onlyUserStore) UserByLogin(ctx context.Context, l string) (authkit.User, bool, error) {
	return o.s.UserByLogin(ctx, l)
}
func (o onlyUserStore) UserByID(ctx context.Context, id string) (authkit.User, bool, error) {
	return o.s.UserByID(ctx, id)
}
func (o onlyUserStore) CreateUser(ctx context.Context, u authkit.User) error {
	return o.s.CreateUser(ctx, u)
}
func (o onlyUserStore) SetPasswordHash(ctx context.Context, id, h string) error {
	return o.s.SetPasswordHash(ctx, id, h)
}

func TestUserUpdaterIsOptional(t *testing.T) {
	t.Parallel()
	err := authkittest.TestUserStore(func() (authkit.UserStore, error) { return onlyUserStore{newRefUsers("")}, nil })
	if err != nil {
		t.Fatalf("a store without UserUpdater failed: %v", err)
	}
	// And the UserUpdater defects go unnoticed there, as they must.
	err = authkittest.TestUserStore(func() (authkit.UserStore, error) { return onlyUserStore{newRefUsers("racyUpdate")}, nil })
	if err != nil {
		t.Fatalf("a store without UserUpdater failed: %v", err)
	}
}
