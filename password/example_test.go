package password_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/alexedwards/argon2id"
	"github.com/authkit-go/authkit/password"
)

// Hash a new password and verify it at login.
func Example() {
	ctx := context.Background()
	h, err := password.New(password.Config{}) // OWASP defaults: m=19456 KiB, t=2, p=1
	if err != nil {
		panic(err)
	}
	stored, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		panic(err)
	}
	ok, needsRehash, err := h.Verify(ctx, "correct horse battery staple", stored)
	fmt.Println(ok, needsRehash, err)
	ok, _, err = h.Verify(ctx, "Correct horse battery staple", stored)
	fmt.Println(ok, err)
	// Output:
	// true false <nil>
	// false <nil>
}

// Verify at login, upgrade old hashes, and spend the same effort on unknown
// users.
func ExampleHasher_Verify() {
	ctx := context.Background()
	h, err := password.New(password.Config{})
	if err != nil {
		panic(err)
	}
	// A hash imported from an older system with other argon2id parameters.
	stored, err := argon2id.CreateHash("hunter2 but longer", &argon2id.Params{
		Memory: 12288, Iterations: 3, Parallelism: 1, SaltLength: 16, KeyLength: 32,
	})
	if err != nil {
		panic(err)
	}

	login := func(pw string, userFound bool) string {
		if !userFound {
			if err := h.VerifyDummy(ctx, pw); err != nil {
				return "try again later" // ErrBusy: same answer as for real users
			}
			return "invalid credentials"
		}
		ok, needsRehash, err := h.Verify(ctx, pw, stored)
		if errors.Is(err, password.ErrBusy) {
			return "try again later"
		}
		if err != nil || !ok {
			return "invalid credentials"
		}
		if needsRehash {
			if stored, err = h.Hash(ctx, pw); err != nil {
				return "logged in (rehash failed, kept old hash)"
			}
			return "logged in, hash upgraded"
		}
		return "logged in"
	}
	fmt.Println(login("hunter2 but longer", true))
	fmt.Println(login("hunter2 but longer", true))
	fmt.Println(login("wrong", true))
	fmt.Println(login("anything", false))
	// Output:
	// logged in, hash upgraded
	// logged in
	// invalid credentials
	// invalid credentials
}

// Check a new password at sign-up, and report which rule failed.
func ExamplePolicy_Check() {
	p, err := password.NewPolicy(password.PolicyConfig{}) // 8..256 code points, no composition rules
	if err != nil {
		panic(err)
	}
	user := password.UserInfo{Email: "alice@example.com", Name: "Alice"}
	for _, pw := range []string{
		"short",
		"Password",
		"alice@example.com",
		"12345678",
		"correct horse battery staple",
	} {
		err := p.Check(context.Background(), pw, user)
		var pe *password.PolicyError
		switch {
		case err == nil:
			fmt.Printf("%q: ok\n", pw)
		case errors.As(err, &pe):
			fmt.Printf("%q: rejected (%s)\n", pw, pe.Rule)
		default:
			fmt.Printf("%q: check failed: %v\n", pw, err)
		}
	}
	// Output:
	// "short": rejected (too_short)
	// "Password": rejected (common)
	// "alice@example.com": rejected (context)
	// "12345678": rejected (repetitive)
	// "correct horse battery staple": ok
}

// Import a user whose password hash comes from a bcrypt system: store the
// wrapped form, verify it at login, and replace it with a plain argon2id
// hash when Verify asks for a rehash.
func ExampleHasher_WrapBcrypt() {
	ctx := context.Background()
	// While imported hashes remain, every login pays the same bcrypt.
	h, err := password.New(password.Config{ImportedBcryptCost: 10})
	if err != nil {
		panic(err)
	}
	// The legacy system's hash of "hunter2 but longer", bcrypt cost 10.
	const legacy = "$2a$10$i4QxWXVeDV6nxA8zwfDqTeLjapBoNUa44YVOPjhxG9EjjT6a4STYK"
	stored, err := h.WrapBcrypt(ctx, legacy) // at import; the bcrypt hash is not kept
	if err != nil {
		panic(err)
	}
	ok, needsRehash, err := h.Verify(ctx, "hunter2 but longer", stored)
	fmt.Println(ok, needsRehash, err)
	if ok && needsRehash {
		stored, _ = h.Hash(ctx, "hunter2 but longer") // store this instead
	}
	ok, needsRehash, err = h.Verify(ctx, "hunter2 but longer", stored)
	fmt.Println(ok, needsRehash, err)
	// Output:
	// true true <nil>
	// true false <nil>
}
