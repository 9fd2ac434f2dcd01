package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/authkit-go/authkit"
)

// importRecord is one line of an -import file.
type importRecord struct {
	Email        string   `json:"email"`
	PasswordHash string   `json:"password_hash"`
	Roles        []string `json:"roles"`
}

// importUsersFile loads users from a JSON lines file; see importUsers.
func importUsersFile(ctx context.Context, st accountStore, path string, now time.Time) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return importUsers(ctx, st, f, now)
}

// importUsers creates one account per JSON line {"email","password_hash",
// "roles"}. Hashes are argon2id PHC strings (any sane parameters) or bcrypt
// ($2a$, $2b$, $2y$); they are stored as they are and replaced by a hash with
// the current argon2id parameters at the user's next successful login
// (rehash-on-login). Accounts that already exist are skipped, so the import
// can run on every start. Lines that are empty or start with '#' are ignored.
func importUsers(ctx context.Context, st accountStore, r io.Reader, now time.Time) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n, line := 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		var rec importRecord
		if err := dec.Decode(&rec); err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		login, ok := authkit.CanonicalLogin(rec.Email)
		if !ok || !strings.Contains(login, "@") {
			return n, fmt.Errorf("line %d: invalid email", line)
		}
		if !plausibleHash(rec.PasswordHash) {
			return n, fmt.Errorf("line %d: password_hash is neither argon2id nor bcrypt", line)
		}
		roles := rec.Roles
		if len(roles) == 0 {
			roles = []string{roleViewer}
		}
		for _, role := range roles {
			if role != roleViewer && role != roleAdmin {
				return n, fmt.Errorf("line %d: unknown role %q", line, role)
			}
		}
		uid, err := newUserID()
		if err != nil {
			return n, err
		}
		err = st.CreateUser(ctx, authkit.User{
			ID: uid, Email: login, PasswordHash: rec.PasswordHash, Roles: roles, CreatedAt: now,
		})
		switch {
		case errors.Is(err, authkit.ErrLoginTaken):
			continue
		case err != nil:
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		n++
	}
	return n, sc.Err()
}

// plausibleHash accepts the formats the password package verifies; the
// parameters themselves are checked (and bounded) at verification time.
func plausibleHash(h string) bool {
	switch {
	case strings.HasPrefix(h, "$argon2id$"):
		return true
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		return len(h) == 60
	}
	return false
}
