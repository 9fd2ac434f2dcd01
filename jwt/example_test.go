package jwt_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/memstore"
)

func newKeys() *jwt.KeySet {
	ks, err := jwt.NewKeySet(jwt.KeySetConfig{})
	if err != nil {
		panic(err)
	}
	if _, err := ks.Rotate(nil); err != nil { // first ES256 key
		panic(err)
	}
	return ks
}

// Issue an access token.
func ExampleIssuer_Issue() {
	ks := newKeys()
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: ks, Issuer: "https://auth.example.com", Audience: []string{"api"}})
	_, claims, err := iss.Issue(context.Background(), jwt.AccessTokenRequest{
		Subject: "user-42", Roles: []string{"viewer"}, AMR: []string{"pwd", "otp"},
		ACR: "urn:example:mfa", AuthTime: time.Now(), // the sign-in's strength and time
	})
	fmt.Println(err, claims.Subject, claims.ExpiresAt.Sub(claims.IssuedAt), claims.HasAMR("otp"), claims.ACR)
	// Output: <nil> user-42 15m0s true urn:example:mfa
}

// Verify an access token; show clients only ErrInvalidToken.
func ExampleVerifier_Verify() {
	ks := newKeys()
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: ks, Issuer: "https://auth.example.com", Audience: []string{"api"}})
	v, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: "https://auth.example.com", Audience: []string{"api"}})
	tok, _, _ := iss.Issue(context.Background(), jwt.AccessTokenRequest{Subject: "user-42"})

	c, err := v.Verify(context.Background(), tok)
	fmt.Println(c.Subject, err)

	_, err = v.Verify(context.Background(), tok[:len(tok)-2]+"AA")
	fmt.Println(errors.Is(err, jwt.ErrInvalidToken), errors.Is(err, jwt.ErrSignature))
	// Output:
	// user-42 <nil>
	// true true
}

// Rotate the signing key: new tokens use the new key, old ones verify until
// the old key is removed.
func ExampleKeySet_Rotate() {
	ks := newKeys()
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: ks, Issuer: "https://auth.example.com", Audience: []string{"api"}})
	v, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: "https://auth.example.com", Audience: []string{"api"}})
	old := ks.Active()
	tok, _, _ := iss.Issue(context.Background(), jwt.AccessTokenRequest{Subject: "u"})

	if _, err := ks.Rotate(nil); err != nil {
		panic(err)
	}
	_, err := v.Verify(context.Background(), tok)
	fmt.Println("after rotation:", err)

	_ = ks.Remove(old.ID()) // after JWKS max-age + token lifetime
	_, err = v.Verify(context.Background(), tok)
	fmt.Println("after removal:", errors.Is(err, jwt.ErrUnknownKey))
	// Output:
	// after rotation: <nil>
	// after removal: true
}

// Rotate refresh tokens; a replayed token revokes its family.
func ExampleRefreshManager_Refresh() {
	ctx := context.Background()
	st, _ := memstore.New(memstore.Config{})
	m, _ := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st.RefreshTokens(), GraceWindow: jwt.NoGraceWindow})
	first, _, _ := m.Issue(ctx, "user-42", jwt.SignIn{AMR: []string{"pwd"}})

	second, rec, err := m.Refresh(ctx, first)
	fmt.Println(rec.UserID, err)

	_, _, err = m.Refresh(ctx, first) // stolen copy replayed
	fmt.Println(errors.Is(err, jwt.ErrTokenReused))

	_, _, err = m.Refresh(ctx, second) // the family is gone
	fmt.Println(errors.Is(err, jwt.ErrInvalidToken))
	// Output:
	// user-42 <nil>
	// true
	// true
}

// A client that lost the response to a refresh presents the same token
// again within the grace window and gets the same new token back.
func ExampleRefreshManagerConfig_graceWindow() {
	ctx := context.Background()
	st, _ := memstore.New(memstore.Config{})
	m, _ := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st.RefreshTokens(), GraceWindow: 5 * time.Second})
	first, _, _ := m.Issue(ctx, "user-42", jwt.SignIn{AMR: []string{"pwd", "otp"}, MFA: true})

	second, _, _ := m.Refresh(ctx, first) // the response is lost
	retried, rec, err := m.Refresh(ctx, first)
	fmt.Println(retried == second, rec.SignIn.MFA, err)
	// Output: true true <nil>
}

// Refuse access tokens issued before a logout everywhere.
func ExampleNotBeforeStore() {
	ctx := context.Background()
	ks := newKeys()
	st, _ := memstore.New(memstore.Config{})
	nb := st.NotBefore()
	now := time.Now()
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: ks, Issuer: "https://a", Audience: []string{"api"}, Now: func() time.Time { return now.Add(-time.Minute) }})
	v, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: "https://a", Audience: []string{"api"}, NotBefore: nb})
	tok, _, _ := iss.Issue(ctx, jwt.AccessTokenRequest{Subject: "u"})

	_ = nb.SetNotBefore(ctx, "u", now)
	_, err := v.Verify(ctx, tok)
	fmt.Println(errors.Is(err, jwt.ErrRevoked))
	// Output: true
}
