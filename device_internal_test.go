package authkit

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func fuzzAuth() *Auth {
	return &Auth{
		cfg: Config{
			DeviceKey: []byte(strings.Repeat("k", 32)),
			Now:       func() time.Time { return time.Unix(1_800_000_000, 0) },
			Rand:      bytes.NewReader(bytes.Repeat([]byte{1}, 16)), // one token, the same in every fuzz worker
		},
		lockout: &Lockout{deviceLife: time.Hour},
	}
}

// FuzzDeviceToken: a device token from the client never panics the parser
// and is accepted only exactly as issued, for the login it names.
func FuzzDeviceToken(f *testing.F) {
	a := fuzzAuth()
	good, err := a.IssueDeviceToken(User{Email: "ann@example.com"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Value, "ann@example.com")
	f.Add(good.Value+"x", "ann@example.com")
	f.Add("dv1....", "")
	f.Add("dv1.a.b.c.d", "ann@example.com")
	f.Fuzz(func(t *testing.T, tok, login string) {
		id := a.deviceID(tok, login)
		if id == "" {
			return
		}
		if tok != good.Value || login != "ann@example.com" || !strings.HasPrefix(tok, deviceTokenPrefix+id+".") {
			t.Fatalf("accepted %q for %q (id %q)", tok, login, id)
		}
	})
}

// FuzzMFATag: the signed user tag of an MFA token names a user only when
// this Auth signed it for that challenge.
func FuzzMFATag(f *testing.F) {
	a := fuzzAuth()
	tag := a.mfaTag("mfa_abc", "u1")
	f.Add("mfa_abc", tag)
	f.Add("mfa_abd", tag)
	f.Add("mfa_abc", "dTE.AAAA")
	f.Fuzz(func(t *testing.T, tok, tg string) {
		if uid := a.mfaTagUser(tok, tg); uid != "" && (tok != "mfa_abc" || tg != tag || uid != "u1") {
			t.Fatalf("tag %q for %q named %q", tg, tok, uid)
		}
	})
}

// FuzzCanonicalLogin: the canonical form is stable (canonicalizing it again
// changes nothing), valid UTF-8, free of format, control and space
// characters, and within the length limits.
func FuzzCanonicalLogin(f *testing.F) {
	for _, s := range []string{"Ann@Example.com", "ann@xn--bcher-kva.example", "a\u200bb@c.d", "ａｌｉｃｅ@example.com", "x@ß.de", "@", "a@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := CanonicalLogin(s)
		if !ok {
			return
		}
		if again, ok2 := CanonicalLogin(c); !ok2 || again != c {
			t.Fatalf("CanonicalLogin(%q) = %q, but again gives %q, %v", s, c, again, ok2)
		}
		if !utf8.ValidString(c) || c == "" {
			t.Fatalf("invalid result %q", c)
		}
		for _, r := range c {
			if unicode.In(r, unicode.Cf, unicode.Cc, unicode.Z) || r == utf8.RuneError {
				t.Fatalf("result %q holds %U", c, r)
			}
		}
		local, domain := c, ""
		if at := strings.LastIndexByte(c, '@'); at >= 0 {
			local, domain = c[:at], c[at+1:]
		}
		if len(local) > maxLocalLen || len(domain) > maxDomainLen {
			t.Fatalf("result %q over the length limits", c)
		}
	})
}

// TestUnparsedClientIPCannotNameAnotherCounter: a host that passes an
// unchecked Client.IP (a raw header) cannot make the per-IP key read as a
// login, device, MFA or limiter counter key in the shared AttemptStore.
func TestUnparsedClientIPCannotNameAnotherCounter(t *testing.T) {
	for _, ip := range []string{"mfa:user-1", "login:0:ann@example.com", "device:abc", "rl:x", ""} {
		got := ipLimitKey(ip, 64)
		if got != "unparsed-ip:"+ip {
			t.Errorf("ipLimitKey(%q) = %q, want %q", ip, got, "unparsed-ip:"+ip)
		}
	}
	if got := ipLimitKey("203.0.113.7", 64); got != "203.0.113.7" {
		t.Errorf("ipLimitKey(IPv4) = %q, want the address", got)
	}
}
