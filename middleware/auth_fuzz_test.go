package middleware

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzCookieValue checks that the allocation-free cookie lookup used by the
// cookie source finds exactly what (*http.Request).Cookie finds, for any
// Cookie header lines, so the two can never disagree about which access
// token a request carries.
func FuzzCookieValue(f *testing.F) {
	for _, s := range []string{
		"access_token=abc",
		"a=1; access_token=abc; b=2",
		`access_token="quoted"`,
		`access_token="`,
		"access_token=bad\\value; access_token=good",
		"access_token=; access_token=second",
		" access_token = spaced ",
		"access_token=a=b=c",
		"ACCESS_TOKEN=upper",
		"access_token",
		";;;access_token=x;;",
		"access_token=\x7f; access_token=ok",
		"x=1\nline2: access_token=y",
		"access_token=v1\x00access_token=v2",
		strings.Repeat("a=1;", 3001) + "access_token=many",
	} {
		f.Add(s, "access_token=second-line")
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		for _, lines := range [][]string{{line1}, {line1, line2}} {
			h := http.Header{"Cookie": lines}
			want, err := (&http.Request{Header: h}).Cookie("access_token")
			got, ok := cookieValue(h, "access_token")
			if (err == nil) != ok || (ok && got != want.Value) {
				t.Fatalf("Cookie header %q: cookieValue = %q, %v; net/http = %+v, %v", lines, got, ok, want, err)
			}
		}
	})
}

func TestValidCookieName(t *testing.T) {
	for name, want := range map[string]bool{"access_token": true, "__Host-at": true, "": false, "a b": false, "a;b": false,
		"a=b": false, `a"b`: false, "a\\b": false, "é": false, "a\x00": false} {
		if got := validCookieName(name); got != want {
			t.Errorf("validCookieName(%q) = %v, want %v", name, got, want)
		}
	}
}
