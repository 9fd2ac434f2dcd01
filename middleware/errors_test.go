package middleware_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authkit-go/authkit/middleware"
)

// TestWriteErrorEscapesAsJSON: the body is what encoding/json writes, so
// non-ASCII text stays UTF-8 and any string round-trips.
func TestWriteErrorEscapesAsJSON(t *testing.T) {
	for _, tt := range []struct{ code, body string }{
		{"forbidden", `{"error":"forbidden"}` + "\n"},
		{"café", `{"error":"café"}` + "\n"},
		{`a"b\c`, `{"error":"a\"b\\c"}` + "\n"},
		{"<script>&", `{"error":"\u003cscript\u003e\u0026"}` + "\n"},
		{"\x00\n", `{"error":"\u0000\n"}` + "\n"},
		{"\xff", `{"error":"\ufffd"}` + "\n"},
	} {
		w := httptest.NewRecorder()
		middleware.WriteError(w, http.StatusBadRequest, tt.code)
		if got := w.Body.String(); got != tt.body {
			t.Errorf("WriteError(%q) body %q, want %q", tt.code, got, tt.body)
		}
		var v struct{ Error string }
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Errorf("WriteError(%q): invalid JSON: %v", tt.code, err)
		}
	}
}

// TestWriteErrorOneContentType: every JSON error has the same Content-Type
// as authkit's JSON answers.
func TestWriteErrorOneContentType(t *testing.T) {
	w := httptest.NewRecorder()
	middleware.WriteError(w, http.StatusForbidden, middleware.CodeForbidden)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Code != 403 {
		t.Fatalf("headers %v status %d", w.Header(), w.Code)
	}
}

// TestUnavailableCarriesRetryAfter: every 503 tells the client when to
// retry; an explicit wait wins over the default.
func TestUnavailableCarriesRetryAfter(t *testing.T) {
	w := httptest.NewRecorder()
	middleware.WriteError(w, http.StatusServiceUnavailable, middleware.CodeUnavailable)
	if got := w.Header().Get("Retry-After"); got != "5" {
		t.Fatalf("default Retry-After %q, want 5", got)
	}
	w = httptest.NewRecorder()
	middleware.WriteUnavailable(w, 1500*time.Millisecond)
	if got := w.Header().Get("Retry-After"); got != "2" || w.Code != 503 || w.Body.String() != `{"error":"unavailable"}`+"\n" {
		t.Fatalf("WriteUnavailable: Retry-After %q status %d body %q", got, w.Code, w.Body.String())
	}
	w = httptest.NewRecorder()
	middleware.WriteError(w, http.StatusForbidden, middleware.CodeForbidden)
	if got := w.Header().Get("Retry-After"); got != "" {
		t.Fatalf("403 has Retry-After %q", got)
	}
}

// TestConstructorsWrapErrInvalidConfig: every constructor of the package
// reports a bad Config the same way.
func TestConstructorsWrapErrInvalidConfig(t *testing.T) {
	_, e1 := middleware.NewAuthenticator(middleware.AuthenticatorConfig{})
	_, e2 := middleware.NewClientIPResolver(middleware.ClientIPResolverConfig{IPv6KeyPrefix: 129})
	_, e3 := middleware.NewCSRF(middleware.CSRFConfig{TokenMode: 99})
	_, e4 := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{})
	_, e5 := middleware.NewCSRF(middleware.CSRFConfig{InsecureBypassPatterns: []string{"GET /a", "GET /a"}})
	for i, err := range []error{e1, e2, e3, e4, e5} {
		if !errors.Is(err, middleware.ErrInvalidConfig) {
			t.Errorf("constructor %d: %v does not wrap ErrInvalidConfig", i+1, err)
		}
	}
}
