package authkit_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/store/memstore"
)

// ExampleAuth_FinishPasskeySignIn adds a passkey to a signed-in account
// and signs in with it, username-less, as a browser's "Sign in with a
// passkey" does. The software authenticator of passkeytest plays the
// browser; binding is the secret of the browser that began each ceremony
// (the handler uses a random HttpOnly cookie for a sign-in).
func ExampleAuth_FinishPasskeySignIn() {
	pk, err := passkey.New(passkey.Config{
		RPID: "example.com", RPDisplayName: "Example", Origins: []string{"https://example.com"},
		Credentials: memstore.NewPasskeys(), Tickets: memstore.NewTickets(nil),
	})
	if err != nil {
		log.Fatal(err)
	}
	hasher, _ := password.New(password.Config{Params: password.Params{Memory: 64, Iterations: 1, Parallelism: 1}, InsecureAllowWeakParams: true})
	key, _ := jwt.GenerateKey(jwt.ES256, nil)
	keys, _ := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	auth, err := authkit.New(authkit.Config{
		Users: memstore.NewUsers(), Hasher: hasher, Keys: keys, TokenIssuer: "https://example.com",
		RefreshStore: memstore.NewRefreshTokens(nil), Attempts: memstore.NewAttempts(memstore.AttemptsConfig{}),
		Passkeys: pk, Audit: authkit.NewAuditor(authkit.AuditConfig{DisableLog: true}),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	u, err := auth.Signup(ctx, "ada@example.com", "correct horse battery staple", authkit.Client{})
	if err != nil {
		log.Fatal(err)
	}
	browser := passkeytest.New("https://example.com")

	// Add a passkey: needs a recent sign-in (here: just now).
	opts, err := auth.BeginPasskeyRegistration(ctx, "session-of-ada", u.ID, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	created, _, err := browser.Create(opts.JSON) // navigator.credentials.create()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := auth.FinishPasskeyRegistration(ctx, "session-of-ada", u.ID, "Laptop", created, authkit.Client{}); err != nil {
		log.Fatal(err)
	}

	// Sign in with it, on another visit.
	opts, err = auth.BeginPasskeySignIn(ctx, "random-cookie-value", false)
	if err != nil {
		log.Fatal(err)
	}
	asserted, err := browser.Get(opts.JSON) // navigator.credentials.get()
	if err != nil {
		log.Fatal(err)
	}
	signedIn, amr, err := auth.FinishPasskeySignIn(ctx, "random-cookie-value", asserted, authkit.Client{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := auth.IssueTokens(ctx, signedIn, amr); err != nil {
		log.Fatal(err)
	}
	fmt.Println(signedIn.Email, amr)
	// Output: ada@example.com [hwk user mfa]
}
