package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
)

func newAuthFixture(t testing.TB) (*jwt.Issuer, *middleware.Authenticator) {
	iss, _, a := newAuthFixtureV(t)
	return iss, a
}

func newAuthFixtureV(t testing.TB) (*jwt.Issuer, *jwt.Verifier, *middleware.Authenticator) {
	t.Helper()
	k, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{k}})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: ks, Issuer: "https://a.example", Audience: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: "https://a.example", Audience: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := middleware.NewAuthenticator(middleware.AuthConfig{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	return iss, v, a
}

func TestRequireAuth(t *testing.T) {
	iss, a := newAuthFixture(t)
	at := time.Now().Truncate(time.Second)
	tok, _, err := iss.Issue(context.Background(), jwt.AccessTokenRequest{Subject: "u1", Roles: []string{"viewer"}, AMR: []string{"pwd", "otp"}, AuthTime: at})
	if err != nil {
		t.Fatal(err)
	}
	var got middleware.Principal
	h := a.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = middleware.FromContext(r.Context())
		w.WriteHeader(204)
	}))
	tests := []struct {
		name, auth, cookie string
		status             int
		wwwAuth, method    string
	}{
		{"bearer", "Bearer " + tok, "", 204, "", "bearer"},
		{"cookie", "", tok, 204, "", "cookie"},
		{"missing", "", "", 401, "Bearer", ""},
		{"bad_bearer", "Bearer " + tok + "x", "", 401, `Bearer error="invalid_token"`, ""},
		{"bad_cookie", "", "garbage", 401, "Bearer", ""},
		{"basic_scheme", "Basic Zm9vOmJhcg==", "", 401, `Bearer error="invalid_token"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = middleware.Principal{}
			r := httptest.NewRequest("GET", "/", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "access_token", Value: tt.cookie})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("WWW-Authenticate") != tt.wwwAuth {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Header().Get("WWW-Authenticate"), tt.status, tt.wwwAuth)
			}
			if tt.status == 401 {
				if b := w.Body.String(); b != `{"error":"unauthenticated"}`+"\n" && b != `{"error":"unauthenticated"}` {
					t.Fatalf("body %q", b)
				}
				return
			}
			if got.Subject != "u1" || got.Method != tt.method || !got.MFA || !got.AuthTime.Equal(at) || len(got.Roles) != 1 {
				t.Fatalf("principal %+v", got)
			}
		})
	}
}

func TestIdentifyAnonymous(t *testing.T) {
	_, a := newAuthFixture(t)
	var saw, ok bool
	h := a.Identify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		saw = true
		_, ok = middleware.FromContext(r.Context())
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if !saw || ok || w.Code != 200 {
		t.Fatalf("anonymous: saw=%v principal=%v code=%d", saw, ok, w.Code)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer nope")
	w, saw = httptest.NewRecorder(), false
	h.ServeHTTP(w, r)
	if saw || w.Code != 401 {
		t.Fatalf("invalid bearer must not pass as anonymous: saw=%v code=%d", saw, w.Code)
	}
}

type failingNotBefore struct{}

func (failingNotBefore) SetNotBefore(context.Context, string, time.Time) error {
	return errors.New("store down")
}
func (failingNotBefore) NotBefore(context.Context, string) (time.Time, bool, error) {
	return time.Time{}, false, errors.New("store down")
}

// A not-before store failure must fail closed with 5xx, never 401 or anonymous.
func TestRequireAuthStoreFailureFailsClosed(t *testing.T) {
	k, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{k}})
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: ks, Issuer: "https://a.example", Audience: []string{"api"}})
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: "https://a.example", Audience: []string{"api"}, NotBefore: failingNotBefore{}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := middleware.NewAuthenticator(middleware.AuthConfig{Verifier: v})
	tok, _, err := iss.Issue(context.Background(), jwt.AccessTokenRequest{Subject: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]func(http.Handler) http.Handler{"RequireAuth": a.RequireAuth, "Identify": a.Identify} {
		reached := false
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })).ServeHTTP(w, r)
		if reached || w.Code != http.StatusServiceUnavailable {
			t.Errorf("%s: reached=%v status=%d, want handler not reached and 503", name, reached, w.Code)
		}
	}
}
