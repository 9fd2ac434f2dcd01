package authkit_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
)

// RequirementFromChallenge reads client input: it never panics, requires
// only a known level (the weakest listed), and gives a usable MaxAge.
func FuzzRequirementFromChallenge(f *testing.F) {
	for _, s := range []string{"", "mfa passkey", "passkey", "pwd mfa", "urn:x mfa", " \t mfa\n", "\xff"} {
		f.Add(s, int64(300), true)
		f.Add(s, int64(0), false)
	}
	f.Add("mfa", int64(-1), true)
	f.Add("mfa", int64(1)<<62, true)
	f.Fuzz(func(t *testing.T, acr string, maxAge int64, hasMaxAge bool) {
		var ma *int64
		if hasMaxAge {
			ma = &maxAge
		}
		req, err := authkit.RequirementFromChallenge(acr, ma)
		if err != nil {
			if !errors.Is(err, authkit.ErrStepUpUnavailable) && !(hasMaxAge && maxAge < 0) {
				t.Fatalf("(%q, %v): unexpected error %v", acr, ma, err)
			}
			return
		}
		if req.ACR != "" && !slices.Contains(middleware.DefaultACRLevels, req.ACR) {
			t.Fatalf("(%q): ACR %q outside the levels", acr, req.ACR)
		}
		switch {
		case !hasMaxAge && req.MaxAge != 0,
			hasMaxAge && maxAge == 0 && req.MaxAge != middleware.AlwaysReauthenticate,
			hasMaxAge && maxAge > 0 && req.MaxAge < time.Second:
			t.Fatalf("max_age %v: MaxAge %v", ma, req.MaxAge)
		}
	})
}

func TestRequirementFromChallenge(t *testing.T) {
	sec := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		acr    string
		maxAge *int64
		want   middleware.Requirement
		err    bool
	}{
		{"", nil, middleware.Requirement{}, false},
		{"mfa passkey", nil, middleware.Requirement{ACR: "mfa"}, false},
		{"passkey mfa", sec(300), middleware.Requirement{ACR: "mfa", MaxAge: 5 * time.Minute}, false},
		{"urn:other pwd", sec(0), middleware.Requirement{ACR: "pwd", MaxAge: middleware.AlwaysReauthenticate}, false},
		{"urn:other", nil, middleware.Requirement{}, true},
		{"", sec(-5), middleware.Requirement{}, true},
	} {
		got, err := authkit.RequirementFromChallenge(tc.acr, tc.maxAge)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("(%q, %v) = %+v, %v; want %+v, error %v", tc.acr, tc.maxAge, got, err, tc.want, tc.err)
		}
	}
}
