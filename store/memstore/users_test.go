package memstore_test

import (
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/store/memstore"
)

var _ authkit.UserUpdater = (*memstore.Users)(nil)

// The login flow records an enrolled second factor in the user record
// (User.MFAEnabled); the store keeps it through every kind of update.
func TestUsersKeepMFAEnabled(t *testing.T) {
	ctx := t.Context()
	us := memstore.NewUsers()
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
