package authkit_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
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

// failingRevoke is a refresh store whose Rotate (which also revokes the
// family of a replayed token) fails while armed.
type failingRevoke struct {
	jwt.RefreshStore
	f *outage
}

func (s failingRevoke) Rotate(ctx context.Context, r jwt.Rotation) (jwt.RotateResult, error) {
	if err := s.f.err(); err != nil {
		return jwt.RotateResult{}, err
	}
	return s.RefreshStore.Rotate(ctx, r)
}

// A replayed refresh token whose family could not be revoked (store down)
// must not be answered as if the family were revoked (401 token_reused,
// cookies cleared, client gives up) while the newest token of the family
// stays alive: it is a store failure, 503, and the retry revokes.
func TestReuseWhoseFamilyRevocationFailedIs503(t *testing.T) {
	f := &outage{}
	e := newEnv(t, func(c *authkit.Config) { c.RefreshStore = failingRevoke{RefreshStore: c.RefreshStore, f: f} })
	e.signup("r@example.com")
	c := e.login("r@example.com")
	old := c.refreshToken()
	e.expect(c.post("/auth/refresh", nil), http.StatusOK, "")
	f.on = true
	r := e.raw("POST", "/auth/refresh", "", "", refreshCookies(old))
	e.expect(r, http.StatusServiceUnavailable, "unavailable")
}

// A user-store failure after the refresh token was rotated answers 503;
// the client's retry with the same token must not be taken for a replay
// that revokes the family (a false token_reused alarm signs the user out).
func TestRefreshRetryAfterUserStoreFailureIsNotReuse(t *testing.T) {
	f := &outage{}
	e := newEnv(t, func(c *authkit.Config) { c.Users = outageUsers{UserStore: c.Users, f: f} })
	e.signup("u@example.com")
	c := e.login("u@example.com")
	f.on = true
	e.expect(c.post("/auth/refresh", nil), http.StatusServiceUnavailable, "unavailable")
	f.on = false
	e.expect(c.post("/auth/refresh", nil), http.StatusOK, "")
}

// A handler served without a cleaning mux in front must not redirect a
// non-canonical path out of its prefix: the inner mux would answer
// "/auth//login" with 307 Location: /login, and the browser would re-send
// the credentials to another endpoint of the host. It answers 404.
func TestNonCanonicalPathIsNotRedirectedOutOfThePrefix(t *testing.T) {
	e := newEnvAt(t, mount{name: "api", prefix: "/api/v1/auth", delivery: authkit.DeliverCookies})
	e.signup("p@example.com")
	h := e.auth.Handler(authkit.WithPrefix("/api/v1/auth"))
	body := `{"email":"p@example.com","password":"` + goodPassword + `"}`
	for _, p := range []string{"/api/v1/auth//login", "/api/v1/auth/./login", "/api/v1/auth/x/../login", "/api/v1/auth/../../login"} {
		req := httptest.NewRequest("POST", p, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNotFound || w.Header().Get("Location") != "" {
			t.Errorf("%s: %d Location %q, want 404", p, w.Code, w.Header().Get("Location"))
		}
	}
}

// A JSON body naming one member twice (exactly, or in another case, which
// encoding/json matches to the same field) is ambiguous: a proxy or audit
// log that reads the first may see another account than the handler, which
// keeps the last. It is refused (RFC 7493 section 2.3).
func TestDuplicateJSONMembersAreRefused(t *testing.T) {
	e := newEnv(t)
	e.signup("p@example.com")
	for _, b := range []string{
		`{"email":"x@example.com","email":"p@example.com","password":"` + goodPassword + `"}`,
		`{"email":"x@example.com","EMAIL":"p@example.com","password":"` + goodPassword + `"}`,
		`{"email":"p@example.com","password":"wrong guess","pa\u017f\u017fword":"` + goodPassword + `"}`,
		`{"email":"p@example.com","password":"` + goodPassword + `","x":{"a":1,"a":2}}`,
	} {
		e.expect(e.raw("POST", "/auth/login", "application/json", b, ""), http.StatusBadRequest, "invalid_request")
	}
	// Distinct members, nested or not, and huge numbers in unknown members are fine.
	e.expect(e.raw("POST", "/auth/login", "application/json",
		`{"email":"p@example.com","password":"`+goodPassword+`","x":[{"a":1},{"a":1e999}],"y":{"a":{"a":[]}}}`, ""), http.StatusOK, "")
}

// Body delivery sets no cookie, not even when refusing duplicate cookies:
// clearing __Host-access_token there would sign the browser out of the
// cookie endpoints of the same host.
func TestBodyDeliveryRefusesDuplicateCookiesWithoutSettingCookies(t *testing.T) {
	e := newEnvAt(t, mount{name: "body", prefix: "/api/v1/auth", delivery: authkit.DeliverBody})
	e.signup("b@example.com")
	c := e.login("b@example.com")
	dup := authkit.AccessCookie + "=" + c.accessToken() + "; " + authkit.AccessCookie + "=x"
	for _, p := range []string{"/auth/refresh", "/auth/logout-all"} {
		r := e.raw("POST", p, "", "", dup)
		e.expect(r, http.StatusUnauthorized, "invalid_token")
		if sc := r.header.Values("Set-Cookie"); len(sc) != 0 {
			t.Fatalf("%s: body delivery set cookies %v", p, sc)
		}
	}
}
