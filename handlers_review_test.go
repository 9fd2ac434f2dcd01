package authkit_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/authkit-go/authkit"
)

// Login CSRF by cookie tossing: a sibling HTTPS subdomain plants its own
// refresh token as __Secure-refresh_token for the parent domain. A victim
// without a refresh cookie of their own (signed out, or cleared by the
// duplicate-cookie refusal) would be signed in as the attacker by the app's
// next /refresh. A refresh cookie is used only next to the __Host- binding
// cookie set with it, which no other host can plant.
func TestPlantedRefreshCookieAloneDoesNotSignTheVictimIn(t *testing.T) {
	e := newEnv(t)
	e.signup("victim@example.com")
	e.signup("attacker@example.com")
	attacker := e.login("attacker@example.com")
	planted := attacker.refreshToken()

	victim := e.client()
	victim.cookies[authkit.RefreshCookie] = &http.Cookie{Name: authkit.RefreshCookie, Value: planted}
	r := victim.post("/auth/refresh", nil)
	e.expect(r, http.StatusUnauthorized, "invalid_token")
	if r.access != "" || r.refresh != "" {
		t.Fatalf("victim got tokens: %v", r.header.Values("Set-Cookie"))
	}
	// The planted token was not spent: the attacker still refreshes.
	e.expect(attacker.post("/auth/refresh", nil), http.StatusOK, "")
}

// The duplicate-cookie refusal clears the victim's host-only cookies but
// cannot clear a cookie planted for the parent domain; the planted one left
// alone must not be used either.
func TestDuplicateRefusalDoesNotHandThePlantedCookieTheSession(t *testing.T) {
	e := newEnv(t)
	e.signup("victim@example.com")
	e.signup("attacker@example.com")
	victim := e.login("victim@example.com")
	planted := e.login("attacker@example.com").refreshToken()

	// The browser sends the planted cookie (narrower path) first.
	r := e.raw("POST", "/auth/refresh", "", "", authkit.RefreshCookie+"="+planted+"; "+cookieHeader(victim))
	e.expect(r, http.StatusUnauthorized, "invalid_token")
	// The victim's browser applies the clearing; the planted cookie stays.
	for name, ck := range r.cookies {
		if ck.MaxAge < 0 {
			delete(victim.cookies, name)
		}
	}
	victim.cookies[authkit.RefreshCookie] = &http.Cookie{Name: authkit.RefreshCookie, Value: planted}
	r = victim.post("/auth/refresh", nil)
	e.expect(r, http.StatusUnauthorized, "invalid_token")
}

// cookieHeader is the Cookie header a browser holding c's cookies sends.
func cookieHeader(c *client) string {
	h := ""
	for _, ck := range c.cookies {
		if h != "" {
			h += "; "
		}
		h += ck.Name + "=" + ck.Value
	}
	return h
}

// bindingOf is the documented value of authkit.RefreshBindingCookie for tok.
func bindingOf(tok string) string {
	sum := sha256.Sum256([]byte("authkit refresh binding\x00" + tok))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// refreshCookies is the Cookie header of a browser holding refresh token
// tok as set by the handler: the refresh cookie and its binding.
func refreshCookies(tok string) string {
	return authkit.RefreshCookie + "=" + tok + "; " + authkit.RefreshBindingCookie + "=" + bindingOf(tok)
}
