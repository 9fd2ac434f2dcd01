package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/mfa"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil || o.Addr != "127.0.0.1:8080" || o.Store != "memory" || o.HIBP {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	for _, bad := range [][]string{
		{"-tls-cert", "c.pem"},
		{"-oidc-issuer", "http://127.0.0.1:1"},
		{"extra"},
		{"-nope"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	for _, spec := range []string{"mongodb:x", "sqlite:", "postgres:", "redis:", "redis:not a url"} {
		if _, err := openStores(t.Context(), spec, "", 0, time.Now, nil); err == nil {
			t.Errorf("-store %q accepted", spec)
		}
	}
}

// TestRun starts the command on a free port, checks its startup output and
// shuts it down gracefully by cancelling its context (as SIGINT does).
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	var out strings.Builder
	var mu sync.Mutex
	lines := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if n > 0 {
				lines <- string(buf[:n])
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	deadline := time.After(20 * time.Second)
	for {
		mu.Lock()
		s := out.String()
		mu.Unlock()
		if strings.Contains(s, "WARNING: in-memory mode") {
			break
		}
		select {
		case <-lines:
		case <-deadline:
			t.Fatalf("no startup output: %q", s)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	mu.Lock()
	s := out.String()
	mu.Unlock()
	for _, re := range []string{`listening on http://127\.0\.0\.1:\d+`, `signing key: kid=\S{20,} alg=ES256`, `shutting down`} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("output lacks %s:\n%s", re, s)
		}
	}
}

// TestPersistentRestart: with -store sqlite and a key directory, a restart
// keeps the signing key (tokens stay valid), the accounts and TOTP secrets.
func TestPersistentRestart(t *testing.T) {
	dir := t.TempDir()
	params := cheapParams
	opts := Options{
		BaseURL: "http://127.0.0.1:1", Store: "sqlite:" + filepath.Join(dir, "auth.db"),
		Users: "sqlite:" + filepath.Join(dir, "users.db"), KeyDir: filepath.Join(dir, "keys"),
		PasswordParams: &params, Logger: discardLogger(),
	}
	ctx := t.Context()
	a1, err := NewApp(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if a1.InMemory() {
		t.Fatal("sqlite mode reports in-memory")
	}
	if err := a1.accounts.CreateUser(ctx, authkit.User{ID: "u1", Email: "kim@example.com", Roles: []string{"viewer"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	pair, err := a1.auth.IssueTokens(ctx, authkit.User{ID: "u1", Roles: []string{"viewer"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := pair.Access
	setup, err := a1.mfa.Enroll(ctx, "u1", "kim@example.com", mfa.Proof{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a1.mfa.Confirm(ctx, "u1", totp(t, setup.Secret, time.Now())); err != nil {
		t.Fatal(err)
	}
	kid := a1.KeyID()
	if err := a1.Close(); err != nil {
		t.Fatal(err)
	}

	a2, err := NewApp(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if a2.KeyID() != kid {
		t.Fatalf("signing key changed across restart: %s -> %s", kid, a2.KeyID())
	}
	if c, err := a2.verifier.Verify(ctx, tok); err != nil || c.Subject != "u1" {
		t.Fatalf("token from before the restart: %v", err)
	}
	if _, found, err := a2.accounts.UserByLogin(ctx, "kim@example.com"); err != nil || !found {
		t.Fatalf("account lost: %v", err)
	}
	if on, err := a2.mfa.Enrolled(ctx, "u1"); err != nil || !on {
		t.Fatalf("MFA enrollment lost: %v", err)
	}
	// The sealed TOTP secret still opens: a code of the next step verifies.
	if err := a2.mfa.VerifyTOTP(ctx, "u1", totp(t, setup.Secret, time.Now().Add(30*time.Second))); err != nil {
		t.Fatalf("TOTP after restart: %v", err)
	}
	if err := a2.Close(); err != nil {
		t.Fatal(err)
	}

	// One master secret, 0600, derives every symmetric key.
	keyDir := filepath.Join(dir, "keys")
	st, err := os.Stat(filepath.Join(keyDir, secretFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v (mode %v)", secretFile, err, st.Mode().Perm())
	}
	// Rotation: the old secret becomes previous.secret and a new one is
	// created at the next start; TOTP keys sealed under the old one open.
	if err := os.Rename(filepath.Join(keyDir, secretFile), filepath.Join(keyDir, previousSecretFile)); err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(60 * time.Second) } // past the codes spent above
	opts.Now = later
	a3, err := NewApp(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a3.Close()
	if ids := a3.sec.KeyIDs(); len(ids) != 2 {
		t.Fatalf("secrets after rotation: %v", ids)
	}
	if err := a3.mfa.VerifyTOTP(ctx, "u1", totp(t, setup.Secret, later())); err != nil {
		t.Fatalf("TOTP after a secret rotation: %v", err)
	}
}

// TestTLSHeaders: served over TLS, every response carries HSTS (RFC 6797);
// over plain loopback HTTP it does not.
func TestTLSHeaders(t *testing.T) {
	for _, tc := range []struct {
		base string
		hsts bool
	}{{"https://127.0.0.1:8443", true}, {"http://127.0.0.1:8080", false}} {
		params := cheapParams
		a, err := NewApp(t.Context(), Options{BaseURL: tc.base, PasswordParams: &params, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		for _, path := range []string{"/login", "/api/me", "/.well-known/jwks.json"} {
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.base+path, nil))
			got := rec.Header().Get("Strict-Transport-Security")
			if (got != "") != tc.hsts {
				t.Errorf("%s%s: Strict-Transport-Security %q", tc.base, path, got)
			}
		}
	}
}

func TestSplitSpec(t *testing.T) {
	for _, tc := range []struct{ in, kind, rest string }{
		{"memory", "memory", ""},
		{"sqlite:/tmp/a.db", "sqlite", "/tmp/a.db"},
		{"postgres:postgres://u@h/db?sslmode=disable", "postgres", "postgres://u@h/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres", "postgres://u@h/db"},
		{"redis:redis://127.0.0.1:6379/0", "redis", "redis://127.0.0.1:6379/0"},
		{"rediss://h:6380", "redis", "rediss://h:6380"},
	} {
		if k, r := splitSpec(tc.in); k != tc.kind || r != tc.rest {
			t.Errorf("splitSpec(%q) = %q, %q", tc.in, k, r)
		}
	}
}
