package mfa_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/mfa"
)

// TestOathtool checks that codes from an independent RFC 6238
// implementation (oath-toolkit's oathtool, as authenticator apps compute
// them) pass verification for every algorithm and both lengths. It skips
// when oathtool is missing, except under CI=true.
func TestOathtool(t *testing.T) {
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("oathtool not installed under CI: %v", err)
		}
		t.Skip("oathtool not installed")
	}
	ctx := context.Background()
	for _, alg := range []mfa.Algorithm{mfa.SHA1, mfa.SHA256, mfa.SHA512} {
		for _, digits := range []int{6, 8} {
			for _, unix := range []int64{1111111109, 1790000000, 20000000000} {
				e := newEnv(t, func(c *mfa.Config) { c.Algorithm, c.Digits = alg, digits })
				e.clock.Set(time.Unix(unix, 0))
				s, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{})
				if err != nil {
					t.Fatal(err)
				}
				oath := func(at time.Time) string {
					t.Helper()
					out, err := exec.Command(path, "--totp="+alg.String(), "-b", "-d", strconv.Itoa(digits), "-s", "30s",
						"--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), s.Secret).Output()
					if err != nil {
						t.Fatalf("oathtool: %v", err)
					}
					return strings.TrimSpace(string(out))
				}
				code := oath(e.clock.Now())
				if len(code) != digits {
					t.Fatalf("oathtool printed %q", code)
				}
				if _, err := e.m.Confirm(ctx, "u1", code); err != nil {
					t.Errorf("%s/%d t=%d: oathtool code %s rejected at confirm: %v", alg, digits, unix, code, err)
					continue
				}
				e.clock.Add(mfa.Period)
				if err := e.m.VerifyTOTP(ctx, "u1", oath(e.clock.Now())); err != nil {
					t.Errorf("%s/%d t=%d: oathtool code rejected at login: %v", alg, digits, unix, err)
				}
			}
		}
	}
}
