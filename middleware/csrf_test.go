package middleware

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// stateful is a handler that changes state on every request it receives, so a
// test can assert that a rejected request had no effect.
type stateful struct{ calls atomic.Int64 }

func (s *stateful) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func newReq(method, target string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Host = "app.example.com"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

func mustCSRF(t testing.TB, cfg CSRFConfig) *CSRF {
	t.Helper()
	c, err := NewCSRF(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCSRFRejectsCrossOriginUnsafeRequests runs every cross-origin case through CSRF.Handler and
// checks both the status and that a rejected request never reached the
// state-changing handler.
func TestCSRFRejectsCrossOriginUnsafeRequests(t *testing.T) {
	c := mustCSRF(t, CSRFConfig{
		TrustedOrigins:         []string{"https://partner.example.net"},
		InsecureBypassPatterns: []string{"POST /webhooks/{name}"},
	})
	tests := []struct {
		name   string
		method string
		target string
		hdr    map[string]string
		ok     bool
	}{
		{"cross_site_POST_rejected", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"same_site_POST_rejected", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"sibling_subdomain_rejected", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://blog.example.com"}, false},
		{"sibling_subdomain_old_browser_rejected", "POST", "/transfer", map[string]string{"Origin": "https://blog.example.com"}, false},
		{"same_origin_allowed", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"sec_fetch_none_allowed", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "none"}, true},
		{"no_sec_fetch_origin_matches_host_allowed", "POST", "/transfer", map[string]string{"Origin": "https://app.example.com"}, true},
		{"no_sec_fetch_origin_differs_rejected", "POST", "/transfer", map[string]string{"Origin": "https://evil.example"}, false},
		{"no_sec_fetch_origin_null_rejected", "POST", "/transfer", map[string]string{"Origin": "null"}, false},
		{"neither_header_allowed", "POST", "/transfer", nil, true},
		{"GET_cross_site_allowed", "GET", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"HEAD_cross_site_allowed", "HEAD", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"OPTIONS_cross_site_allowed", "OPTIONS", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"PUT_cross_site_rejected", "PUT", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"DELETE_cross_site_rejected", "DELETE", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"PATCH_old_browser_cross_origin_rejected", "PATCH", "/transfer", map[string]string{"Origin": "https://evil.example"}, false},
		{"logout_POST_cross_site_rejected", "POST", "/auth/logout", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"trusted_origin_exact_allowed", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.example.net"}, true},
		{"trusted_origin_other_port_rejected", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.example.net:8443"}, false},
		{"trusted_origin_other_scheme_rejected", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://partner.example.net"}, false},
		{"trusted_origin_suffix_rejected", "POST", "/transfer", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.example.net.evil.com"}, false},
		{"bypass_pattern_allowed", "POST", "/webhooks/github", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"bypass_pattern_other_method_rejected", "PUT", "/webhooks/github", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"bypass_pattern_uncleaned_path_rejected", "POST", "/webhooks/../transfer", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"bypass_pattern_subpath_rejected", "POST", "/webhooks/github/extra", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &stateful{}
			rec := httptest.NewRecorder()
			r := newReq(tt.method, tt.target, tt.hdr)
			c.Handler(h).ServeHTTP(rec, r)
			if tt.ok {
				if rec.Code != http.StatusNoContent || h.calls.Load() != 1 {
					t.Fatalf("status %d, handler calls %d; want allowed (204, 1 call)", rec.Code, h.calls.Load())
				}
				if err := c.Check(r); err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if rec.Code != http.StatusForbidden || h.calls.Load() != 0 {
				t.Fatalf("status %d, handler calls %d; want 403 and the handler never reached", rec.Code, h.calls.Load())
			}
			if got := rec.Body.String(); got != "{\"error\":\"forbidden\"}\n" {
				t.Fatalf("body %q", got)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if err := c.Check(r); !errors.Is(err, ErrCrossOrigin) {
				t.Fatalf("Check = %v, want ErrCrossOrigin", err)
			}
		})
	}
}

// crossSiteBlocked submits a browser cross-site form POST to h and reports
// an error if it changed state.
func crossSiteBlocked(h http.Handler, st *stateful) error {
	rec := httptest.NewRecorder()
	r := newReq("POST", "/transfer", map[string]string{
		"Sec-Fetch-Site": "cross-site",
		"Origin":         "https://evil.example",
		"Content-Type":   "application/x-www-form-urlencoded",
	})
	h.ServeHTTP(rec, r)
	if st.calls.Load() != 0 {
		return errors.New("cross-site POST reached the state-changing handler")
	}
	return nil
}

// TestCSRFRemovingLayerFails proves the cross-origin assertion depends on the
// middleware: the same check passes with it and fails without it.
func TestCSRFRemovingLayerFails(t *testing.T) {
	c := mustCSRF(t, CSRFConfig{})
	protected := &stateful{}
	if err := crossSiteBlocked(c.Handler(protected), protected); err != nil {
		t.Fatalf("with CSRF: %v", err)
	}
	unprotected := &stateful{}
	if err := crossSiteBlocked(unprotected, unprotected); err == nil {
		t.Fatal("without CSRF the cross-site POST was still blocked: the cross-origin test would not detect a missing layer")
	}
}

func TestCSRF_DenyHook(t *testing.T) {
	var gotErr error
	c := mustCSRF(t, CSRFConfig{Deny: func(w http.ResponseWriter, r *http.Request, err error) {
		gotErr = err
		WriteError(w, http.StatusTeapot, "custom")
	}})
	rec := httptest.NewRecorder()
	c.Handler(&stateful{}).ServeHTTP(rec, newReq("POST", "/", map[string]string{"Sec-Fetch-Site": "cross-site"}))
	if rec.Code != http.StatusTeapot || rec.Body.String() != "{\"error\":\"custom\"}\n" || !errors.Is(gotErr, ErrCrossOrigin) {
		t.Fatalf("deny hook: %d %q %v", rec.Code, rec.Body.String(), gotErr)
	}
}

// TestCSRFOnDenyAuditsEveryRejection: OnDeny sees each rejected request
// with its reason before Deny writes, and never an accepted one.
func TestCSRFOnDenyAuditsEveryRejection(t *testing.T) {
	var order []string
	var audited []error
	c := mustCSRF(t, CSRFConfig{
		OnDeny: func(r *http.Request, err error) { order = append(order, "audit"); audited = append(audited, err) },
		Deny: func(w http.ResponseWriter, r *http.Request, err error) {
			order = append(order, "deny")
			WriteError(w, http.StatusForbidden, CodeForbidden)
		},
	})
	h := &stateful{}
	c.Handler(h).ServeHTTP(httptest.NewRecorder(), newReq("POST", "/", map[string]string{"Sec-Fetch-Site": "same-origin"}))
	c.Handler(h).ServeHTTP(httptest.NewRecorder(), newReq("POST", "/", map[string]string{"Sec-Fetch-Site": "cross-site"}))
	if len(audited) != 1 || !errors.Is(audited[0], ErrCrossOrigin) || fmt.Sprint(order) != "[audit deny]" || h.calls.Load() != 1 {
		t.Fatalf("audited %v, order %v, handler calls %d; want one ErrCrossOrigin audited before deny, one call", audited, order, h.calls.Load())
	}
}

func TestNewCSRF_InvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  CSRFConfig
	}{
		{"bad_origin", CSRFConfig{TrustedOrigins: []string{"not an origin"}}},
		{"origin_with_path", CSRFConfig{TrustedOrigins: []string{"https://a.example/path"}}},
		{"bad_pattern", CSRFConfig{InsecureBypassPatterns: []string{"POST /x/{bad"}}},
		{"conflicting_patterns", CSRFConfig{InsecureBypassPatterns: []string{"/a", "/a"}}},
		{"token_mode_without_secret", CSRFConfig{TokenMode: CSRFTokenAlways}},
		{"unknown_mode", CSRFConfig{TokenMode: 7, SessionSecret: func(*http.Request) ([]byte, bool) { return nil, false }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := NewCSRF(tt.cfg); err == nil || c != nil {
				t.Fatalf("NewCSRF = %v, %v; want nil and an error", c, err)
			}
		})
	}
}

// sessions maps a session cookie value to its secret, standing in for the
// session package.
type sessions map[string][]byte

func (s sessions) secret(r *http.Request) ([]byte, bool) {
	ck, err := r.Cookie("sid")
	if err != nil {
		return nil, false
	}
	sec, ok := s[ck.Value]
	return sec, ok
}

func tokenCSRF(t testing.TB, mode CSRFTokenMode, s sessions) *CSRF {
	return mustCSRF(t, CSRFConfig{TokenMode: mode, SessionSecret: s.secret})
}

func sessionReq(method, sid string, hdr map[string]string) *http.Request {
	r := newReq(method, "/settings", hdr)
	if sid != "" {
		r.AddCookie(&http.Cookie{Name: "sid", Value: sid})
	}
	return r
}

func tokenFor(t testing.TB, c *CSRF, sid string) string {
	t.Helper()
	tok, err := c.Token(sessionReq("GET", sid, nil))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestCSRFTokenMode: the token is bound to the session secret,
// compared in constant time (hmac.Equal), required on unsafe methods only,
// and rotated when the session secret rotates at login.
func TestCSRFTokenMode(t *testing.T) {
	s := sessions{
		"alice": bytes.Repeat([]byte{1}, 32),
		"bob":   bytes.Repeat([]byte{2}, 32),
		"short": []byte("tiny"),
	}
	c := tokenCSRF(t, CSRFTokenWithoutFetchMetadata, s)
	alice := tokenFor(t, c, "alice")
	alice2 := tokenFor(t, c, "alice")
	if alice == alice2 {
		t.Fatal("two tokens for one session are equal; each must carry a fresh nonce")
	}
	tampered := []byte(alice)
	tampered[len(tampered)-2] ^= 'A' ^ 'B'
	tests := []struct {
		name string
		req  *http.Request
		want error
	}{
		{"S8_valid_header", sessionReq("POST", "alice", map[string]string{"X-CSRF-Token": alice}), nil},
		{"S8_second_token_valid", sessionReq("POST", "alice", map[string]string{"X-CSRF-Token": alice2}), nil},
		{"S8_missing_token", sessionReq("POST", "alice", nil), ErrCSRFTokenMissing},
		{"S8_other_sessions_token", sessionReq("POST", "alice", map[string]string{"X-CSRF-Token": tokenFor(t, c, "bob")}), ErrCSRFTokenInvalid},
		{"S8_tampered_token", sessionReq("POST", "alice", map[string]string{"X-CSRF-Token": string(tampered)}), ErrCSRFTokenInvalid},
		{"S8_truncated_token", sessionReq("POST", "alice", map[string]string{"X-CSRF-Token": alice[:len(alice)-1]}), ErrCSRFTokenInvalid},
		{"S8_garbage_token", sessionReq("POST", "alice", map[string]string{"X-CSRF-Token": "!!!!"}), ErrCSRFTokenInvalid},
		{"S8_no_session", sessionReq("POST", "", map[string]string{"X-CSRF-Token": alice}), ErrCSRFNoSession},
		{"S8_short_secret_fails_closed", sessionReq("POST", "short", map[string]string{"X-CSRF-Token": alice}), ErrCSRFNoSession},
		{"S8_GET_needs_no_token", sessionReq("GET", "alice", nil), nil},
		{"S8_HEAD_needs_no_token", sessionReq("HEAD", "alice", nil), nil},
		{"S8_fetch_metadata_same_origin_needs_no_token", sessionReq("POST", "alice", map[string]string{"Sec-Fetch-Site": "same-origin"}), nil},
		{"S8_cross_site_rejected_even_with_token", sessionReq("POST", "alice", map[string]string{"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": alice}), ErrCrossOrigin},
		{"S8_old_browser_same_origin_needs_token", sessionReq("POST", "alice", map[string]string{"Origin": "https://app.example.com"}), ErrCSRFTokenMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &stateful{}
			rec := httptest.NewRecorder()
			c.Handler(h).ServeHTTP(rec, tt.req)
			if tt.want == nil {
				if rec.Code != http.StatusNoContent || h.calls.Load() != 1 {
					t.Fatalf("status %d calls %d; want allowed", rec.Code, h.calls.Load())
				}
				return
			}
			if rec.Code != http.StatusForbidden || h.calls.Load() != 0 {
				t.Fatalf("status %d calls %d; want 403 and handler not reached", rec.Code, h.calls.Load())
			}
			if err := c.Check(tt.req); !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("form_field", func(t *testing.T) {
		body := url.Values{"csrf_token": {alice}, "amount": {"1"}}.Encode()
		r := httptest.NewRequest("POST", "/settings", strings.NewReader(body))
		r.Host = "app.example.com"
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: "sid", Value: "alice"})
		if err := c.Check(r); err != nil {
			t.Fatalf("form token: %v", err)
		}
		if r.PostFormValue("amount") != "1" {
			t.Fatal("form not available to the handler after Check")
		}
	})

	t.Run("rotated_on_login", func(t *testing.T) {
		rot := sessions{"s": bytes.Repeat([]byte{7}, 32)}
		c := tokenCSRF(t, CSRFTokenAlways, rot)
		old := tokenFor(t, c, "s")
		if err := c.Check(sessionReq("POST", "s", map[string]string{"X-CSRF-Token": old})); err != nil {
			t.Fatalf("before rotation: %v", err)
		}
		rot["s"] = bytes.Repeat([]byte{8}, 32) // the session package renews the secret at login
		if err := c.Check(sessionReq("POST", "s", map[string]string{"X-CSRF-Token": old})); !errors.Is(err, ErrCSRFTokenInvalid) {
			t.Fatalf("pre-login token after rotation: %v, want ErrCSRFTokenInvalid", err)
		}
		if err := c.Check(sessionReq("POST", "s", map[string]string{"X-CSRF-Token": tokenFor(t, c, "s")})); err != nil {
			t.Fatalf("new token after rotation: %v", err)
		}
	})

	t.Run("always_mode_requires_token_with_fetch_metadata", func(t *testing.T) {
		c := tokenCSRF(t, CSRFTokenAlways, s)
		if err := c.Check(sessionReq("POST", "alice", map[string]string{"Sec-Fetch-Site": "same-origin"})); !errors.Is(err, ErrCSRFTokenMissing) {
			t.Fatalf("Check = %v, want ErrCSRFTokenMissing", err)
		}
	})

	t.Run("bypass_pattern_skips_token", func(t *testing.T) {
		c := mustCSRF(t, CSRFConfig{TokenMode: CSRFTokenAlways, SessionSecret: s.secret, InsecureBypassPatterns: []string{"POST /hook"}})
		r := sessionReq("POST", "alice", nil)
		r.URL.Path = "/hook"
		if err := c.Check(r); err != nil {
			t.Fatalf("bypassed path: %v", err)
		}
	})

	t.Run("constant_time_compare", func(t *testing.T) {
		// The comparison is hmac.Equal over the full MAC: a token differing
		// only in its last MAC byte is rejected like any other.
		sec := s["alice"]
		raw := make([]byte, csrfTokenLen)
		mac := csrfMAC(sec, raw[:csrfNonceLen])
		copy(raw[csrfNonceLen:], mac[:])
		if !verifyCSRFToken(sec, b64(raw)) {
			t.Fatal("valid token rejected")
		}
		raw[len(raw)-1] ^= 1
		if verifyCSRFToken(sec, b64(raw)) || hmac.Equal(mac[:], raw[csrfNonceLen:]) {
			t.Fatal("token with a flipped last byte accepted")
		}
	})
}

// naiveDoubleSubmit is the classic double-submit cookie check: the request is
// accepted when the csrf cookie equals the form/header value. It is what the
// session-bound token replaces.
func naiveDoubleSubmit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie("csrf")
		if err != nil || ck.Value == "" || ck.Value != r.Header.Get("X-CSRF-Token") {
			WriteError(w, http.StatusForbidden, CodeForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestCSRFTokenResistsCookieTossing: an attacker controlling a sibling subdomain
// (evil.example.com) plants a cookie for .example.com (cookie tossing) and
// makes an old browser without Fetch Metadata or Origin submit a form with the
// matching value. The naive double-submit check accepts it; the
// session-bound token rejects it, even when the attacker submits a valid
// token for their own session.
func TestCSRFTokenResistsCookieTossing(t *testing.T) {
	s := sessions{
		"victim":   bytes.Repeat([]byte{3}, 32),
		"attacker": bytes.Repeat([]byte{4}, 32),
	}
	c := tokenCSRF(t, CSRFTokenWithoutFetchMetadata, s)
	attackerToken := tokenFor(t, c, "attacker")

	attack := func() *http.Request {
		r := newReq("POST", "/settings/email", map[string]string{"X-CSRF-Token": attackerToken})
		r.AddCookie(&http.Cookie{Name: "sid", Value: "victim"})       // the victim's real session
		r.AddCookie(&http.Cookie{Name: "csrf", Value: attackerToken}) // tossed from evil.example.com
		return r
	}

	naive := &stateful{}
	rec := httptest.NewRecorder()
	naiveDoubleSubmit(naive).ServeHTTP(rec, attack())
	if rec.Code != http.StatusNoContent || naive.calls.Load() != 1 {
		t.Fatalf("naive double-submit: status %d; the attack was expected to succeed against it", rec.Code)
	}

	ours := &stateful{}
	rec = httptest.NewRecorder()
	c.Handler(ours).ServeHTTP(rec, attack())
	if rec.Code != http.StatusForbidden || ours.calls.Load() != 0 {
		t.Fatalf("session-bound token: status %d calls %d; want 403, handler not reached", rec.Code, ours.calls.Load())
	}
	if err := c.Check(attack()); !errors.Is(err, ErrCSRFTokenInvalid) {
		t.Fatalf("Check = %v, want ErrCSRFTokenInvalid", err)
	}
}

func TestCSRF_TokenErrors(t *testing.T) {
	c := mustCSRF(t, CSRFConfig{})
	if _, err := c.Token(newReq("GET", "/", nil)); err == nil {
		t.Fatal("Token without SessionSecret succeeded")
	}
	s := sessions{"a": bytes.Repeat([]byte{1}, 32)}
	c = mustCSRF(t, CSRFConfig{TokenMode: CSRFTokenAlways, SessionSecret: s.secret, Rand: bytes.NewReader(nil)})
	if _, err := c.Token(sessionReq("GET", "a", nil)); err == nil {
		t.Fatal("Token with a failing Rand succeeded")
	}
	if _, err := c.Token(sessionReq("GET", "", nil)); !errors.Is(err, ErrCSRFNoSession) {
		t.Fatalf("Token without session: %v", err)
	}
}

func TestWriteError(t *testing.T) {
	for _, code := range []string{"forbidden", `a"b\c`, "x<y>&\n\u00e9"} {
		rec := httptest.NewRecorder()
		WriteError(rec, http.StatusBadRequest, code)
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("code %q: body %q is not JSON: %v", code, rec.Body.String(), err)
		}
		if len(body) != 1 || rec.Code != http.StatusBadRequest || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("code %q: %d %v", code, rec.Code, body)
		}
		if code == "forbidden" && body["error"] != "forbidden" {
			t.Fatalf("got %q", body["error"])
		}
	}
}

func FuzzVerifyCSRFToken(f *testing.F) {
	sec := bytes.Repeat([]byte{9}, 32)
	tok, _ := newCSRFToken(bytes.NewReader(make([]byte, 64)), sec)
	f.Add(tok)
	f.Add("")
	f.Add("====")
	f.Add(strings.Repeat("A", 64))
	f.Fuzz(func(t *testing.T, s string) {
		ok := verifyCSRFToken(sec, s)
		if ok && s != tok {
			// Only the canonical encoding of the one token with an all-zero
			// nonce may verify; anything else would be a forgery.
			t.Fatalf("forged token %q accepted", s)
		}
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
