package authkit_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
)

// The refresh cookie's Path follows the prefix; the access cookie stays at
// Path=/ (a __Host- cookie must).
func TestCookiePathsFollowThePrefix(t *testing.T) {
	for _, m := range mounts {
		if m.delivery == authkit.DeliverBody {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			e := newEnvAt(t, m)
			e.signup("p@example.com")
			r := e.client().post("/auth/login", map[string]string{"email": "p@example.com", "password": goodPassword})
			wantResp(t, r, http.StatusOK, "")
			a, rt := r.cookies[authkit.AccessCookie], r.cookies[authkit.RefreshCookie]
			if a == nil || a.Path != "/" || a.Domain != "" || !a.Secure || !a.HttpOnly || a.SameSite != http.SameSiteLaxMode {
				t.Fatalf("access cookie %v", a)
			}
			if rt == nil || rt.Path != m.prefix || rt.Domain != "" || !rt.Secure || !rt.HttpOnly || rt.SameSite != http.SameSiteStrictMode {
				t.Fatalf("refresh cookie %v, want Path=%s", rt, m.prefix)
			}
		})
	}
}

// A handler mounted somewhere its prefix does not say answers 404 rather
// than set cookies for a path the browser never sends them to.
func TestHandlerMountedAtTheWrongPrefixAnswers404(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name  string
		mount string
		h     http.Handler
	}{
		{"default prefix under /api/v1/auth", "/api/v1/auth/", e.auth.Handler()},
		{"stripped to the wrong depth", "/api/v1/auth/", http.StripPrefix("/api/v1", e.auth.Handler())},
		{"stripped twice", "/api/v1/auth/", http.StripPrefix("/api/v1/auth", e.auth.Handler(authkit.WithPrefix("/auth")))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle(tc.mount, tc.h)
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"email":"a@example.com","password":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			mux.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotFound || len(rec.Result().Cookies()) != 0 {
				t.Fatalf("status %d %s, want 404", rec.Code, rec.Body)
			}
		})
	}
}

// Bad options refuse every request with 500 instead of serving half-set-up.
func TestBadHandlerOptionsRefuseEveryRequest(t *testing.T) {
	e := newEnv(t)
	for _, opts := range [][]authkit.HandlerOption{
		{authkit.WithPrefix("auth")},
		{authkit.WithPrefix("/auth/")},
		{authkit.WithPrefix("/a/../auth")},
		{authkit.WithPrefix("/a;b")},
		{authkit.WithDelivery(authkit.Delivery(9))},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/auth/login", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		e.auth.Handler(opts...).ServeHTTP(rec, req)
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("options %v: status %d", opts, rec.Code)
		}
	}
}

// Every JSON error has the Content-Type middleware.WriteError writes: one
// Content-Type for every error body of the library.
func TestErrorBodiesHaveOneContentType(t *testing.T) {
	rec := httptest.NewRecorder()
	middleware.WriteError(rec, http.StatusTeapot, "x")
	wantCT := rec.Header().Get("Content-Type")
	e := newEnv(t)
	e.signup("ct@example.com")
	cases := []resp{
		e.raw("POST", "/auth/login", "text/plain", "{}", ""),
		e.raw("POST", "/auth/login", "application/json", "null", ""),
		e.raw("POST", "/auth/signup", "application/json", `{"email":"ct2@example.com","password":"x"}`, ""),
		e.raw("POST", "/auth/login", "application/json", `{"email":"ct@example.com","password":"wrong wrong"}`, ""),
		e.raw("POST", "/auth/refresh", "", "", ""),
		e.raw("POST", "/auth/logout-all", "", "", ""),
		e.raw("GET", "/auth/login", "", "", ""),
		e.raw("POST", "/auth/nope", "", "", ""),
		e.client().post("/auth/login", map[string]string{"email": "ct@example.com", "password": goodPassword}),
	}
	for i, r := range cases {
		if got := r.header.Get("Content-Type"); got != wantCT {
			t.Errorf("case %d (%d %s): Content-Type %q, want %q", i, r.status, r.raw, got, wantCT)
		}
	}
}

// With both deliveries, a refresh token in the body is used before the
// cookie, and the body is held to the same JSON rules.
func TestBothDeliveriesPreferTheBodyToken(t *testing.T) {
	e := newEnvAt(t, mount{name: "both", prefix: "/auth", delivery: authkit.DeliverCookiesAndBody})
	e.signup("one@example.com")
	e.signup("two@example.com")
	one := e.login("one@example.com")
	two := e.login("two@example.com")
	r := e.raw("POST", "/auth/refresh", "application/json", `{"refresh_token":"`+two.refreshToken()+`"}`,
		authkit.RefreshCookie+"="+one.refreshToken())
	wantResp(t, r, http.StatusOK, "")
	if r.body["user"].(map[string]any)["email"] != "two@example.com" || r.body["refresh_token"] == "" {
		t.Fatalf("refresh answered %s", r.raw)
	}
	wantResp(t, e.raw("POST", "/auth/refresh", "text/plain", `{"refresh_token":"x"}`, authkit.RefreshCookie+"="+one.refreshToken()),
		http.StatusUnsupportedMediaType, "unsupported_media_type")
	wantResp(t, e.raw("POST", "/auth/refresh", "application/json", `null`, authkit.RefreshCookie+"="+one.refreshToken()),
		http.StatusBadRequest, "invalid_request")
	// A JSON Content-Type without a body (as fetch may send) means the
	// cookie, so does an empty body member.
	r = e.raw("POST", "/auth/refresh", "application/json", ``, authkit.RefreshCookie+"="+one.refreshToken())
	wantResp(t, r, http.StatusOK, "")
	one.setRefresh(r.body["refresh_token"].(string))
	r = e.raw("POST", "/auth/refresh", "application/json", `{}`, authkit.RefreshCookie+"="+one.refreshToken())
	wantResp(t, r, http.StatusOK, "")
	if r.body["user"].(map[string]any)["email"] != "one@example.com" {
		t.Fatalf("refresh answered %s", r.raw)
	}
}

// Body delivery never reads the refresh cookie: a browser's cookie cannot
// be spent through a native endpoint by a cross-site form.
func TestBodyDeliveryIgnoresTheRefreshCookie(t *testing.T) {
	e := newEnvAt(t, mount{name: "body", prefix: "/auth", delivery: authkit.DeliverBody})
	e.signup("n@example.com")
	c := e.login("n@example.com")
	wantResp(t, e.raw("POST", "/auth/refresh", "", "", authkit.RefreshCookie+"="+c.refreshToken()), http.StatusUnauthorized, "invalid_token")
	wantResp(t, e.raw("POST", "/auth/refresh", "application/json", `{"refresh_token":"`+c.refreshToken()+`"}`, ""), http.StatusOK, "")
}

// A panic in the flow is a bug: 500 internal_error, logged, the server
// keeps serving.
func TestPanicIs500(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) {
		c.Roles = func(login string) []string {
			if login == "p@example.com" {
				panic("bug")
			}
			return nil
		}
	})
	wantResp(t, e.raw("POST", "/auth/signup", "application/json", `{"email":"p@example.com","password":"`+goodPassword+`"}`, ""),
		http.StatusInternalServerError, "internal_error")
	e.signup("ok@example.com")
}
