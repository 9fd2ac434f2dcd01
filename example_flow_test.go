package authkit_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/store/memstore"
)

// exampleAuth is a small Auth over memstore for the examples.
func exampleAuth(mailer authkit.Mailer) *authkit.Auth {
	hasher, _ := password.New(password.Config{Params: password.Params{Memory: 64, Iterations: 1, Parallelism: 1}, InsecureAllowWeakParams: true})
	policy, _ := password.NewPolicy(password.PolicyConfig{})
	key, _ := jwt.GenerateKey(jwt.ES256, nil)
	keys, _ := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := authkit.New(authkit.Config{
		Users: st.Users(), Hasher: hasher, PasswordPolicy: policy, Keys: keys,
		TokenIssuer: "https://app.example.com", RefreshStore: st.RefreshTokens(),
		NotBefore: st.NotBefore(), Attempts: st.Attempts(),
		Tickets: st.Tickets(), Mailer: mailer,
		Audit: authkit.NewAuditor(authkit.AuditConfig{DisableLog: true}),
	})
	if err != nil {
		log.Fatal(err)
	}
	return auth
}

// ExampleAuth_IssueDeviceToken keeps a device token in the device cookie
// after a sign-in; the next login from that browser carries it and is not
// subject to the account's lockout or the address's failure budget.
func ExampleAuth_IssueDeviceToken() {
	auth := exampleAuth(mailerFunc(func(context.Context, authkit.Mail) error { return nil }))
	ctx := context.Background()
	if _, err := auth.Signup(ctx, "ada@example.com", "correct horse battery staple", authkit.Client{}); err != nil {
		log.Fatal(err)
	}
	// A login handler: the client (and its device cookie) from the request.
	r := httptest.NewRequest(http.MethodPost, "https://app.example.com/auth/login", nil)
	res, err := auth.Login(ctx, "ada@example.com", "correct horse battery staple", auth.ClientOf(r))
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	authkit.SetDeviceCookie(w, res.Device, time.Now()) // after VerifyMFA: auth.IssueDeviceToken(user)
	fmt.Println(w.Result().Cookies()[0].Name)
	// Output: device_token
}

// ExampleAuth_RunMailer runs the mail queue: reset and verification mails
// go out off the request path, so a reset request answers the same for any
// address.
func ExampleAuth_RunMailer() {
	sent := make(chan authkit.Mail, 1)
	auth := exampleAuth(mailerFunc(func(_ context.Context, m authkit.Mail) error { sent <- m; return nil }))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go auth.RunMailer(ctx) // once, at start-up; authkit starts no goroutine itself

	if _, err := auth.Signup(ctx, "ada@example.com", "correct horse battery staple", authkit.Client{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(auth.RequestPasswordReset(ctx, "nobody@example.com", authkit.Client{}))
	fmt.Println(auth.RequestPasswordReset(ctx, "ada@example.com", authkit.Client{}))
	m := <-sent
	fmt.Println(m.To, m.Purpose)
	// Output:
	// <nil>
	// <nil>
	// ada@example.com password_reset
}
