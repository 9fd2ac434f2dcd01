package sqlstore_test

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
	"github.com/authkit-go/authkit/store/sqlstore"
)

func newUsers(t *testing.T, d dialect) *sqlstore.Users {
	return d.new(t, sqlstore.Config{}).Users()
}

func TestUsers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx := t.Context()
			created := time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC)
			in := authkit.User{ID: "u1", Email: "alice@example.com", EmailVerified: true, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
				Roles: []string{"admin", "editor"}, Disabled: true, CreatedAt: created, MFAEnabled: true}
			must(t, us.CreateUser(ctx, in))
			want := in
			want.CreatedAt = created.Truncate(time.Microsecond) // stored as Unix microseconds
			for name, get := range map[string]func() (authkit.User, bool, error){
				"ByID":    func() (authkit.User, bool, error) { return us.UserByID(ctx, "u1") },
				"ByLogin": func() (authkit.User, bool, error) { return us.UserByLogin(ctx, "alice@example.com") },
			} {
				got, found, err := get()
				if err != nil || !found {
					t.Fatalf("%s: found=%v err=%v", name, found, err)
				}
				if !userEqual(got, want) {
					t.Errorf("%s: got %+v, want %+v", name, got, want)
				}
			}
			// The zero CreatedAt round-trips as the zero time (NULL).
			must(t, us.CreateUser(ctx, authkit.User{ID: "u2", Email: "bob@example.com"}))
			got, _, err := us.UserByID(ctx, "u2")
			must(t, err)
			if !got.CreatedAt.IsZero() || got.EmailVerified || got.Disabled || got.PasswordHash != "" {
				t.Errorf("zero fields: got %+v", got)
			}
		})
		// The login flow records an enrolled second factor in the user
		// record; a store that dropped it would let a lost MFA enrollment
		// turn the factor off.
		t.Run("UpdateUserKeepsMFAEnabled", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx := t.Context()
			must(t, us.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com", Roles: []string{"viewer"}}))
			for _, on := range []bool{true, false, true} {
				must(t, us.UpdateUser(ctx, "u1", func(u *authkit.User) { u.MFAEnabled = on }))
				got, found, err := us.UserByID(ctx, "u1")
				if err != nil || !found || got.MFAEnabled != on {
					t.Fatalf("after setting MFAEnabled=%v: got %v (found=%v err=%v)", on, got.MFAEnabled, found, err)
				}
			}
			// Other updates leave the flag alone.
			must(t, us.UpdateUser(ctx, "u1", func(u *authkit.User) { u.EmailVerified = true }))
			must(t, us.SetPasswordHash(ctx, "u1", "h2"))
			if got, _, _ := us.UserByLogin(ctx, "a@example.com"); !got.MFAEnabled || !got.EmailVerified {
				t.Fatalf("flag lost by another update: %+v", got)
			}
		})
		t.Run("UnknownUser", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx := t.Context()
			must(t, us.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com"}))
			if _, found, err := us.UserByID(ctx, "nope"); found || err != nil {
				t.Errorf("UserByID(unknown) = found %v, err %v; want false, nil", found, err)
			}
			if _, found, err := us.UserByLogin(ctx, "nope@example.com"); found || err != nil {
				t.Errorf("UserByLogin(unknown) = found %v, err %v; want false, nil", found, err)
			}
			if err := us.SetPasswordHash(ctx, "nope", "h"); !errors.Is(err, sqlstore.ErrNotFound) {
				t.Errorf("SetPasswordHash(unknown) = %v; want ErrNotFound", err)
			}
			called := false
			if err := us.UpdateUser(ctx, "nope", func(*authkit.User) { called = true }); !errors.Is(err, sqlstore.ErrNotFound) {
				t.Errorf("UpdateUser(unknown) = %v; want ErrNotFound", err)
			}
			if called {
				t.Error("UpdateUser called fn for an unknown user")
			}
		})
		t.Run("DuplicateEmail", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx := t.Context()
			must(t, us.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com", PasswordHash: "first"}))
			err := us.CreateUser(ctx, authkit.User{ID: "u2", Email: "a@example.com", PasswordHash: "second"})
			if !errors.Is(err, authkit.ErrLoginTaken) {
				t.Fatalf("second CreateUser with the same email = %v; want ErrLoginTaken", err)
			}
			// The same id with another email is an error, but not ErrLoginTaken.
			err = us.CreateUser(ctx, authkit.User{ID: "u1", Email: "other@example.com"})
			if err == nil || errors.Is(err, authkit.ErrLoginTaken) {
				t.Fatalf("CreateUser with a taken id = %v; want a non-ErrLoginTaken error", err)
			}
			if _, found, _ := us.UserByLogin(ctx, "other@example.com"); found {
				t.Error("the user with the duplicate id was stored")
			}
			// The first user is untouched.
			u, _, err := us.UserByLogin(ctx, "a@example.com")
			must(t, err)
			if u.ID != "u1" || u.PasswordHash != "first" {
				t.Errorf("after duplicates: %+v", u)
			}
			n, err := us.Len(ctx)
			if err != nil || n != 1 {
				t.Errorf("Len = %d, %v; want 1", n, err)
			}
		})
		t.Run("ConcurrentCreateSameEmail", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx := t.Context()
			const n = 32
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					errs[i] = us.CreateUser(ctx, authkit.User{ID: fmt.Sprintf("u%d", i), Email: "race@example.com"})
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil:
					if winner >= 0 {
						t.Errorf("both u%d and u%d were created with one email", winner, i)
					}
					winner = i
				case !errors.Is(err, authkit.ErrLoginTaken):
					t.Errorf("u%d: %v; want nil or ErrLoginTaken", i, err)
				}
			}
			if winner < 0 {
				t.Fatal("no CreateUser won")
			}
			u, found, err := us.UserByLogin(ctx, "race@example.com")
			if err != nil || !found || u.ID != fmt.Sprintf("u%d", winner) {
				t.Errorf("stored user = %+v, %v, %v; want u%d", u, found, err, winner)
			}
			if got, err := us.Len(ctx); err != nil || got != 1 {
				t.Errorf("Len = %d, %v; want 1", got, err)
			}
		})
		t.Run("ConcurrentUpdate", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx := t.Context()
			must(t, us.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com", Roles: []string{"base"}}))
			const n = 32
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					// Each adds its own role: a lost update drops one.
					err := us.UpdateUser(ctx, "u1", func(u *authkit.User) {
						u.Roles = append(u.Roles, fmt.Sprintf("r%02d", i))
						u.EmailVerified = true
					})
					if err != nil {
						t.Errorf("UpdateUser %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			u, _, err := us.UserByID(ctx, "u1")
			must(t, err)
			got := slices.Clone(u.Roles)
			slices.Sort(got)
			want := []string{"base"}
			for i := range n {
				want = append(want, fmt.Sprintf("r%02d", i))
			}
			if !slices.Equal(got, want) || !u.EmailVerified {
				t.Errorf("after %d concurrent updates: roles %v (%d), verified %v; want %d roles", n, got, len(got), u.EmailVerified, len(want))
			}
		})
		t.Run("UpdateUser", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx := t.Context()
			must(t, us.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com", Roles: []string{"x"}}))
			must(t, us.UpdateUser(ctx, "u1", func(u *authkit.User) {
				u.Disabled, u.EmailVerified, u.Roles = true, true, nil
			}))
			u, _, err := us.UserByID(ctx, "u1")
			must(t, err)
			if !u.Disabled || !u.EmailVerified || len(u.Roles) != 0 {
				t.Errorf("after update: %+v", u)
			}
			// ID and Email cannot change through UpdateUser; nothing is written.
			for name, fn := range map[string]func(*authkit.User){
				"Email": func(u *authkit.User) { u.Email, u.Disabled = "b@example.com", false },
				"ID":    func(u *authkit.User) { u.ID, u.Disabled = "u2", false },
			} {
				if err := us.UpdateUser(ctx, "u1", fn); err == nil {
					t.Errorf("UpdateUser changing %s succeeded", name)
				}
			}
			u, _, err = us.UserByID(ctx, "u1")
			must(t, err)
			if u.Email != "a@example.com" || !u.Disabled {
				t.Errorf("a rejected update was written: %+v", u)
			}
			must(t, us.SetPasswordHash(ctx, "u1", "newhash"))
			u, _, err = us.UserByLogin(ctx, "a@example.com")
			must(t, err)
			if u.PasswordHash != "newhash" || !u.Disabled {
				t.Errorf("after SetPasswordHash: %+v", u)
			}
		})
		t.Run("Roles", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx := t.Context()
			cases := []struct {
				name string
				in   []string
				want []string // reads return a non-nil slice; nil and empty read back as empty
			}{
				{"nil", nil, []string{}},
				{"empty", []string{}, []string{}},
				{"one", []string{"admin"}, []string{"admin"}},
				{"several, order kept", []string{"viewer", "admin", "editor"}, []string{"viewer", "admin", "editor"}},
				{"duplicates kept", []string{"a", "a"}, []string{"a", "a"}},
				{"hostile", []string{`"`, `,`, `]`, `\`, "", "日本", `"; DROP TABLE x; --`}, []string{`"`, `,`, `]`, `\`, "", "日本", `"; DROP TABLE x; --`}},
			}
			for i, c := range cases {
				id := fmt.Sprintf("u%d", i)
				must(t, us.CreateUser(ctx, authkit.User{ID: id, Email: id + "@example.com", Roles: c.in}))
				u, _, err := us.UserByID(ctx, id)
				must(t, err)
				if u.Roles == nil || !slices.Equal(u.Roles, c.want) {
					t.Errorf("%s: roles %#v, want %#v", c.name, u.Roles, c.want)
				}
				// And through UpdateUser.
				must(t, us.UpdateUser(ctx, id, func(u *authkit.User) { u.Roles = c.in }))
				u, _, err = us.UserByID(ctx, id)
				must(t, err)
				if u.Roles == nil || !slices.Equal(u.Roles, c.want) {
					t.Errorf("%s after UpdateUser: roles %#v, want %#v", c.name, u.Roles, c.want)
				}
			}
		})
		t.Run("HostileEmails", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx := t.Context()
			// Emails reach the store canonical (authkit.CanonicalLogin: no
			// control characters, valid UTF-8); within that, nothing is
			// special: no LIKE wildcards, no quoting, no case folding.
			emails := []string{
				"a%@example.com", "a_@example.com", "*", "%", "_", "'", `"`, `\`, "a'b@example.com",
				`x'; DROP TABLE authkit_users; --`, "$1", "?", "日本@例え.jp", "ab@example.com",
				"A@example.com", "a@example.com", strings.Repeat("x", 310) + "@example.com",
			}
			for i, e := range emails {
				must(t, us.CreateUser(ctx, authkit.User{ID: fmt.Sprintf("u%d", i), Email: e}))
			}
			for i, e := range emails {
				u, found, err := us.UserByLogin(ctx, e)
				if err != nil || !found || u.ID != fmt.Sprintf("u%d", i) || u.Email != e {
					t.Errorf("UserByLogin(%q) = %q %q, %v, %v; want u%d", e, u.ID, u.Email, found, err, i)
				}
			}
			for _, e := range []string{"a@example.co", "b@example.com", "a%", "", " *", "a@example.com "} {
				if _, found, err := us.UserByLogin(ctx, e); found || err != nil {
					t.Errorf("UserByLogin(%q) = found %v, err %v; want false, nil", e, found, err)
				}
			}
			if n, err := us.Len(ctx); err != nil || n != len(emails) {
				t.Errorf("Len = %d, %v; want %d", n, err, len(emails))
			}
		})
		t.Run("Len", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx := t.Context()
			for i := range 5 {
				n, err := us.Len(ctx)
				if err != nil || n != i {
					t.Fatalf("Len = %d, %v; want %d", n, err, i)
				}
				must(t, us.CreateUser(ctx, authkit.User{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i)}))
			}
			// A refused duplicate does not count.
			_ = us.CreateUser(ctx, authkit.User{ID: "dup", Email: "u0@example.com"})
			if n, err := us.Len(ctx); err != nil || n != 5 {
				t.Fatalf("Len = %d, %v; want 5", n, err)
			}
		})
		t.Run("EmptyID", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			if err := us.CreateUser(t.Context(), authkit.User{Email: "a@example.com"}); err == nil {
				t.Error("CreateUser with an empty ID succeeded")
			}
		})
		t.Run("CancelledContext", func(t *testing.T) {
			t.Parallel()
			us := newUsers(t, d)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if _, _, err := us.UserByID(ctx, "u1"); !errors.Is(err, context.Canceled) {
				t.Errorf("UserByID: %v", err)
			}
			if err := us.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com"}); !errors.Is(err, context.Canceled) {
				t.Errorf("CreateUser: %v", err)
			}
			if err := us.UpdateUser(ctx, "u1", func(*authkit.User) {}); !errors.Is(err, context.Canceled) {
				t.Errorf("UpdateUser: %v", err)
			}
			if _, err := us.Len(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Len: %v", err)
			}
		})
	})
}

func userEqual(a, b authkit.User) bool {
	return a.ID == b.ID && a.Email == b.Email && a.EmailVerified == b.EmailVerified && a.PasswordHash == b.PasswordHash &&
		slices.Equal(a.Roles, b.Roles) && a.Disabled == b.Disabled && a.CreatedAt.Equal(b.CreatedAt) &&
		a.MFAEnabled == b.MFAEnabled
}
