package passkey_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/memstore"
)

// A host registers a passkey for a signed-in user, then signs in with it
// without a username. The software authenticator stands in for the
// browser; in a page, Options.JSON goes to navigator.credentials.create()
// or .get() and the credential's toJSON() comes back to the finish call.
func Example() {
	ctx := context.Background()
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	pk, err := passkey.New(passkey.Config{
		RPID:          "example.com",
		RPDisplayName: "Example",
		Origins:       []string{"https://example.com"},
		Credentials:   st.Passkeys(),
		Tickets:       st.Tickets(),
	})
	if err != nil {
		log.Fatal(err)
	}
	browser := passkeytest.New("https://example.com")
	// binding ties a ceremony to one browser session: use a hash of the
	// session cookie, never a value the page can choose.
	binding := "hash-of-session-cookie"

	opts, err := pk.BeginRegistration(ctx, binding, passkey.User{ID: "u-42", Name: "ada@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	created, _, err := browser.Create(opts.JSON)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := pk.FinishRegistration(ctx, binding, "u-42", "Laptop", created); err != nil {
		log.Fatal(err)
	}

	opts, err = pk.BeginLogin(ctx, binding, true) // conditional UI (autofill)
	if err != nil {
		log.Fatal(err)
	}
	assertion, err := browser.Get(opts.JSON)
	if err != nil {
		log.Fatal(err)
	}
	res, err := pk.FinishLogin(ctx, binding, assertion)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.UserID, res.AMR, res.MultiFactor)

	// The same response again is a replay.
	_, err = pk.FinishLogin(ctx, binding, assertion)
	fmt.Println(errors.Is(err, passkey.ErrReplay))
	// Output:
	// u-42 [hwk user mfa] true
	// true
}

// Removing a passkey returns the Signal API payloads for the page.
func ExamplePasskeys_Remove() {
	ctx := context.Background()
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	creds := st.Passkeys()
	pk, err := passkey.New(passkey.Config{
		RPID: "example.com", RPDisplayName: "Example", Origins: []string{"https://example.com"},
		Credentials: creds, Tickets: st.Tickets(),
	})
	if err != nil {
		log.Fatal(err)
	}
	browser := passkeytest.New("https://example.com")
	opts, _ := pk.BeginRegistration(ctx, "b", passkey.User{ID: "u-42", Name: "ada@example.com"})
	created, id, _ := browser.Create(opts.JSON)
	if _, err := pk.FinishRegistration(ctx, "b", "u-42", "Laptop", created); err != nil {
		log.Fatal(err)
	}
	// keepLast: the user has no password, so the only passkey must stay.
	_, err = pk.Remove(ctx, "u-42", id, true)
	fmt.Println(errors.Is(err, passkey.ErrLastCredential))
	rm, err := pk.Remove(ctx, "u-42", id, false) // e.g. the user also has a password
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rm.Unknown.RPID, len(rm.AllAccepted.AllAcceptedCredentialIDs))
	// Output:
	// true
	// example.com 0
}
