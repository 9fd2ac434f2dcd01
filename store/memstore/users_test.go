package memstore_test

import (
	"errors"
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/store/memstore"
)

var _ authkit.UserUpdater = (*memstore.Users)(nil)

// The login flow records an enrolled second factor in the user record
// (User.MFAEnabled); the store keeps it through every kind of update.
func TestUsersKeepMFAEnabled(t *testing.T) {
	ctx := t.Context()
	us := memtest.New(t, nil).Users()
	if err := us.CreateUser(ctx, authkit.User{ID: "u1", Email: "a@example.com", MFAEnabled: true}); err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{false, true} {
		if err := us.UpdateUser(ctx, "u1", func(u *authkit.User) { u.MFAEnabled = on }); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := us.UserByID(ctx, "u1"); got.MFAEnabled != on {
			t.Fatalf("MFAEnabled = %v, want %v", got.MFAEnabled, on)
		}
	}
	if err := us.SetPasswordHash(ctx, "u1", "h"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := us.UserByLogin(ctx, "a@example.com"); !got.MFAEnabled || got.PasswordHash != "h" {
		t.Fatalf("after SetPasswordHash: %+v", got)
	}
}

// SetEmail moves the login name with its unique index: the old name is free
// again, a taken one is refused, and the new address is unverified.
func TestUsersSetEmail(t *testing.T) {
	ctx := t.Context()
	us := memtest.New(t, nil).Users()
	for _, u := range []authkit.User{{ID: "u1", Email: "a@example.com", EmailVerified: true}, {ID: "u2", Email: "b@example.com"}} {
		if err := us.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := us.SetEmail(ctx, "u1", "b@example.com"); !errors.Is(err, authkit.ErrLoginTaken) {
		t.Fatalf("SetEmail to a taken login: %v, want ErrLoginTaken", err)
	}
	if err := us.SetEmail(ctx, "u1", "c@example.com"); err != nil {
		t.Fatal(err)
	}
	if u, found, _ := us.UserByLogin(ctx, "c@example.com"); !found || u.ID != "u1" || u.EmailVerified {
		t.Fatalf("by new login: %+v found=%v", u, found)
	}
	if _, found, _ := us.UserByLogin(ctx, "a@example.com"); found {
		t.Fatal("old login still resolves")
	}
	if err := us.CreateUser(ctx, authkit.User{ID: "u3", Email: "a@example.com"}); err != nil {
		t.Fatalf("old login not free again: %v", err)
	}
	if err := us.SetEmail(ctx, "nope", "d@example.com"); err == nil {
		t.Fatal("SetEmail of an unknown user succeeded")
	}
}
