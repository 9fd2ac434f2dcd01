package oauth

import (
	"bytes"
	"errors"
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
		t.Fatalf("O2: expired cookie: %v", err)
	}
	if _, _, err := other.decode(v, now); err == nil {
		t.Fatal("O1: cookie for another redirect URI decoded")
	}
	if _, _, err := c.decode(v, now); err != nil {
		t.Fatal(err)
	}
}
