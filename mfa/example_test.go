package mfa_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/store/memstore"
	"github.com/pquerna/otp/totp"
)

// newExampleMFA wires an MFA to in-memory stores. A deterministic Rand and
// clock keep the output stable; production code leaves both nil (crypto/rand
// and time.Now) and loads keys from a secret manager.
func newExampleMFA(now func() time.Time) *mfa.MFA {
	box, err := mfa.NewSecretBox(mfa.SecretBoxConfig{
		ActiveKeyID: "2026-11",
		Keys:        map[string][]byte{"2026-11": []byte("0123456789abcdef0123456789abcdef")},
	})
	if err != nil {
		log.Fatal(err)
	}
	st, err := memstore.New(memstore.Config{Now: now})
	if err != nil {
		log.Fatal(err)
	}
	m, err := mfa.New(mfa.Config{
		Issuer:    "Example Co",
		Store:     st.MFA(),
		Replay:    st.TOTPReplay(),
		Tickets:   st.Tickets(),
		Throttle:  st.Attempts(),
		Box:       box,
		BackupKey: []byte("a 32-byte server key for backups"),
		Now:       now,
		Rand:      bytes.NewReader(bytes.Repeat([]byte("1234567890"), 100)), // example only: fixed "randomness"
	})
	if err != nil {
		log.Fatal(err)
	}
	return m
}

func exampleClock() func() time.Time {
	t := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	return func() time.Time { return t }
}

// Enroll returns the key for the authenticator app: base32 for manual
// entry, the otpauth:// URI, and a QR code PNG of it.
func ExampleMFA_Enroll() {
	m := newExampleMFA(exampleClock())
	setup, err := m.Enroll(context.Background(), "user-42", "alice@example.com", mfa.Proof{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(setup.Secret)
	fmt.Println(setup.URL)
	fmt.Println(len(setup.QRPNG) > 0)
	// Output:
	// GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
	// otpauth://totp/Example%20Co:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30
	// true
}

// Confirm activates the key once the user proves a code, returns the backup
// codes once, and spends the code's time step.
func ExampleMFA_Confirm() {
	ctx := context.Background()
	now := exampleClock()
	m := newExampleMFA(now)
	setup, _ := m.Enroll(ctx, "user-42", "alice@example.com", mfa.Proof{})

	code, _ := totp.GenerateCode(setup.Secret, now()) // what the app shows
	backupCodes, err := m.Confirm(ctx, "user-42", code)
	if err != nil {
		log.Fatal(err)
	}
	enrolled, _ := m.Enrolled(ctx, "user-42")
	fmt.Println(len(backupCodes), enrolled)

	// The confirmation code cannot be replayed at login.
	err = m.VerifyTOTP(ctx, "user-42", code)
	fmt.Println(errors.Is(err, mfa.ErrReplayed), errors.Is(err, mfa.ErrInvalidCode))
	// Output:
	// 10 true
	// true true
}

// VerifyTOTP accepts a code at most once.
func ExampleMFA_VerifyTOTP() {
	ctx := context.Background()
	t := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return t }
	m := newExampleMFA(now)
	setup, _ := m.Enroll(ctx, "user-42", "alice@example.com", mfa.Proof{})
	c, _ := totp.GenerateCode(setup.Secret, t)
	if _, err := m.Confirm(ctx, "user-42", c); err != nil {
		log.Fatal(err)
	}

	t = t.Add(30 * time.Second) // the next login, one step later
	code, _ := totp.GenerateCode(setup.Secret, t)
	fmt.Println(m.VerifyTOTP(ctx, "user-42", code))
	fmt.Println(m.VerifyTOTP(ctx, "user-42", code))
	// Output:
	// <nil>
	// mfa: code already used
}

// A backup code works once, whatever its case, spacing or dashes.
func ExampleMFA_UseBackupCode() {
	ctx := context.Background()
	now := exampleClock()
	m := newExampleMFA(now)
	setup, _ := m.Enroll(ctx, "user-42", "alice@example.com", mfa.Proof{})
	c, _ := totp.GenerateCode(setup.Secret, now())
	backupCodes, err := m.Confirm(ctx, "user-42", c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(backupCodes[0]))
	fmt.Println(m.UseBackupCode(ctx, "user-42", backupCodes[0]))
	fmt.Println(m.UseBackupCode(ctx, "user-42", backupCodes[0]))
	// Output:
	// 29
	// <nil>
	// mfa: invalid code
}

// The two-step login: after the password step the login flow issues a
// challenge token instead of tokens, and completes the login when the
// second factor arrives with it.
func ExampleMFA_VerifyChallenge() {
	ctx := context.Background()
	t := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return t }
	m := newExampleMFA(now)
	setup, _ := m.Enroll(ctx, "user-42", "alice@example.com", mfa.Proof{})
	c, _ := totp.GenerateCode(setup.Secret, t)
	if _, err := m.Confirm(ctx, "user-42", c); err != nil {
		log.Fatal(err)
	}
	t = t.Add(time.Minute)

	// POST /auth/login: the password was right and MFA is enrolled.
	token, err := m.NewChallenge(ctx, "user-42", []byte("alice@example.com"))
	if err != nil {
		log.Fatal(err)
	}
	// POST /auth/mfa/verify {mfa_token, code}
	code, _ := totp.GenerateCode(setup.Secret, t)
	ch, method, err := m.VerifyChallenge(ctx, token, code)
	fmt.Println(ch.UserID, method, err)
	_, _, err = m.VerifyChallenge(ctx, token, code)
	fmt.Println(err)
	// Output:
	// user-42 totp <nil>
	// mfa: invalid challenge
}

// Rotating the sealing key: new seals use the active key, old blobs still
// open, and Reseal moves them to the active key.
func ExampleSecretBox() {
	oldKey := []byte("0123456789abcdef0123456789abcdef")
	newKey := []byte("fedcba9876543210fedcba9876543210")
	old, _ := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": oldKey}})
	blob, _ := old.Seal("user-42", []byte("totp key"))

	box, _ := mfa.NewSecretBox(mfa.SecretBoxConfig{ActiveKeyID: "k2", Keys: map[string][]byte{"k1": oldKey, "k2": newKey}})
	pt, _ := box.Open("user-42", blob)
	fmt.Println(string(pt))
	_, err := box.Open("user-7", blob) // bound to its user
	fmt.Println(err)
	resealed, changed, _ := box.Reseal("user-42", blob)
	id, _ := box.KeyID(resealed)
	fmt.Println(changed, id)
	// Output:
	// totp key
	// mfa: cannot open sealed secret
	// true k2
}

// Replacing an active factor needs proof of it: a current code (spent), or
// a sign-in that used the second factor recently (Proof.RecentSecondFactor).
func ExampleMFA_Enroll_replace() {
	ctx := context.Background()
	now := exampleClock()
	m := newExampleMFA(now)
	setup, _ := m.Enroll(ctx, "user-42", "alice@example.com", mfa.Proof{})
	code, _ := totp.GenerateCode(setup.Secret, now())
	if _, err := m.Confirm(ctx, "user-42", code); err != nil {
		log.Fatal(err)
	}

	_, err := m.Enroll(ctx, "user-42", "alice@example.com", mfa.Proof{})
	fmt.Println(errors.Is(err, mfa.ErrFactorRequired))
	_, err = m.Enroll(ctx, "user-42", "alice@example.com", mfa.Proof{RecentSecondFactor: true})
	fmt.Println(err)
	// Output:
	// true
	// <nil>
}

// Required fails closed: when the user record says MFA is on but the
// enrollment is gone, the login is refused with ErrStateMissing.
func ExampleMFA_Required() {
	ctx := context.Background()
	m := newExampleMFA(exampleClock())
	required, err := m.Required(ctx, "user-7", true) // the user record says MFA is on
	fmt.Println(required, errors.Is(err, mfa.ErrStateMissing))
	required, err = m.Required(ctx, "user-7", false)
	fmt.Println(required, err)
	// Output:
	// true true
	// false <nil>
}
