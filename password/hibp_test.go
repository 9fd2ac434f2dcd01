package password

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// hibpPW's SHA-1 is 72AC8E670F8872078668AC435D4C8AF5A644A41D (Python
// hashlib); sha1Hex itself is checked by TestSHA1KnownAnswer.
const hibpPW = "P@ssw0rd-test"

var (
	pwPrefix = sha1Hex(hibpPW)[:5]
	pwSuffix = sha1Hex(hibpPW)[5:]
)

func TestSHA1KnownAnswer(t *testing.T) {
	if got := sha1Hex("password"); got != "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8" {
		t.Fatalf("sha1Hex(password) = %s", got)
	}
	if got := sha1Hex(hibpPW); got != "72AC8E670F8872078668AC435D4C8AF5A644A41D" {
		t.Fatalf("sha1Hex(%s) = %s", hibpPW, got)
	}
}

type hibpServer struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
	status   int
	body     string
}

func (s *hibpServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.bodies = append(s.bodies, string(b))
	status, body := s.status, s.body
	s.mu.Unlock()
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func newHIBPTest(t *testing.T, status int, body string, minCount int) (*HIBP, *hibpServer) {
	t.Helper()
	s := &hibpServer{status: status, body: body}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := NewHIBP(HIBPConfig{BaseURL: ts.URL + "/", Client: ts.Client(), MinCount: minCount})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// padding returns n padding lines with count 0.
func padding(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%035X:0\r\n", i+1)
	}
	return b.String()
}

func TestHIBP(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		minCount int
		want     bool
	}{
		{"breached", padding(3) + pwSuffix + ":3861493\r\n" + padding(2), 0, true},
		{"breached_lower_case_suffix", strings.ToLower(pwSuffix) + ":12\r\n", 0, true},
		{"breached_no_trailing_newline", padding(1) + pwSuffix + ":1", 0, true},
		{"absent", padding(5) + "0018A45C4D1DEF81644B54AB7F969B88D65:10\r\n", 0, false},
		{"padding_entry_ignored", padding(2) + pwSuffix + ":0\r\n", 0, false},
		{"below_min_count", pwSuffix + ":4\r\n", 5, false},
		{"at_min_count", pwSuffix + ":5\r\n", 5, true},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := newHIBPTest(t, http.StatusOK, tt.body, tt.minCount)
			got, err := c.Breached(t.Context(), hibpPW)
			if err != nil || got != tt.want {
				t.Fatalf("Breached = %v, %v; want %v, nil", got, err, tt.want)
			}
			// k-anonymity: one GET of /range/<first five hex>, padding asked
			// for, nothing else about the password sent.
			if len(s.requests) != 1 {
				t.Fatalf("%d requests", len(s.requests))
			}
			r := s.requests[0]
			if r.Method != http.MethodGet || r.URL.Path != "/range/"+pwPrefix || r.URL.RawQuery != "" || s.bodies[0] != "" {
				t.Fatalf("request %s %s?%s body %q", r.Method, r.URL.Path, r.URL.RawQuery, s.bodies[0])
			}
			if r.Header.Get("Add-Padding") != "true" {
				t.Fatalf("Add-Padding = %q", r.Header.Get("Add-Padding"))
			}
			if r.Header.Get("User-Agent") != "authkit-password" {
				t.Fatalf("User-Agent = %q", r.Header.Get("User-Agent"))
			}
			for k, vs := range r.Header {
				for _, v := range vs {
					if strings.Contains(strings.ToUpper(v), pwSuffix[:6]) || strings.Contains(v, hibpPW) {
						t.Fatalf("header %s leaks the hash or password: %q", k, v)
					}
				}
			}
		})
	}
}

func TestHIBPErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"status_500", http.StatusInternalServerError, ""},
		{"status_429", http.StatusTooManyRequests, pwSuffix + ":1\r\n"},
		{"malformed_line", http.StatusOK, "not a line\r\n"},
		{"short_suffix", http.StatusOK, "ABC:1\r\n"},
		{"bad_count", http.StatusOK, pwSuffix + ":x\r\n"},
		{"negative_count", http.StatusOK, pwSuffix + ":-1\r\n"},
		{"too_large", http.StatusOK, strings.Repeat("00000000000000000000000000000000000:0\r\n", 120000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newHIBPTest(t, tt.status, tt.body, 0)
			if got, err := c.Breached(t.Context(), hibpPW); err == nil || got {
				t.Fatalf("Breached = %v, %v; want an error", got, err)
			}
		})
	}
	t.Run("cancelled_ctx", func(t *testing.T) {
		c, _ := newHIBPTest(t, http.StatusOK, "", 0)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := c.Breached(ctx, "password"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestNewHIBP(t *testing.T) {
	c, err := NewHIBP(HIBPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if c.base != DefaultHIBPBaseURL || c.client == nil || c.client.Timeout == 0 || c.minCount != 1 {
		t.Fatalf("defaults: %+v", c)
	}
	for _, cfg := range []HIBPConfig{{BaseURL: "ftp://x"}, {BaseURL: "://"}, {BaseURL: "https://"}, {MinCount: -1}} {
		if _, err := NewHIBP(cfg); err == nil {
			t.Errorf("NewHIBP(%+v) accepted", cfg)
		}
	}
}

// TestPolicyWithHIBP wires the client into a Policy, end to end.
func TestPolicyWithHIBP(t *testing.T) {
	// First only padding is served.
	c, s := newHIBPTest(t, http.StatusOK, padding(4), 0)
	p := newPolicy(t, PolicyConfig{Breached: c})
	if err := p.Check(t.Context(), "Zq8-Vxc-long-enough", UserInfo{}); err != nil {
		t.Fatalf("clean: %v", err)
	}
	// Now serve the password's own suffix.
	const pw = "Zq8-Vxc-long-enough"
	sum := sha1Hex(pw)
	s.mu.Lock()
	s.body = padding(1) + sum[5:] + ":7\r\n"
	s.mu.Unlock()
	if err := p.Check(t.Context(), pw, UserInfo{}); !errors.Is(err, ErrBreached) {
		t.Fatalf("breached: %v", err)
	}
	if got := s.requests[len(s.requests)-1].URL.Path; got != "/range/"+sum[:5] {
		t.Fatalf("path %q", got)
	}
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestNewHIBPRejectsInvalidConfig(t *testing.T) {
	for _, cfg := range []HIBPConfig{
		{BaseURL: "ftp://example.com/range/"},
		{MinCount: -1},
	} {
		if _, err := NewHIBP(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewHIBP(%+v): err = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}
