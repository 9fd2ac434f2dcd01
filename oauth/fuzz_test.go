package oauth

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func FuzzParseCallbackQuery(f *testing.F) {
	for _, s := range []string{
		"code=abc&state=xyz&iss=https%3A%2F%2Fidp.example",
		"error=access_denied&error_description=no&state=s",
		"code=a&code=b&state=s",
		"state=s",
		"code=a&state=s;x=1",
		"code=%zz&state=s",
		"code=a&state=" + strings.Repeat("s", 600),
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cp, err := parseCallbackQuery(raw)
		if err != nil {
			if !errors.Is(err, ErrCallback) && !errors.Is(err, ErrState) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if cp.state == "" || (cp.code == "") == (cp.errCode == "") {
			t.Fatalf("accepted %q: %+v", raw, cp)
		}
		if len(cp.code) > 4096 || len(cp.state) > 512 || len(cp.iss) > 2048 {
			t.Fatalf("oversized value accepted")
		}
	})
}

func FuzzDecodeStateCookie(f *testing.F) {
	key := bytes.Repeat([]byte{1}, 32)
	c, err := newCookieCodec(key, "__Host-x", "https://app.example.com/cb")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	valid, err := c.encode(bytes.NewReader(make([]byte, 64)), "state-1",
		Pending{Verifier: "v", Nonce: "n", ReturnTo: "/x", Expiry: now.Add(time.Minute)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add("")
	f.Add("AQ")
	f.Add(strings.Repeat("A", 5000))
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, v string) {
		state, p, err := c.decode(v, now)
		if err != nil {
			return
		}
		// Only the genuine cookie authenticates.
		if v != valid || state != "state-1" || p.Verifier != "v" || p.Nonce != "n" || p.ReturnTo != "/x" {
			t.Fatalf("forged cookie %q decoded to %q %+v", v, state, p)
		}
	})
}

func TestCookieCodecExpiryAndBinding(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	c, _ := newCookieCodec(key, "__Host-x", "https://app.example.com/cb")
	other, _ := newCookieCodec(key, "__Host-x", "https://app.example.com/other")
	now := time.Unix(1_700_000_000, 0)
	v, err := c.encode(bytes.NewReader(make([]byte, 64)), "s", Pending{Verifier: "v", Expiry: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.decode(v, now.Add(time.Minute)); !errors.Is(err, ErrState) {
		t.Fatalf("expired cookie: %v", err)
	}
	if _, _, err := other.decode(v, now); err == nil {
		t.Fatal("cookie for another redirect URI decoded")
	}
	if _, _, err := c.decode(v, now); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseStepUpChallenge: a resource server's WWW-Authenticate fields are
// untrusted. Parsing never panics, and an accepted challenge stays within
// the documented limits.
func FuzzParseStepUpChallenge(f *testing.F) {
	for _, s := range []string{
		`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"`,
		`Bearer error="insufficient_user_authentication", max_age="5"`,
		`Basic realm="x", Negotiate YWJj==, Bearer error=insufficient_user_authentication, max_age=0`,
		`Bearer realm="a \"b\"", error="insufficient_user_authentication", acr_values="a b c"`,
		`Bearer error="insufficient_user_authentication", max_age=5, max_age=6`,
		`Bearer ,,, error="insufficient_user_authentication"`,
	} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		h := http.Header{"Www-Authenticate": {a}}
		if b != "" {
			h.Add("WWW-Authenticate", b)
		}
		c, err := ParseStepUpChallenge(h)
		if err != nil {
			if !errors.Is(err, ErrChallenge) && !errors.Is(err, ErrNoStepUpChallenge) {
				t.Fatalf("error %v matches neither sentinel", err)
			}
			return
		}
		if !strings.Contains(strings.ToLower(strings.ReplaceAll(a+b, `\`, "")), "insufficient_user_authentication") {
			t.Fatalf("challenge from %q %q without the error code", a, b)
		}
		if len(c.ACRValues) > maxACRValues || c.MaxAge < 0 || (c.MaxAge != 0 && !c.HasMaxAge) || len(c.Description) > maxDescriptionLen {
			t.Fatalf("challenge out of limits: %+v", c)
		}
		for _, v := range c.ACRValues {
			if v == "" || len(v) > maxACRValueLen || !nqschar(v, false) {
				t.Fatalf("acr value %q", v)
			}
		}
	})
}
