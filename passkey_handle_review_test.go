package authkit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
)

// addHook is a credential store that runs before() ahead of each Add: the
// interleaving of another request that lands between a check and the
// store write.
type addHook struct {
	passkey.CredentialStore
	before func()
}

func (s *addHook) Add(ctx context.Context, c passkey.Credential) (bool, error) {
	if s.before != nil {
		s.before()
	}
	return s.CredentialStore.Add(ctx, c)
}

// newDisableRaceEnv returns a passkey env whose credential store disables
// the account of each registration just before storing its passkey,
// after FinishPasskeyRegistration checked the account.
func newDisableRaceEnv(t *testing.T) (*pkEnv, authkit.User) {
	t.Helper()
	hook := &addHook{}
	e := newPasskeyEnv(t, func(_ *authkit.Config, pc *passkey.Config) {
		hook.CredentialStore = pc.Credentials
		pc.Credentials = hook
	})
	u := e.user("a@example.com")
	hook.before = func() {
		if err := e.auth.DisableUser(context.Background(), u.ID, pkClient); err != nil {
			t.Error(err)
		}
	}
	return e, u
}

// finishRegistration runs a registration of u on dev through
// FinishPasskeyRegistration and returns its error.
func (e *pkEnv) finishRegistration(dev *passkeytest.Authenticator, u authkit.User) error {
	e.t.Helper()
	ctx := context.Background()
	o, err := e.auth.BeginPasskeyRegistration(ctx, "browser-a", u.ID, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	resp, _, err := dev.Create(o.JSON)
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = e.auth.FinishPasskeyRegistration(ctx, "browser-a", u.ID, "Laptop", resp, pkClient)
	return err
}

// The account is disabled while its registration finishes, after the
// re-check and before the passkey is stored (the administrator locking
// out a thief who holds the session). FinishPasskeyRegistration promises
// that an account disabled since the ceremony began gets nothing stored.
func TestPasskeyRegistrationDisabledDuringFinishStoresNothing(t *testing.T) {
	e, u := newDisableRaceEnv(t)
	err := e.finishRegistration(e.dev, u)
	list, lerr := e.auth.ListPasskeys(context.Background(), u.ID)
	if lerr != nil {
		t.Fatal(lerr)
	}
	if !errors.Is(err, authkit.ErrInvalidCredentials) || len(list) != 0 {
		t.Fatalf("disabled during the finish: %v, %d passkeys stored; want ErrInvalidCredentials and none", err, len(list))
	}
}

// Whatever the interleaving left in the store, a passkey of a disabled
// account signs nobody in: not username-less, not as a re-authentication.
func TestPasskeyOfDisabledAccountNeverSignsIn(t *testing.T) {
	e, u := newDisableRaceEnv(t)
	_ = e.finishRegistration(e.dev, u) // may store the passkey, see above
	ctx := context.Background()
	if got, amr, err := e.auth.FinishPasskeySignIn(ctx, "browser-x", e.assertion(e.dev, "browser-x"), pkClient); !errors.Is(err, authkit.ErrInvalidCredentials) || got.ID != "" || amr != nil {
		t.Fatalf("sign-in with the disabled account's passkey: %q %v %v, want ErrInvalidCredentials", got.ID, amr, err)
	}
	o, err := e.auth.BeginPasskeyReauth(ctx, "browser-x", u.ID)
	if errors.Is(err, passkey.ErrNotFound) {
		return // nothing stored: nothing to re-authenticate with
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.dev.Get(o.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if _, gu, err := e.auth.ReauthenticatePasskey(ctx, "browser-x", u.ID, "refresh", resp, middleware.Requirement{}, pkClient); !errors.Is(err, authkit.ErrInvalidCredentials) || gu.ID != "" {
		t.Fatalf("re-authentication with the disabled account's passkey: %q %v, want ErrInvalidCredentials", gu.ID, err)
	}
}
