package authkit_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/store/memstore"
)

// Example mounts the /auth endpoints for browsers (token cookies) and the
// same endpoints at /api/v1/auth for native clients (tokens in the JSON
// body), and protects an API route with the access token they issue. Only
// the user store, the signing keys, the issuer and the shared stores are
// set: the password hasher and policy take their secure defaults. memstore
// keeps everything in memory; use store/sqlstore or store/redisstore to
// share state between instances.
func Example() {
	key, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := authkit.New(authkit.Config{
		Users:        memstore.NewUsers(),
		Keys:         keys,
		TokenIssuer:  "https://app.example.com",
		RefreshStore: memstore.NewRefreshTokens(nil),
		NotBefore:    memstore.NewNotBefore(nil),
		Attempts:     memstore.NewAttempts(memstore.AttemptsConfig{}),
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/api/v1/auth/", auth.Handler(authkit.WithPrefix("/api/v1/auth"), authkit.WithDelivery(authkit.DeliverBody)))
	mux.Handle("GET /.well-known/jwks.json", keys.JWKSHandler())
	mux.Handle("GET /api/hello", auth.Authenticator().RequireAuth(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })))
	_ = mux // http.ListenAndServe("127.0.0.1:8080", mux)
	fmt.Println("ready")
	// Output: ready
}

// ExampleAuth_Login signs a user in without HTTP, as a server-rendered UI
// would before starting its own session.
func ExampleAuth_Login() {
	hasher, _ := password.New(password.Config{Params: password.Params{Memory: 64, Iterations: 1, Parallelism: 1}, InsecureAllowWeakParams: true})
	policy, _ := password.NewPolicy(password.PolicyConfig{})
	key, _ := jwt.GenerateKey(jwt.ES256, nil)
	keys, _ := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	auth, err := authkit.New(authkit.Config{
		Users: memstore.NewUsers(), Hasher: hasher, PasswordPolicy: policy, Keys: keys,
		TokenIssuer: "https://app.example.com", RefreshStore: memstore.NewRefreshTokens(nil),
		NotBefore: memstore.NewNotBefore(nil), Attempts: memstore.NewAttempts(memstore.AttemptsConfig{}),
		Audit: authkit.NewAuditor(authkit.AuditConfig{DisableLog: true}),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	client := authkit.Client{IP: "192.0.2.10", UserAgent: "example"}
	if _, err := auth.Signup(ctx, "ada@example.com", "correct horse battery staple", client); err != nil {
		log.Fatal(err)
	}
	res, err := auth.Login(ctx, "Ada@Example.com", "correct horse battery staple", client)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.User.Email, res.MFARequired(), res.User.Roles)
	_, err = auth.Login(ctx, "ada@example.com", "wrong password", client)
	fmt.Println(err)
	// Output:
	// ada@example.com false [viewer]
	// authkit: invalid credentials
}
