package passkeytest_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/memstore"
)

// A host tests that its server refuses a passkey used from a phishing
// origin, without a browser.
func ExampleAuthenticator() {
	ctx := context.Background()
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	pk, err := passkey.New(passkey.Config{
		RPID: "example.com", RPDisplayName: "Example", Origins: []string{"https://example.com"},
		Credentials: st.Passkeys(), Tickets: st.Tickets(),
	})
	if err != nil {
		log.Fatal(err)
	}
	auth := passkeytest.New("https://example.com")
	opts, _ := pk.BeginRegistration(ctx, "sess", passkey.User{ID: "u1", Name: "ada@example.com"})
	created, _, _ := auth.Create(opts.JSON)
	if _, err := pk.FinishRegistration(ctx, "sess", "u1", "Laptop", created); err != nil {
		log.Fatal(err)
	}

	auth.Origin = "https://example.com.evil.test"
	opts, _ = pk.BeginLogin(ctx, "sess", false)
	assertion, _ := auth.Get(opts.JSON)
	_, err = pk.FinishLogin(ctx, "sess", assertion)
	fmt.Println(errors.Is(err, passkey.ErrWrongOrigin))
	// Output: true
}
