package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
)

// TestCookieTossingRefused: a sibling subdomain plants a second access
// token cookie of the same name (the attacker's own token, sent first
// because of its longer path or earlier creation). The request must not be
// authenticated as either user: 401, and the response clears the cookies.
func TestCookieTossingRefused(t *testing.T) {
	iss, v, _ := newAuthFixtureV(t)
	victim := issue(t, iss, "victim")
	attacker := issue(t, iss, "attacker")
	for _, name := range []string{middleware.AccessCookie, middleware.LegacyAccessCookie} {
		t.Run(name, func(t *testing.T) {
			var fails failures
			a := mustAuthenticator(t, middleware.AuthenticatorConfig{Verifier: v, OnDeny: fails.hook,
				CookieNames: []string{middleware.AccessCookie, middleware.LegacyAccessCookie}})
			h := &recordPrincipal{}
			r := httptest.NewRequest("GET", "https://app.example.com/account", nil)
			r.Header.Set("Cookie", name+"="+attacker+"; "+name+"="+victim)
			w := httptest.NewRecorder()
			a.RequireAuth(h).ServeHTTP(w, r)
			if h.reached || w.Code != 401 || w.Body.String() != bodyUnauthenticated {
				t.Fatalf("tossed cookie: reached=%v (as %q) status %d", h.reached, h.p.Subject, w.Code)
			}
			if !slices.Equal(fails.reasons, []string{middleware.ReasonDuplicateCookie}) {
				t.Fatalf("reasons %q", fails.reasons)
			}
			cleared := clearedCookies(w.Result().Cookies())
			if !slices.Contains(cleared, name+" path=/ domain=") {
				t.Fatalf("cookie %s not cleared: %q", name, cleared)
			}
			if name == middleware.LegacyAccessCookie && !slices.Contains(cleared, name+" path=/ domain=example.com") {
				t.Fatalf("planted parent-domain cookie not cleared: %q", cleared)
			}
			// Identify refuses too: a tossed cookie is an invalid credential,
			// not an anonymous request.
			h = &recordPrincipal{}
			w = httptest.NewRecorder()
			a.Identify(h).ServeHTTP(w, r)
			if h.reached || w.Code != 401 {
				t.Fatalf("Identify passed a tossed cookie: status %d", w.Code)
			}
		})
	}
}

// TestHostCookieAcceptedAndPreferred: the __Host- cookie (which no sibling
// subdomain and no http page can set) authenticates, and wins over a plain
// cookie a sibling planted next to it when a host opts in to the plain name.
func TestHostCookieAcceptedAndPreferred(t *testing.T) {
	iss, v, _ := newAuthFixtureV(t)
	a := mustAuthenticator(t, middleware.AuthenticatorConfig{Verifier: v,
		CookieNames: []string{middleware.AccessCookie, middleware.LegacyAccessCookie}})
	victim := issue(t, iss, "victim")
	attacker := issue(t, iss, "attacker")
	for _, tt := range []struct{ name, cookie, want string }{
		{"host_cookie", middleware.AccessCookie + "=" + victim, "victim"},
		{"legacy_cookie", middleware.LegacyAccessCookie + "=" + victim, "victim"},
		{"host_wins_over_planted_plain", middleware.LegacyAccessCookie + "=" + attacker + "; " + middleware.AccessCookie + "=" + victim, "victim"},
		{"empty_planted_duplicate_ignored", middleware.LegacyAccessCookie + "=; " + middleware.LegacyAccessCookie + "=" + victim, "victim"},
		// An older browser lets a sibling set "__HOST-..." without the
		// prefix rules; names are matched exactly, so it is not the
		// __Host- cookie and is not read.
		{"prefix_in_other_case_is_another_name", "__HOST-access_token=" + attacker + "; __host-access_token=" + attacker + "; " + middleware.AccessCookie + "=" + victim, "victim"},
		{"same_value_twice_is_no_ambiguity", middleware.LegacyAccessCookie + "=" + victim + "; " + middleware.LegacyAccessCookie + "=" + victim, "victim"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &recordPrincipal{}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", tt.cookie)
			w := httptest.NewRecorder()
			a.RequireAuth(h).ServeHTTP(w, r)
			if w.Code != 204 || h.p.Subject != tt.want || h.p.Method != "cookie" {
				t.Fatalf("status %d subject %q method %q", w.Code, h.p.Subject, h.p.Method)
			}
		})
	}
}

// TestTokenCookieDuplicates is the helper root uses for the refresh cookie.
func TestTokenCookieDuplicates(t *testing.T) {
	r := httptest.NewRequest("POST", "/auth/refresh", nil)
	r.Header.Add("Cookie", "refresh_token=a")
	r.Header.Add("Cookie", "other=1; refresh_token=b")
	if _, _, err := middleware.TokenCookie(r, "refresh_token"); err != middleware.ErrDuplicateCookie {
		t.Fatalf("two lines: err %v", err)
	}
	r = httptest.NewRequest("POST", "/auth/refresh", nil)
	r.Header.Set("Cookie", "x=1; refresh_token=\"abc\"")
	if v, name, err := middleware.TokenCookie(r, "__Secure-refresh_token", "refresh_token"); err != nil || v != "abc" || name != "refresh_token" {
		t.Fatalf("TokenCookie = %q %q %v", v, name, err)
	}
	if v, name, err := middleware.TokenCookie(httptest.NewRequest("GET", "/", nil), "refresh_token"); err != nil || v != "" || name != "" {
		t.Fatalf("no cookie: %q %q %v", v, name, err)
	}
}

func issue(t *testing.T, iss *jwt.Issuer, sub string) string {
	t.Helper()
	tok, _, err := iss.Issue(t.Context(), jwt.AccessTokenRequest{Subject: sub})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustAuthenticator(t *testing.T, cfg middleware.AuthenticatorConfig) *middleware.Authenticator {
	t.Helper()
	a, err := middleware.NewAuthenticator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// clearedCookies lists "name path=P domain=D" of the expiring Set-Cookies.
func clearedCookies(cs []*http.Cookie) []string {
	var out []string
	for _, c := range cs {
		if c.MaxAge < 0 && c.Value == "" {
			out = append(out, c.Name+" path="+c.Path+" domain="+strings.TrimPrefix(c.Domain, "."))
		}
	}
	return out
}

// TestClearTokenCookiesDomains: parent domains are cleared for plain host
// names only; IP literals and odd Host values get host-only clearing.
func TestClearTokenCookiesDomains(t *testing.T) {
	for _, tt := range []struct {
		host string
		want []string
	}{
		{"a.b.example.com:8443", []string{"refresh_token path=/auth domain=", "refresh_token path=/auth domain=b.example.com", "refresh_token path=/auth domain=example.com"}},
		{"example.com", []string{"refresh_token path=/auth domain="}},
		{"192.0.2.1:80", []string{"refresh_token path=/auth domain="}},
		{"[2001:db8::1]:443", []string{"refresh_token path=/auth domain="}},
		{"a.b_c;.example.com", []string{"refresh_token path=/auth domain="}},
	} {
		r := httptest.NewRequest("POST", "/auth/refresh", nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		middleware.ClearTokenCookies(w, r, "/auth", middleware.LegacyRefreshCookie)
		if got := clearedCookies(w.Result().Cookies()); !slices.Equal(got, tt.want) {
			t.Errorf("host %q: cleared %q, want %q", tt.host, got, tt.want)
		}
	}
	w := httptest.NewRecorder()
	middleware.ClearTokenCookies(w, httptest.NewRequest("GET", "https://app.example.com/", nil), "/auth", middleware.AccessCookie, middleware.RefreshCookie)
	raw := w.Header().Values("Set-Cookie")
	if len(raw) != 3 || raw[0] != "__Host-access_token=; Path=/; Max-Age=0; HttpOnly; Secure" ||
		raw[1] != "__Secure-refresh_token=; Path=/auth; Max-Age=0; HttpOnly; Secure" ||
		raw[2] != "__Secure-refresh_token=; Path=/auth; Domain=example.com; Max-Age=0; HttpOnly; Secure" {
		t.Fatalf("Set-Cookie %q", raw)
	}
}

// TestPlantedLegacyCookieIgnoredByDefault: a sibling subdomain plants the
// plain access_token cookie (Domain=example.com) holding the attacker's
// own token. While the victim has no __Host- cookie (signed out, or after
// it expired with the access token) that cookie would be the only one
// sent, and the victim would act inside the attacker's account (login
// CSRF). authkit itself sets only the __Host- name, so by default the
// plain name is not read; a host that still issues it lists it in
// CookieNames.
func TestPlantedLegacyCookieIgnoredByDefault(t *testing.T) {
	iss, v, a := newAuthFixtureV(t)
	attacker := issue(t, iss, "attacker")
	h := &recordPrincipal{}
	r := httptest.NewRequest("GET", "https://app.example.com/account", nil)
	r.Header.Set("Cookie", middleware.LegacyAccessCookie+"="+attacker)
	w := httptest.NewRecorder()
	a.RequireAuth(h).ServeHTTP(w, r)
	if h.reached || w.Code != 401 {
		t.Fatalf("planted plain cookie authenticated as %q (status %d)", h.p.Subject, w.Code)
	}
	// Opting in by name still works.
	optIn := mustAuthenticator(t, middleware.AuthenticatorConfig{Verifier: v,
		CookieNames: []string{middleware.AccessCookie, middleware.LegacyAccessCookie}})
	h = &recordPrincipal{}
	w = httptest.NewRecorder()
	optIn.RequireAuth(h).ServeHTTP(w, r)
	if w.Code != 204 || h.p.Subject != "attacker" {
		t.Fatalf("opt-in legacy cookie: status %d subject %q", w.Code, h.p.Subject)
	}
}
