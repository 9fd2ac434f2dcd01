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
	"github.com/authkit-go/authkit/password"
	"golang.org/x/crypto/bcrypt"
)

// importRecord is one line of an -import file.
type importRecord struct {
	Email        string   `json:"email"`
	PasswordHash string   `json:"password_hash"`
	Roles        []string `json:"roles"`

	login string // canonical form of Email
}

// importFile is a parsed -import file.
type importFile struct {
	records []importRecord
	// bcryptCost is the highest bcrypt cost among the hashes, 0 when the
	// file holds none: NewApp sets password.Config.ImportedBcryptCost to
	// it, so that a failed login takes as long for an imported account as
	// for a native or unknown one.
	bcryptCost int
}

// readImportFile parses the -import file at path; see parseImport.
func readImportFile(path string) (*importFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseImport(f)
}

// parseImport reads users from JSON lines {"email","password_hash","roles"}.
// Hashes are argon2id PHC strings (any sane parameters) or bcrypt ($2a$,
// $2b$, $2y$). Lines that are empty or start with '#' are ignored; any other
// malformed line fails the whole import.
func parseImport(r io.Reader) (*importFile, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	out := &importFile{}
	line := 0
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
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		login, ok := authkit.CanonicalLogin(rec.Email)
		if !ok || !strings.Contains(login, "@") {
			return nil, fmt.Errorf("line %d: invalid email", line)
		}
		rec.login = login
		switch {
		case strings.HasPrefix(rec.PasswordHash, "$argon2id$"):
			if !verifiableArgon2id(rec.PasswordHash) {
				return nil, fmt.Errorf("line %d: argon2id hash with parameters outside m<=%d KiB, t<=%d, p<=%d",
					line, password.DefaultMaxMemoryKiB, password.MaxIterations, password.MaxParallelism)
			}
		case isBcrypt(rec.PasswordHash):
			cost, err := bcrypt.Cost([]byte(rec.PasswordHash))
			if err != nil {
				return nil, fmt.Errorf("line %d: malformed bcrypt hash", line)
			}
			if cost > password.DefaultMaxBcryptCost {
				return nil, fmt.Errorf("line %d: bcrypt cost %d above %d", line, cost, password.DefaultMaxBcryptCost)
			}
			out.bcryptCost = max(out.bcryptCost, cost)
		default:
			return nil, fmt.Errorf("line %d: password_hash is neither argon2id nor bcrypt", line)
		}
		if len(rec.Roles) == 0 {
			rec.Roles = []string{roleViewer}
		}
		for _, role := range rec.Roles {
			if role != roleViewer && role != roleAdmin {
				return nil, fmt.Errorf("line %d: unknown role %q", line, role)
			}
		}
		out.records = append(out.records, rec)
	}
	return out, sc.Err()
}

// verifiableArgon2id reports an argon2id v=19 hash whose parameters the
// password package's decoder accepts (at its default bounds): a hash above
// them could never sign its account in, and is refused at import instead.
func verifiableArgon2id(h string) bool {
	f := strings.Split(h, "$")
	var m, t, p uint64
	if len(f) < 6 || f[2] != "v=19" {
		return false
	}
	if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	return m >= 1 && m <= password.DefaultMaxMemoryKiB && t >= 1 && t <= password.MaxIterations && p >= 1 && p <= password.MaxParallelism
}

// isBcrypt reports a well-formed-looking bcrypt hash; the password package
// checks the rest (and bounds the cost) when wrapping it.
func isBcrypt(h string) bool {
	return len(h) == 60 && (strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$"))
}

// importUsers creates one account per record. Accounts that already exist
// are skipped, so the import can run on every start. argon2id hashes are
// stored as they are; bcrypt hashes are wrapped first
// (password.Hasher.WrapBcrypt: argon2id at the current parameters over the
// bcrypt output), so the stored hash never is plain bcrypt. Both kinds are
// replaced by a plain argon2id hash at the current parameters at the user's
// next successful login (rehash-on-login).
func importUsers(ctx context.Context, st accountStore, h *password.Hasher, f *importFile, now time.Time) (int, error) {
	n := 0
	for _, rec := range f.records {
		if _, found, err := st.UserByLogin(ctx, rec.login); err != nil {
			return n, err
		} else if found {
			continue
		}
		hash := rec.PasswordHash
		if isBcrypt(hash) {
			var err error
			if hash, err = h.WrapBcrypt(ctx, hash); err != nil {
				return n, fmt.Errorf("%s: %w", rec.login, err)
			}
		}
		uid, err := newUserID()
		if err != nil {
			return n, err
		}
		err = st.CreateUser(ctx, authkit.User{
			ID: uid, Email: rec.login, PasswordHash: hash, Roles: rec.Roles, CreatedAt: now,
		})
		switch {
		case errors.Is(err, authkit.ErrLoginTaken):
			continue
		case err != nil:
			return n, fmt.Errorf("%s: %w", rec.login, err)
		}
		n++
	}
	return n, nil
}
