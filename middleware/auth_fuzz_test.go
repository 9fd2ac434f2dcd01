package middleware

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// FuzzTokenCookie checks TokenCookie against net/http's own parse for any
// Cookie header lines: it returns the one non-empty value of the first name
// present, and refuses a name present with two different values, never
// picking one of them.
func FuzzTokenCookie(f *testing.F) {
	for _, s := range []string{
		"access_token=abc",
		"a=1; access_token=abc; b=2",
		`access_token="quoted"`,
		"access_token=bad\\value; access_token=good",
		"access_token=; access_token=second",
		"access_token=a; __Host-access_token=b",
		"__Host-access_token=a; __Host-access_token=b",
		"x=1\nline2: access_token=y",
		strings.Repeat("a=1;", 3001) + "access_token=many",
	} {
		f.Add(s, "access_token=second-line")
	}
	names := []string{AccessCookie, LegacyAccessCookie}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		for _, lines := range [][]string{{line1}, {line1, line2}} {
			r := &http.Request{Header: http.Header{"Cookie": lines}}
			got, name, err := TokenCookie(r, names...)
			var want []string // distinct non-empty values of the first name present
			wantName := ""
			for _, n := range names {
				for _, c := range r.CookiesNamed(n) {
					if c.Value != "" && !slices.Contains(want, c.Value) {
						want = append(want, c.Value)
					}
				}
				if len(want) > 0 {
					wantName = n
					break
				}
			}
			switch {
			case len(want) > 1:
				if err != ErrDuplicateCookie || got != "" || name != wantName {
					t.Fatalf("lines %q: %q %q %v, want ErrDuplicateCookie", lines, got, name, err)
				}
			case len(want) == 1:
				if err != nil || got != want[0] || name != wantName {
					t.Fatalf("lines %q: %q %q %v, want %q", lines, got, name, err, want[0])
				}
			default:
				if err != nil || got != "" || name != "" {
					t.Fatalf("lines %q: %q %q %v, want none", lines, got, name, err)
				}
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
