package main

// The mobile-style client of examples/README: the /auth endpoints at
// /api/v1/auth with the tokens in the JSON bodies, as curl or a native app
// uses them.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
)

type tokenResp struct {
	User         userResp `json:"user"`
	AccessToken  string   `json:"access_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
	RefreshToken string   `json:"refresh_token"`
}

func wantTokens(t *testing.T, resp *http.Response, body string) tokenResp {
	t.Helper()
	wantStatus(t, resp, body, http.StatusOK)
	wantNoCookies(t, resp)
	var tr tokenResp
	if err := json.Unmarshal([]byte(body), &tr); err != nil || tr.AccessToken == "" || tr.RefreshToken == "" ||
		tr.TokenType != "Bearer" || tr.ExpiresIn != 900 || tr.User.ID == "" {
		t.Fatalf("%s %s: token answer %s", resp.Request.Method, resp.Request.URL.Path, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	return tr
}

func TestContractNativeClient(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newClient(t)
	post := func(path string, body any, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		return postJSON(t, c, ts.url+nativePrefix+path, body, hdr)
	}

	resp, body := post("/signup", map[string]string{"email": "nat@example.com", "password": pw1}, nil)
	wantStatus(t, resp, body, http.StatusCreated)
	resp, body = post("/login", map[string]string{"email": "nat@example.com", "password": pw1}, nil)
	tok := wantTokens(t, resp, body)

	bearer := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	resp, body = do(t, c, http.MethodGet, ts.url+"/api/me", nil, bearer)
	wantStatus(t, resp, body, http.StatusOK)

	ts.clock.Add(time.Second)
	resp, body = post("/refresh", map[string]string{"refresh_token": tok.RefreshToken}, nil)
	next := wantTokens(t, resp, body)
	if next.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh token not rotated")
	}
	// The spent token again, after the retry window (5 s): the family is
	// revoked.
	ts.clock.Add(6 * time.Second)
	resp, body = post("/refresh", map[string]string{"refresh_token": tok.RefreshToken}, nil)
	errCode(t, resp, body, http.StatusUnauthorized, "token_reused")
	wantNoCookies(t, resp)

	resp, body = post("/login", map[string]string{"email": "nat@example.com", "password": pw1}, nil)
	tok = wantTokens(t, resp, body)
	resp, body = post("/logout", map[string]string{"refresh_token": tok.RefreshToken}, nil)
	wantStatus(t, resp, body, http.StatusNoContent)
	resp, body = post("/refresh", map[string]string{"refresh_token": tok.RefreshToken}, nil)
	errCode(t, resp, body, http.StatusUnauthorized, "invalid_token")

	// The body endpoints take JSON only.
	resp, body = do(t, c, http.MethodPost, ts.url+nativePrefix+"/login", strings.NewReader(`{"email":"nat@example.com","password":"`+pw1+`"}`),
		map[string]string{"Content-Type": "text/plain"})
	errCode(t, resp, body, http.StatusUnsupportedMediaType, "unsupported_media_type")
	resp, body = post("/refresh", nil, nil)
	errCode(t, resp, body, http.StatusBadRequest, "invalid_request")
}

// A browser at /auth keeps cookies; the same refresh token is not accepted
// as a cookie at the native prefix.
func TestContractNativeIgnoresCookies(t *testing.T) {
	ts := newTestServer(t, nil)
	a := newAPI(t, ts)
	a.signup("both@example.com", pw1)
	a.loginOK("both@example.com", pw1)
	resp, body := do(t, a.c, http.MethodPost, ts.url+nativePrefix+"/refresh", nil, a.cookieHeader())
	errCode(t, resp, body, http.StatusUnauthorized, "invalid_token")
}

// A planted refresh cookie next to the real one is refused by the example
// server too.
func TestContractPlantedRefreshCookie(t *testing.T) {
	ts := newTestServer(t, nil)
	victim, attacker := newAPI(t, ts), newAPI(t, ts)
	victim.signup("v@example.com", pw1)
	attacker.signup("x@example.com", pw1)
	victim.loginOK("v@example.com", pw1)
	attacker.loginOK("x@example.com", pw1)
	resp, body := do(t, victim.c, http.MethodPost, ts.url+"/auth/refresh", nil,
		map[string]string{"Cookie": refreshName + "=" + attacker.refresh + "; " + refreshName + "=" + victim.refresh})
	errCode(t, resp, body, http.StatusUnauthorized, "invalid_token")
	wantCleared(t, resp, accessName, accessCookie)
	wantCleared(t, resp, refreshName, refreshCookie)
}

type downAccounts struct{ accountStore }

var errDown = errors.New("connection refused")

func (downAccounts) UserByID(context.Context, string) (authkit.User, bool, error) {
	return authkit.User{}, false, errDown
}

func (downAccounts) CountUsers(context.Context) (int, error) { return 0, errDown }

// The example's own endpoints answer a user-store failure as the library
// does: 503 unavailable with Retry-After.
func TestContractUserStoreOutageIs503(t *testing.T) {
	ts := newTestServer(t, nil)
	admin := newAPI(t, ts)
	admin.signup("admin@example.com", pw1)
	admin.loginOK("admin@example.com", pw1)
	ts.app.accounts = downAccounts{ts.app.accounts}
	for _, path := range []string{"/api/me", "/api/admin/stats"} {
		resp, body := admin.get(path)
		errCode(t, resp, body, http.StatusServiceUnavailable, "unavailable")
		if resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: no Retry-After", path)
		}
	}
}
