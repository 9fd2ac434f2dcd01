package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// stubVerifier accepts every signature and returns the payload: it isolates
// the claim checks (signatures are covered end to end with oauthtest).
type stubVerifier struct{}

func (stubVerifier) Start(context.Context) error { return nil }
func (stubVerifier) Close() error                { return nil }
func (stubVerifier) Verify(_ context.Context, c []byte, _ []string) ([]byte, error) {
	parts := strings.Split(string(c), ".")
	return base64.RawURLEncoding.DecodeString(parts[1])
}

func TestIDTokenClaims(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	f := &Flow{p: &Provider{Issuer: "https://idp.example", ClientID: "cid", IDTokenAlgs: []string{"ES256"}},
		now: func() time.Time { return now }, leeway: 30 * time.Second, verifier: stubVerifier{}}
	sum := sha256.Sum256([]byte("AT"))
	goodAtHash := base64.RawURLEncoding.EncodeToString(sum[:16])
	base := func() map[string]any {
		return map[string]any{"iss": "https://idp.example", "sub": "s", "aud": "cid", "exp": now.Unix() + 60,
			"iat": now.Unix(), "nonce": "N", "at_hash": goodAtHash}
	}
	tok := func(alg string, claims map[string]any) string {
		h, _ := json.Marshal(map[string]string{"alg": alg})
		p, _ := json.Marshal(claims)
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + ".c2ln"
	}
	cases := []struct {
		name   string
		mut    func(m map[string]any)
		maxAge time.Duration
		check  string // "" = accepted
	}{
		{"ok", func(map[string]any) {}, 0, ""},
		{"aud_array_with_azp", func(m map[string]any) { m["aud"] = []string{"cid", "other"}; m["azp"] = "cid" }, 0, ""},
		{"O8_aud_array_without_azp", func(m map[string]any) { m["aud"] = []string{"cid", "other"} }, 0, "azp"},
		{"O8_aud_missing", func(m map[string]any) { delete(m, "aud") }, 0, "aud"},
		{"O8_aud_empty_array", func(m map[string]any) { m["aud"] = []string{} }, 0, "aud"},
		{"O8_aud_wrong_type", func(m map[string]any) { m["aud"] = 5 }, 0, "aud"},
		{"O8_iss_trailing_slash", func(m map[string]any) { m["iss"] = "https://idp.example/" }, 0, "iss"},
		{"O8_iss_missing", func(m map[string]any) { delete(m, "iss") }, 0, "iss"},
		{"sub_missing", func(m map[string]any) { delete(m, "sub") }, 0, "sub"},
		{"O8_exp_missing", func(m map[string]any) { delete(m, "exp") }, 0, "exp"},
		{"O8_exp_within_leeway", func(m map[string]any) { m["exp"] = now.Unix() - 29 }, 0, ""},
		{"O8_exp_past_leeway", func(m map[string]any) { m["exp"] = now.Unix() - 30 }, 0, "exp"},
		{"O8_exp_string", func(m map[string]any) { m["exp"] = "9999999999" }, 0, "exp"},
		{"O8_iat_missing", func(m map[string]any) { delete(m, "iat") }, 0, "iat"},
		{"O8_iat_future", func(m map[string]any) { m["iat"] = now.Unix() + 31 }, 0, "iat"},
		{"nbf_future", func(m map[string]any) { m["nbf"] = now.Unix() + 31 }, 0, "nbf"},
		{"O8_nonce_wrong", func(m map[string]any) { m["nonce"] = "M" }, 0, "nonce"},
		{"O8_nonce_not_string", func(m map[string]any) { m["nonce"] = 1 }, 0, "nonce"},
		{"O8_at_hash_wrong", func(m map[string]any) { m["at_hash"] = "AAAA" }, 0, "at_hash"},
		{"at_hash_absent_ok", func(m map[string]any) { delete(m, "at_hash") }, 0, ""},
		{"O8_auth_time_missing_with_max_age", func(map[string]any) {}, time.Minute, "auth_time"},
		{"O8_auth_time_too_old", func(m map[string]any) { m["auth_time"] = now.Unix() - 91 }, time.Minute, "auth_time"},
		{"auth_time_recent", func(m map[string]any) { m["auth_time"] = now.Unix() - 60 }, time.Minute, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := base()
			c.mut(m)
			f.p.MaxAge = c.maxAge
			_, err := f.verifyIDToken(t.Context(), tok("ES256", m), Pending{Nonce: "N"}, "AT")
			if c.check == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ie *IDTokenError
			if !errors.As(err, &ie) || ie.Check != c.check {
				t.Fatalf("err = %v, want check %q", err, c.check)
			}
		})
	}
	t.Run("alg_allow_list_before_signature", func(t *testing.T) {
		f.p.MaxAge = 0
		for _, alg := range []string{"HS256", "none", "NONE", "RS256", ""} {
			_, err := f.verifyIDToken(t.Context(), tok(alg, base()), Pending{Nonce: "N"}, "AT")
			var ie *IDTokenError
			if !errors.As(err, &ie) || ie.Check != "alg" {
				t.Fatalf("alg %q: err = %v", alg, err)
			}
		}
	})
	t.Run("size_and_format", func(t *testing.T) {
		if _, err := f.verifyIDToken(t.Context(), strings.Repeat("a", maxIDTokenSize+1), Pending{Nonce: "N"}, "AT"); err == nil {
			t.Fatal("oversized token accepted")
		}
		for _, bad := range []string{"a.b", "a.b.c.d", ".b.c", "!!.b.c"} {
			if _, err := f.verifyIDToken(t.Context(), bad, Pending{Nonce: "N"}, "AT"); !errors.Is(err, ErrIDToken) {
				t.Fatalf("%q: %v", bad, err)
			}
		}
	})
	t.Run("email_verified_forms", func(t *testing.T) {
		for v, want := range map[any]bool{true: true, "true": true, false: false, "false": false, 1: false, nil: false} {
			if emailVerified(v) != want {
				t.Errorf("emailVerified(%v) != %v", v, want)
			}
		}
	})
}
