package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"
	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/internal/testenv"
)

func randName(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// newDB returns a pool on a fresh schema of the test server holding an
// empty users table; the schema is dropped when t ends.
func newDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	dsn := testenv.Postgres(t)
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	schema := randName("prodex_")
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close) // runs before the schema is dropped
	if _, err := db.Exec(ctx, UsersSchema); err != nil {
		t.Fatal(err)
	}
	return db
}

// newRedis returns a client of the test server and a key prefix of the
// test's own; the prefix's keys are deleted when t ends.
func newRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	prefix := randName("prodex-test-") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
		}
		rdb.Close()
	})
	return rdb, prefix
}

// The host-owned users table passes the UserStore conformance suite, the
// MFAEnabled case included.
func TestUsersConformance(t *testing.T) {
	authkittest.RunUserStore(t, func(t *testing.T) authkit.UserStore { return NewUsers(newDB(t)) })
}

type client struct {
	t *testing.T
	h http.Handler
}

// do sends a JSON request and returns the status and the decoded body.
func (c client) do(method, path, bearer string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	r := httptest.NewRequest(method, "https://example.test"+path, rd)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	out := map[string]any{}
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func (c client) login(email, pw string) string {
	c.t.Helper()
	code, out := c.do("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": pw})
	tok, _ := out["access_token"].(string)
	if code != http.StatusOK || tok == "" {
		c.t.Fatalf("login %s: %d %v", email, code, out)
	}
	return tok
}

// TestProductionSetup runs the wiring against PostgreSQL and Redis: sign-up
// and login through the host's table, the RBAC-protected route, TOTP
// enrollment kept in the host's table, and a restart that keeps the
// secrets and signing keys.
func TestProductionSetup(t *testing.T) {
	db := newDB(t)
	rdb, prefix := newRedis(t)
	dir := t.TempDir()
	ctx := t.Context()
	h, err := setup(ctx, db, rdb, prefix, dir, "https://example.test")
	if err != nil {
		t.Fatal(err)
	}
	c := client{t, h}
	const pw = "correct horse battery staple"
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		if code, out := c.do("POST", "/api/v1/auth/signup", "", map[string]string{"email": email, "password": pw}); code != http.StatusCreated {
			t.Fatalf("signup %s: %d %v", email, code, out)
		}
	}
	users := NewUsers(db)
	bob, found, err := users.UserByLogin(ctx, "bob@example.com")
	if err != nil || !found || !slices.Equal(bob.Roles, []string{"viewer"}) {
		t.Fatalf("bob in the users table: %+v, %v, %v; want the viewer role", bob, found, err)
	}
	// The host grants a role in its own table.
	if err := users.UpdateUser(ctx, bob.ID, func(u *authkit.User) { u.Roles = append(u.Roles, "analyst") }); err != nil {
		t.Fatal(err)
	}
	annTok, bobTok := c.login("ann@example.com", pw), c.login("bob@example.com", pw)
	if code, out := c.do("GET", "/api/reports", bobTok, nil); code != http.StatusOK || out["user"] != bob.ID {
		t.Errorf("GET /api/reports as analyst: %d %v; want 200 for %s", code, out, bob.ID)
	}
	if code, out := c.do("GET", "/api/reports", annTok, nil); code != http.StatusForbidden || out["error"] != "forbidden" {
		t.Errorf("GET /api/reports as viewer: %d %v; want 403 forbidden", code, out)
	}
	if code, _ := c.do("GET", "/api/reports", "", nil); code != http.StatusUnauthorized {
		t.Errorf("GET /api/reports without a token: %d; want 401", code)
	}

	// The browser mount sets the token cookies instead.
	r := httptest.NewRequest("POST", "https://example.test/auth/login",
		strings.NewReader(`{"email":"ann@example.com","password":"`+pw+`"}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || !strings.Contains(strings.Join(w.Header().Values("Set-Cookie"), "\n"), "__Host-access_token=") {
		t.Errorf("POST /auth/login: %d, cookies %q; want 200 and the access cookie", w.Code, w.Header().Values("Set-Cookie"))
	}

	// TOTP: ann enrolls; the flag lands in the host's table, and the next
	// login asks for a second factor (a backup code here, since the TOTP
	// code of this step is spent).
	code, out := c.do("POST", "/api/v1/auth/mfa/enroll", annTok, nil)
	secret, _ := out["secret"].(string)
	if code != http.StatusOK || secret == "" {
		t.Fatalf("mfa/enroll: %d %v", code, out)
	}
	totpCode, err := totpNow(secret)
	if err != nil {
		t.Fatal(err)
	}
	code, out = c.do("POST", "/api/v1/auth/mfa/confirm", annTok, map[string]string{"code": totpCode})
	backup, _ := out["backup_codes"].([]any)
	if code != http.StatusOK || len(backup) == 0 {
		t.Fatalf("mfa/confirm: %d %v", code, out)
	}
	if ann, _, err := users.UserByLogin(ctx, "ann@example.com"); err != nil || !ann.MFAEnabled {
		t.Fatalf("after MFA confirm: users.mfa_enabled = %v, %v; want true", ann.MFAEnabled, err)
	}
	code, out = c.do("POST", "/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": pw})
	mfaToken, _ := out["mfa_token"].(string)
	if code != http.StatusOK || out["mfa_required"] != true || out["access_token"] != nil || mfaToken == "" {
		t.Fatalf("login with MFA on: %d %v; want mfa_required and no tokens", code, out)
	}
	code, out = c.do("POST", "/api/v1/auth/mfa/verify", "", map[string]any{"mfa_token": mfaToken, "code": backup[0]})
	if code != http.StatusOK || out["access_token"] == nil {
		t.Fatalf("mfa/verify with a backup code: %d %v", code, out)
	}

	// A restart reads the same master secret and signing keys: tokens
	// issued before it still verify.
	h2, err := setup(ctx, db, rdb, prefix, dir, "https://example.test")
	if err != nil {
		t.Fatal(err)
	}
	if code, out := (client{t, h2}).do("GET", "/api/reports", bobTok, nil); code != http.StatusOK {
		t.Errorf("after a restart, GET /api/reports with an earlier token: %d %v; want 200", code, out)
	}
}

// totpNow computes the current RFC 6238 code for a base32 secret, as an
// authenticator app would.
func totpNow(secret string) (string, error) { return totp.GenerateCode(secret, time.Now()) }
