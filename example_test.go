package authkit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

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
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := authkit.New(authkit.Config{
		Users:        st.Users(),
		Keys:         keys,
		TokenIssuer:  "https://app.example.com",
		RefreshStore: st.RefreshTokens(),
		NotBefore:    st.NotBefore(),
		Attempts:     st.Attempts(),
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
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := authkit.New(authkit.Config{
		Users: st.Users(), Hasher: hasher, PasswordPolicy: policy, Keys: keys,
		TokenIssuer: "https://app.example.com", RefreshStore: st.RefreshTokens(),
		NotBefore: st.NotBefore(), Attempts: st.Attempts(),
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

// ExampleWithDelivery serves the endpoints to a native client: the tokens
// come in the JSON answer and the refresh token goes back in the body.
func ExampleWithDelivery() {
	key, _ := jwt.GenerateKey(jwt.ES256, nil)
	keys, _ := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	hasher, _ := password.New(password.Config{Params: password.Params{Memory: 64, Iterations: 1, Parallelism: 1}, InsecureAllowWeakParams: true})
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := authkit.New(authkit.Config{
		Users: st.Users(), Keys: keys, Hasher: hasher, TokenIssuer: "https://app.example.com",
		RefreshStore: st.RefreshTokens(), NotBefore: st.NotBefore(),
		Attempts: st.Attempts(),
		Audit:    authkit.NewAuditor(authkit.AuditConfig{DisableLog: true}),
	})
	if err != nil {
		log.Fatal(err)
	}
	h := auth.Handler(authkit.WithPrefix("/api/v1/auth"), authkit.WithDelivery(authkit.DeliverBody))
	post := func(path, body string) map[string]any {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return out
	}
	creds := `{"email":"ada@example.com","password":"correct horse battery staple"}`
	post("/api/v1/auth/signup", creds)
	tok := post("/api/v1/auth/login", creds)
	fmt.Println(tok["token_type"], tok["expires_in"], tok["access_token"] != nil)
	next := post("/api/v1/auth/refresh", `{"refresh_token":"`+tok["refresh_token"].(string)+`"}`)
	fmt.Println(next["refresh_token"] != tok["refresh_token"])
	// Output:
	// Bearer 900 true
	// true
}

// ExampleNewSecrets derives the MFA keys from one master secret and rotates
// it: the new secret seals, the old one still opens.
func ExampleNewSecrets() {
	dir, err := os.MkdirTemp("", "authkit")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	old, err := authkit.LoadOrCreateSecret(filepath.Join(dir, "authkit.secret")) // created 0600
	if err != nil {
		log.Fatal(err)
	}
	secrets, _ := authkit.NewSecrets(old)
	box, _ := secrets.MFASecretBox()
	sealed, _ := box.Seal("user-1", []byte("TOTP key"))

	fresh, _ := authkit.NewSecret(nil)
	rotated, _ := authkit.NewSecrets(fresh, old)
	box, _ = rotated.MFASecretBox()
	opened, err := box.Open("user-1", sealed)
	fmt.Println(string(opened), err, box.ActiveKeyID() == fresh.ID())
	// Output: TOTP key <nil> true
}
