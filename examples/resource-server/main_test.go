package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// TestResourceServer trusts tokens only through the issuer's JWKS URL: an
// issuer's token verifies, a token signed by any other key does not, and the
// permission route needs a role that grants reports:read.
func TestResourceServer(t *testing.T) {
	newKeys := func() *jwt.KeySet {
		k, err := jwt.GenerateKey(jwt.ES256, nil)
		if err != nil {
			t.Fatal(err)
		}
		ks, err := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{k}})
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	keys := newKeys()
	issuerSrv := httptest.NewServer(keys.JWKSHandler())
	defer issuerSrv.Close()
	const iss = "http://issuer.test"

	h, closeFn, err := NewHandler(t.Context(), Config{Issuer: iss, JWKSURL: issuerSrv.URL, Audience: "authkit-example"})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	api := httptest.NewServer(h)
	defer api.Close()

	mintReq := func(ks *jwt.KeySet, req jwt.AccessTokenRequest) string {
		is, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: ks, Issuer: iss, Audience: []string{"authkit-example"}})
		if err != nil {
			t.Fatal(err)
		}
		req.Subject = "u1"
		tok, _, err := is.Issue(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	mint := func(ks *jwt.KeySet, roles ...string) string {
		return mintReq(ks, jwt.AccessTokenRequest{Roles: roles, AuthTime: time.Now(), AMR: []string{"pwd"}})
	}
	var challenge string
	call := func(path, tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, api.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		challenge = resp.Header.Get("WWW-Authenticate")
		return resp.StatusCode, string(b)
	}
	viewer, admin := mint(keys, "viewer"), mint(keys, "admin")
	withMFA := mintReq(keys, jwt.AccessTokenRequest{AuthTime: time.Now(), AMR: []string{"pwd", "otp"}})
	old := mintReq(keys, jwt.AccessTokenRequest{AuthTime: time.Now().Add(-time.Hour), AMR: []string{"pwd", "otp"}})
	forged := mint(newKeys(), "admin") // another key: not in the JWKS

	for _, tc := range []struct {
		name, path, tok string
		status          int
		body            string
	}{
		{"no_token", "/hello", "", 401, `{"error":"unauthenticated"}`},
		{"viewer_hello", "/hello", viewer, 200, ""},
		{"forged_key", "/hello", forged, 401, `{"error":"unauthenticated"}`},
		{"viewer_reports_403", "/reports", viewer, 403, `{"error":"forbidden"}`},
		{"admin_reports", "/reports", admin, 200, ""},
		{"forged_admin_reports", "/reports", forged, 401, `{"error":"unauthenticated"}`},
		{"password_vault_stepup", "/vault", viewer, 401, `{"error":"insufficient_user_authentication"}`},
		{"mfa_vault", "/vault", withMFA, 200, ""},
		{"old_mfa_vault", "/vault", old, 200, ""}, // no max_age on /vault
		{"old_export_stepup", "/reports/export", old, 401, `{"error":"insufficient_user_authentication"}`},
		{"recent_export", "/reports/export", viewer, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := call(tc.path, tc.tok)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %s", st, tc.status, body)
			}
			switch tc.name {
			case "password_vault_stepup":
				if want := `Bearer error="insufficient_user_authentication", error_description=`; !strings.HasPrefix(challenge, want) ||
					!strings.HasSuffix(challenge, `acr_values="mfa passkey"`) {
					t.Fatalf("WWW-Authenticate %q", challenge)
				}
			case "old_export_stepup":
				if !strings.HasPrefix(challenge, `Bearer error="insufficient_user_authentication"`) || !strings.HasSuffix(challenge, "max_age=300") {
					t.Fatalf("WWW-Authenticate %q", challenge)
				}
			}
			if tc.body != "" {
				var got, want any
				_ = json.Unmarshal([]byte(body), &got)
				_ = json.Unmarshal([]byte(tc.body), &want)
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				if string(gb) != string(wb) {
					t.Fatalf("body %s, want %s", body, tc.body)
				}
			}
		})
	}
}

// TestRunPrintsJWKSURL: the start-up line names the JWKS URL the server
// trusts (derived from -issuer), and an unreachable issuer is a returned
// error naming that URL.
func TestRunPrintsJWKSURL(t *testing.T) {
	k, _ := jwt.GenerateKey(jwt.ES256, nil)
	ks, _ := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{k}})
	mux := http.NewServeMux()
	mux.Handle("/.well-known/jwks.json", ks.JWKSHandler())
	issuer := httptest.NewServer(mux)
	defer issuer.Close()

	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-issuer", issuer.URL}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no start-up line: %v", err)
	}
	if want := "trusting " + issuer.URL + "/.well-known/jwks.json "; !strings.Contains(line, want) {
		t.Fatalf("start-up line %q lacks %q", line, want)
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	down := issuer.URL + "/nothing-here"
	err = run(t.Context(), []string{"-addr", "127.0.0.1:0", "-issuer", "http://127.0.0.1:1", "-jwks", down}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), down) {
		t.Fatalf("unreachable JWKS: err %v", err)
	}
	if err := run(t.Context(), []string{"-bogus"}, io.Discard, io.Discard); err == nil {
		t.Fatal("bad flag accepted")
	}
}
