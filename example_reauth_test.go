package authkit_test

import (
	"context"
	"fmt"
	"log"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
)

// ExampleAuth_Reauthenticate answers a resource server's RFC 9470
// challenge: the acr_values and max_age it named become the Requirement,
// the signed-in user proves the password again, and the new access token
// (same refresh token, same family) carries a fresh auth_time.
func ExampleAuth_Reauthenticate() {
	auth := exampleAuth(mailerFunc(func(context.Context, authkit.Mail) error { return nil }))
	ctx := context.Background()
	u, err := auth.Signup(ctx, "ada@example.com", "correct horse battery staple", authkit.Client{})
	if err != nil {
		log.Fatal(err)
	}
	signedIn, err := auth.IssueTokens(ctx, u, []string{authkit.AMRPassword})
	if err != nil {
		log.Fatal(err)
	}
	// WWW-Authenticate: Bearer error="insufficient_user_authentication", ..., acr_values="pwd mfa passkey", max_age=300
	maxAge := int64(300)
	want, err := authkit.RequirementFromChallenge("pwd mfa passkey", &maxAge)
	if err != nil {
		log.Fatal(err)
	}
	t, _, err := auth.Reauthenticate(ctx, u.ID, signedIn.Refresh, "correct horse battery staple", "", want, authkit.Client{})
	if err != nil {
		log.Fatal(err)
	}
	cl, err := auth.Verifier().Verify(ctx, t.Access)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(want.ACR == middleware.ACRPassword, cl.ACR, t.Refresh == signedIn.Refresh)
	// Output: true pwd true
}
