package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argon2CLIHash is what `argon2 SALT -id -t 3 -m 15 -p 4` prints (-e):
// m=32768 KiB, t=3, p=4, a 16-byte salt and a 32-byte tag.
func argon2CLIHash(t *testing.T, pw string) string {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte(pw), salt, 3, 32768, 4, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=32768,t=3,p=4$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
}

// TestImport: -import loads argon2id (m=32768) and bcrypt $2b$ hashes; the
// bcrypt one is stored wrapped in argon2id (never as plain bcrypt) and the
// hasher equalizes failed-login time at its cost; both log in and are
// rehashed to plain argon2id at the current parameters at that login.
func TestImport(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte(pw2), 10)
	if err != nil {
		t.Fatal(err)
	}
	bcrypt2b := "$2b$" + strings.TrimPrefix(string(bc), "$2a$")
	lines := []map[string]any{
		{"email": "argon@example.com", "password_hash": argon2CLIHash(t, pw1), "roles": []string{"admin"}},
		{"email": "bcrypt@example.com", "password_hash": bcrypt2b},
	}
	var sb strings.Builder
	sb.WriteString("# users exported from the old system\n")
	for _, l := range lines {
		b, _ := json.Marshal(l)
		sb.Write(b)
		sb.WriteString("\n")
	}
	file := filepath.Join(t.TempDir(), "users.jsonl")
	if err := os.WriteFile(file, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(o *Options) { o.ImportFile = file })
	if ts.app.importedBcryptCost != 10 {
		t.Fatalf("ImportedBcryptCost = %d, want the imported cost 10", ts.app.importedBcryptCost)
	}
	current := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", cheapParams.Memory, cheapParams.Iterations, cheapParams.Parallelism)

	for _, tc := range []struct{ email, pw, prefix, role string }{
		{"argon@example.com", pw1, "$argon2id$v=19$m=32768,t=3,p=4$", "admin"},
		{"bcrypt@example.com", pw2, "$bcrypt-argon2id$10$", "viewer"},
	} {
		t.Run(tc.email, func(t *testing.T) {
			u, found, err := ts.app.accounts.UserByLogin(t.Context(), tc.email)
			if err != nil || !found || !strings.HasPrefix(u.PasswordHash, tc.prefix) {
				t.Fatalf("imported %s: %v %v %q", tc.email, found, err, u.PasswordHash)
			}
			a := newAPI(t, ts)
			resp, body := a.login(tc.email, "wrong "+tc.pw)
			errCode(t, resp, body, 401, "invalid_credentials")
			got := a.loginOK(tc.email, tc.pw)
			if len(got.Roles) != 1 || got.Roles[0] != tc.role {
				t.Fatalf("roles %v", got.Roles)
			}
			u, _, _ = ts.app.accounts.UserByLogin(t.Context(), tc.email)
			if !strings.HasPrefix(u.PasswordHash, current) {
				t.Fatalf("hash not upgraded at login: %q", u.PasswordHash)
			}
			newAPI(t, ts).loginOK(tc.email, tc.pw) // the new hash verifies
		})
	}

	t.Run("rejects_bad_lines", func(t *testing.T) {
		for _, bad := range []string{
			`{"email":"x@example.com","password_hash":"plaintext"}`,
			`{"email":"not-an-email","password_hash":"` + bcrypt2b + `"}`,
			`{"email":"x@example.com","password_hash":"` + bcrypt2b + `","roles":["root"]}`,
			`{"email":"x@example.com","password_hash":"` + bcrypt2b + `","extra":1}`,
			`not json`,
		} {
			if _, err := parseImport(strings.NewReader(bad)); err == nil {
				t.Errorf("accepted %s", bad)
			}
		}
	})
}
