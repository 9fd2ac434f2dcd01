package authkittest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/suite"
)

// UserStoreHarness describes an [authkit.UserStore] for [RunUserStoreHarness].
type UserStoreHarness struct {
	// New returns an empty, isolated store (for a database: its own table
	// or schema) and registers its cleanup with t.Cleanup. Required.
	New func(t *testing.T) authkit.UserStore
	// NoMFAFlag skips the MFAEnabled case, with its reason in the test
	// output, for a store that does not keep [authkit.User].MFAEnabled yet.
	// It is a temporary capability for adapters being migrated: the login
	// flow needs the flag kept durably whenever MFA is configured, so a
	// store that sets it is not ready for MFA.
	NoMFAFlag bool
}

// mfaFlagCase is the case [UserStoreHarness.NoMFAFlag] skips.
const mfaFlagCase = "MFAEnabled"

var userCases = []suite.Case[authkit.UserStore]{
	{Name: "FindMissing", Check: userFindMissing},
	{Name: "RoundTrip", Check: userRoundTrip},
	{Name: mfaFlagCase, Check: userMFAFlag},
	{Name: "Roles", Check: userRoles},
	{Name: "NoAliasing", Check: userNoAliasing},
	{Name: "LoginTaken", Check: userLoginTaken},
	{Name: "ConcurrentCreate", Check: userConcurrentCreate},
	{Name: "SetPasswordHash", Check: userSetPasswordHash},
	{Name: "LiteralLogins", Check: userLiteralLogins},
	{Name: "UpdateUser", Check: userUpdate},
	{Name: "UpdateMissing", Check: userUpdateMissing},
	{Name: "ConcurrentUpdate", Check: userConcurrentUpdate},
	{Name: "CancelledContext", Check: userCancelled},
}

// RunUserStore runs the [authkit.UserStore] conformance cases, each in its
// own parallel subtest: reads return found=false and a nil error for a
// missing user, every User field round-trips, CreateUser refuses a taken
// login atomically with [authkit.ErrLoginTaken], SetPasswordHash, logins
// are matched literally, a cancelled context is an error, and, when the
// store implements [authkit.UserUpdater], UpdateUser applies concurrent
// changes without losing any. newStore is called once per case and
// returns an empty, isolated store.
//
// A host application runs it against its own implementation over its own
// table, as the store adapters do.
func RunUserStore(t *testing.T, newStore func(t *testing.T) authkit.UserStore) {
	t.Helper()
	RunUserStoreHarness(t, UserStoreHarness{New: newStore})
}

// RunUserStoreHarness is [RunUserStore] with the options of h.
func RunUserStoreHarness(t *testing.T, h UserStoreHarness) {
	t.Helper()
	users := suite.Suite[authkit.UserStore]{Name: "authkittest", Cases: userCases}
	if h.NoMFAFlag {
		users.Skip = map[string]string{mfaFlagCase: "the harness declares NoMFAFlag: this store does not keep User.MFAEnabled yet"}
	}
	users.Run(t, h.New)
}

// TestUserStore runs the same cases concurrently without subtests and
// returns errors.Join of the failures, each prefixed with its case name.
func TestUserStore(newStore func() (authkit.UserStore, error)) error {
	return suite.Suite[authkit.UserStore]{Name: "authkittest", Cases: userCases}.Test(newStore)
}

// sameUser compares every field but MFAEnabled (its own case), CreatedAt
// to the second (stores may keep seconds or microseconds), and nil and
// empty Roles as equal.
func sameUser(got, want authkit.User) error {
	d := got.CreatedAt.Sub(want.CreatedAt)
	if got.ID != want.ID || got.Email != want.Email || got.EmailVerified != want.EmailVerified ||
		got.PasswordHash != want.PasswordHash || !slices.Equal(got.Roles, want.Roles) ||
		got.Disabled != want.Disabled || d <= -time.Second || d >= time.Second {
		return fmt.Errorf("got %+v, want %+v", got, want)
	}
	return nil
}

func mustGet(ctx context.Context, s authkit.UserStore, id string) (authkit.User, error) {
	u, found, err := s.UserByID(ctx, id)
	if err != nil || !found {
		return u, fmt.Errorf("UserByID(%q) = found %v, err %v; want the user", id, found, err)
	}
	return u, nil
}

func userFindMissing(ctx context.Context, s authkit.UserStore) error {
	var errs []error
	if u, found, err := s.UserByID(ctx, "authkittest-missing"); found || err != nil || u.ID != "" {
		errs = append(errs, fmt.Errorf("UserByID(missing) = %+v, found %v, err %v; want zero, false, nil", u, found, err))
	}
	if u, found, err := s.UserByLogin(ctx, "missing@example.com"); found || err != nil || u.ID != "" {
		errs = append(errs, fmt.Errorf("UserByLogin(missing) = %+v, found %v, err %v; want zero, false, nil", u, found, err))
	}
	// And with another user stored.
	if err := s.CreateUser(ctx, authkit.User{ID: "u1", Email: "one@example.com", CreatedAt: time.Now()}); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if _, found, err := s.UserByID(ctx, "u2"); found || err != nil {
		errs = append(errs, fmt.Errorf("UserByID(u2) with only u1 stored = found %v, err %v; want false, nil", found, err))
	}
	if _, found, err := s.UserByLogin(ctx, "two@example.com"); found || err != nil {
		errs = append(errs, fmt.Errorf("UserByLogin(two@) with only one@ stored = found %v, err %v; want false, nil", found, err))
	}
	return errors.Join(errs...)
}

func userRoundTrip(ctx context.Context, s authkit.UserStore) error {
	created := time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC)
	users := []authkit.User{
		{ID: "u1", Email: "alice@example.com", EmailVerified: true,
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
			Roles:        []string{"admin", "editor"}, Disabled: true, CreatedAt: created},
		{ID: "u2", Email: "bob@example.com", Roles: []string{"viewer"}, CreatedAt: created.Add(time.Hour)},
	}
	for _, u := range users {
		if err := s.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("CreateUser(%s): %w", u.ID, err)
		}
	}
	for _, want := range users {
		got, err := mustGet(ctx, s, want.ID)
		if err != nil {
			return err
		}
		if err := sameUser(got, want); err != nil {
			return fmt.Errorf("UserByID(%s): %w", want.ID, err)
		}
		got, found, err := s.UserByLogin(ctx, want.Email)
		if err != nil || !found {
			return fmt.Errorf("UserByLogin(%q) = found %v, err %v", want.Email, found, err)
		}
		if err := sameUser(got, want); err != nil {
			return fmt.Errorf("UserByLogin(%s): %w", want.Email, err)
		}
	}
	return nil
}

// userMFAFlag: MFAEnabled is kept on create and, with a UserUpdater, set
// and cleared through UpdateUser.
func userMFAFlag(ctx context.Context, s authkit.UserStore) error {
	if err := s.CreateUser(ctx, authkit.User{ID: "on", Email: "on@example.com", MFAEnabled: true, CreatedAt: time.Now()}); err != nil {
		return err
	}
	if err := s.CreateUser(ctx, authkit.User{ID: "off", Email: "off@example.com", CreatedAt: time.Now()}); err != nil {
		return err
	}
	check := func(step, id string, want bool) error {
		u, err := mustGet(ctx, s, id)
		if err != nil {
			return err
		}
		if u.MFAEnabled != want {
			return fmt.Errorf("%s: user %s MFAEnabled = %v, want %v", step, id, u.MFAEnabled, want)
		}
		return nil
	}
	if err := errors.Join(check("after CreateUser", "on", true), check("after CreateUser", "off", false)); err != nil {
		return err
	}
	up, ok := s.(authkit.UserUpdater)
	if !ok {
		return nil
	}
	if err := up.UpdateUser(ctx, "off", func(u *authkit.User) { u.MFAEnabled = true }); err != nil {
		return err
	}
	if err := up.UpdateUser(ctx, "on", func(u *authkit.User) { u.MFAEnabled = false }); err != nil {
		return err
	}
	return errors.Join(check("after UpdateUser", "on", false), check("after UpdateUser", "off", true))
}

func userRoles(ctx context.Context, s authkit.UserStore) error {
	cases := [][]string{
		nil,
		{},
		{"admin"},
		{"viewer", "admin", "editor"}, // order kept
		{"a", "a"},                    // duplicates kept
		{`"`, `,`, `]`, `\`, "日本", `"; DROP TABLE users; --`},
	}
	for i, roles := range cases {
		id := fmt.Sprintf("u%d", i)
		if err := s.CreateUser(ctx, authkit.User{ID: id, Email: id + "@example.com", Roles: roles, CreatedAt: time.Now()}); err != nil {
			return err
		}
		u, err := mustGet(ctx, s, id)
		if err != nil {
			return err
		}
		if !slices.Equal(u.Roles, roles) {
			return fmt.Errorf("roles %#v read back as %#v", roles, u.Roles)
		}
	}
	return nil
}

// userNoAliasing: neither the slice passed to CreateUser nor one returned
// by a read shares memory with the stored record.
func userNoAliasing(ctx context.Context, s authkit.UserStore) error {
	in := authkit.User{ID: "u1", Email: "a@example.com", Roles: []string{"viewer"}, CreatedAt: time.Now()}
	if err := s.CreateUser(ctx, in); err != nil {
		return err
	}
	in.Roles[0] = "admin"
	u, err := mustGet(ctx, s, "u1")
	if err != nil {
		return err
	}
	if !slices.Equal(u.Roles, []string{"viewer"}) {
		return fmt.Errorf("changing the slice passed to CreateUser changed the stored roles to %v", u.Roles)
	}
	u.Roles[0] = "admin"
	u, err = mustGet(ctx, s, "u1")
	if err != nil {
		return err
	}
	if !slices.Equal(u.Roles, []string{"viewer"}) {
		return fmt.Errorf("changing a returned slice changed the stored roles to %v", u.Roles)
	}
	return nil
}

func userLoginTaken(ctx context.Context, s authkit.UserStore) error {
	if err := s.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com", PasswordHash: "first", CreatedAt: time.Now()}); err != nil {
		return err
	}
	err := s.CreateUser(ctx, authkit.User{ID: "u2", Email: "a@example.com", PasswordHash: "second", CreatedAt: time.Now()})
	if !errors.Is(err, authkit.ErrLoginTaken) {
		return fmt.Errorf("second CreateUser with the same login = %v; want ErrLoginTaken", err)
	}
	if _, found, err := s.UserByID(ctx, "u2"); found || err != nil {
		return fmt.Errorf("the refused user was stored: UserByID(u2) = found %v, err %v", found, err)
	}
	u, found, err := s.UserByLogin(ctx, "a@example.com")
	if err != nil || !found || u.ID != "u1" || u.PasswordHash != "first" {
		return fmt.Errorf("after the refused duplicate: UserByLogin = %+v, %v, %v; want u1 untouched", u, found, err)
	}
	return nil
}

// userConcurrentCreate: 32 concurrent sign-ups of one login; exactly one
// wins, the others get ErrLoginTaken.
func userConcurrentCreate(ctx context.Context, s authkit.UserStore) error {
	const n = 32
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.CreateUser(ctx, authkit.User{ID: fmt.Sprintf("u%d", i), Email: "race@example.com", CreatedAt: time.Now()})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			return fmt.Errorf("both u%d and u%d were created with one login (the check is not atomic with the insert)", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, authkit.ErrLoginTaken):
			return fmt.Errorf("u%d: CreateUser = %v; want nil or ErrLoginTaken", i, err)
		}
	}
	if winner < 0 {
		return errors.New("no concurrent CreateUser succeeded")
	}
	u, found, err := s.UserByLogin(ctx, "race@example.com")
	if err != nil || !found || u.ID != fmt.Sprintf("u%d", winner) {
		return fmt.Errorf("stored user = %q, %v, %v; want u%d", u.ID, found, err, winner)
	}
	return nil
}

func userSetPasswordHash(ctx context.Context, s authkit.UserStore) error {
	a := authkit.User{ID: "u1", Email: "a@example.com", PasswordHash: "old-a", Roles: []string{"admin"}, EmailVerified: true, CreatedAt: time.Now()}
	b := authkit.User{ID: "u2", Email: "b@example.com", PasswordHash: "old-b", CreatedAt: time.Now()}
	for _, u := range []authkit.User{a, b} {
		if err := s.CreateUser(ctx, u); err != nil {
			return err
		}
	}
	if err := s.SetPasswordHash(ctx, "u1", "new-a"); err != nil {
		return fmt.Errorf("SetPasswordHash: %w", err)
	}
	a.PasswordHash = "new-a"
	got, found, err := s.UserByLogin(ctx, "a@example.com")
	if err != nil || !found {
		return fmt.Errorf("UserByLogin after SetPasswordHash = found %v, err %v", found, err)
	}
	if err := sameUser(got, a); err != nil {
		return fmt.Errorf("after SetPasswordHash: %w", err)
	}
	if got, err = mustGet(ctx, s, "u2"); err != nil {
		return err
	}
	if err := sameUser(got, b); err != nil {
		return fmt.Errorf("SetPasswordHash(u1) changed u2: %w", err)
	}
	// Setting the hash of an unknown user never creates one.
	_ = s.SetPasswordHash(ctx, "u3", "h")
	if _, found, err := s.UserByID(ctx, "u3"); found || err != nil {
		return fmt.Errorf("SetPasswordHash(unknown) left UserByID(u3) = found %v, err %v; want false, nil", found, err)
	}
	return nil
}

// literalLogins reach the store canonical ([authkit.CanonicalLogin]:
// valid UTF-8, lower case); within that, nothing is special to the store:
// no LIKE wildcards, no glob, no quoting.
var literalLogins = []string{
	"a%@example.com", "a_@example.com", "*", "%", "_", "?", "'", `"`, `\`, "[a]",
	"a'b@example.com", `x'; drop table users; --`, "$1", "日本@例え.jp", "josé@example.com",
	"ab@example.com", "a@example.com", strings.Repeat("x", 64) + "@" + strings.Repeat("d", 60) + ".example",
}

func userLiteralLogins(ctx context.Context, s authkit.UserStore) error {
	for i, l := range literalLogins {
		if err := s.CreateUser(ctx, authkit.User{ID: fmt.Sprintf("u%d", i), Email: l, CreatedAt: time.Now()}); err != nil {
			return fmt.Errorf("CreateUser(%q): %w", l, err)
		}
	}
	for i, l := range literalLogins {
		u, found, err := s.UserByLogin(ctx, l)
		if err != nil || !found || u.ID != fmt.Sprintf("u%d", i) || u.Email != l {
			return fmt.Errorf("UserByLogin(%q) = %q %q, %v, %v; want u%d", l, u.ID, u.Email, found, err, i)
		}
	}
	for _, l := range []string{"a@example.co", "b@example.com", "a%", "a", "", " *", "a@example.com ", "xa@example.com"} {
		if u, found, err := s.UserByLogin(ctx, l); found || err != nil {
			return fmt.Errorf("UserByLogin(%q) = %q, found %v, err %v; want false, nil (logins match literally)", l, u.Email, found, err)
		}
	}
	return nil
}

func userUpdate(ctx context.Context, s authkit.UserStore) error {
	up, ok := s.(authkit.UserUpdater)
	if !ok {
		return nil
	}
	created := time.Now()
	if err := s.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com", PasswordHash: "h", Roles: []string{"x"}, CreatedAt: created}); err != nil {
		return err
	}
	other := authkit.User{ID: "u2", Email: "b@example.com", PasswordHash: "h2", Roles: []string{"y"}, CreatedAt: created}
	if err := s.CreateUser(ctx, other); err != nil {
		return err
	}
	var seen authkit.User
	err := up.UpdateUser(ctx, "u1", func(u *authkit.User) {
		seen = *u
		u.Disabled, u.EmailVerified, u.Roles, u.PasswordHash = true, true, []string{"admin", "viewer"}, "h-new"
	})
	if err != nil {
		return fmt.Errorf("UpdateUser: %w", err)
	}
	if seen.ID != "u1" || seen.Email != "a@example.com" || seen.PasswordHash != "h" || !slices.Equal(seen.Roles, []string{"x"}) {
		return fmt.Errorf("UpdateUser passed fn %+v; want the stored user u1", seen)
	}
	want := authkit.User{ID: "u1", Email: "a@example.com", EmailVerified: true, PasswordHash: "h-new",
		Roles: []string{"admin", "viewer"}, Disabled: true, CreatedAt: created}
	got, err := mustGet(ctx, s, "u1")
	if err != nil {
		return err
	}
	if err := sameUser(got, want); err != nil {
		return fmt.Errorf("after UpdateUser: %w", err)
	}
	if got, err = mustGet(ctx, s, "u2"); err != nil {
		return err
	}
	if err := sameUser(got, other); err != nil {
		return fmt.Errorf("UpdateUser(u1) changed u2: %w", err)
	}
	return nil
}

// userUpdateMissing: UpdateUser of an unknown id is an error, and creates
// nothing (disabling an account that is not there must not report success).
func userUpdateMissing(ctx context.Context, s authkit.UserStore) error {
	up, ok := s.(authkit.UserUpdater)
	if !ok {
		return nil
	}
	if err := up.UpdateUser(ctx, "nope", func(u *authkit.User) { u.Disabled = true }); err == nil {
		return errors.New("UpdateUser(unknown id) = nil; want an error")
	}
	if _, found, err := s.UserByID(ctx, "nope"); found || err != nil {
		return fmt.Errorf("after UpdateUser(unknown): UserByID = found %v, err %v; want false, nil", found, err)
	}
	return nil
}

// userConcurrentUpdate: 64 concurrent UpdateUser calls each add a role; a
// lost update drops one.
func userConcurrentUpdate(ctx context.Context, s authkit.UserStore) error {
	up, ok := s.(authkit.UserUpdater)
	if !ok {
		return nil
	}
	if err := s.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com", Roles: []string{"base"}, CreatedAt: time.Now()}); err != nil {
		return err
	}
	const n = 64
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = up.UpdateUser(ctx, "u1", func(u *authkit.User) {
				u.Roles = append(u.Roles, fmt.Sprintf("r%02d", i))
			})
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	u, err := mustGet(ctx, s, "u1")
	if err != nil {
		return err
	}
	got := slices.Sorted(slices.Values(u.Roles))
	want := []string{"base"}
	for i := range n {
		want = append(want, fmt.Sprintf("r%02d", i))
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("after %d concurrent UpdateUser calls: %d roles, want %d (lost updates)", n, len(got), len(want))
	}
	return nil
}

func userCancelled(ctx context.Context, s authkit.UserStore) error {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var errs []error
	want := func(op string, err error) {
		if !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("%s: err = %v, want context.Canceled", op, err))
		}
	}
	_, _, err := s.UserByID(cctx, "u1")
	want("UserByID", err)
	_, _, err = s.UserByLogin(cctx, "a@example.com")
	want("UserByLogin", err)
	want("CreateUser", s.CreateUser(cctx, authkit.User{ID: "u1", Email: "a@example.com", CreatedAt: time.Now()}))
	want("SetPasswordHash", s.SetPasswordHash(cctx, "u1", "h"))
	if up, ok := s.(authkit.UserUpdater); ok {
		want("UpdateUser", up.UpdateUser(cctx, "u1", func(*authkit.User) {}))
	}
	return errors.Join(errs...)
}
