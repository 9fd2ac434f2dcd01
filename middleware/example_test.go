package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/store/memstore"
)

// ExampleCSRF protects a form handler: modern browsers are checked through
// Fetch Metadata, and browsers without it must send the session-bound token.
func ExampleCSRF() {
	// Stand-in for the session package: the secret of the current session.
	secret := []byte("0123456789abcdef0123456789abcdef")
	csrf, err := middleware.NewCSRF(middleware.CSRFConfig{
		TrustedOrigins: []string{"https://partner.example.net"},
		TokenMode:      middleware.CSRFTokenWithoutFetchMetadata,
		SessionSecret:  func(*http.Request) ([]byte, bool) { return secret, true },
	})
	if err != nil {
		panic(err)
	}
	h := csrf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "saved")
	}))

	send := func(hdr map[string]string) {
		r := httptest.NewRequest("POST", "https://app.example.com/settings", nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	send(map[string]string{"Sec-Fetch-Site": "cross-site"})
	send(map[string]string{"Sec-Fetch-Site": "same-origin"})
	send(nil) // an old browser without the token
	tok, _ := csrf.Token(httptest.NewRequest("GET", "/settings", nil))
	send(map[string]string{"X-CSRF-Token": tok})
	// Output:
	// 403 {"error":"forbidden"}
	// 200 saved
	// 403 {"error":"forbidden"}
	// 200 saved
}

// ExampleRateLimit limits sign-ups to 30 per 10 minutes per client IP and
// answers 429 with Retry-After beyond that.
func ExampleRateLimit() {
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		panic(err)
	}
	limiter, err := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{
		Counter: st.Attempts(), // or a shared redisstore/sqlstore Attempts()
		Limit:   30,
		Window:  10 * time.Minute,
		Prefix:  "rl-signup:",
	})
	if err != nil {
		panic(err)
	}
	ips, err := middleware.NewClientIPResolver(middleware.ClientIPResolverConfig{})
	if err != nil {
		panic(err)
	}
	signup := middleware.RateLimit(limiter, ips.Key)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	var last *httptest.ResponseRecorder
	for range 31 {
		last = httptest.NewRecorder()
		signup.ServeHTTP(last, httptest.NewRequest("POST", "/auth/signup", strings.NewReader("{}")))
	}
	fmt.Println(last.Code, last.Header().Get("Retry-After"), strings.TrimSpace(last.Body.String()))
	// Output: 429 600 {"error":"rate_limited"}
}

// ExampleClientIPResolver trusts X-Forwarded-For only from the load balancer
// subnet and takes the right-most entry that is not a trusted proxy.
func ExampleClientIPResolver() {
	ips, err := middleware.NewClientIPResolver(middleware.ClientIPResolverConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.5:51000" // the load balancer
	r.Header.Set("X-Forwarded-For", "1.2.3.4, 198.51.100.7")
	ip, _ := ips.ClientIP(r)
	fmt.Println(ip)

	r.RemoteAddr = "203.0.113.9:4000" // a direct client forging the header
	ip, _ = ips.ClientIP(r)
	fmt.Println(ip, ips.Key(r))
	// Output:
	// 198.51.100.7
	// 203.0.113.9 ip:203.0.113.9
}

func ExampleSecureHeaders() {
	h := middleware.SecureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.WriteError(w, http.StatusUnauthorized, "invalid_credentials")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/auth/login", nil))
	fmt.Println(rec.Code, rec.Header().Get("Cache-Control"), strings.TrimSpace(rec.Body.String()))
	// Output: 401 no-store {"error":"invalid_credentials"}
}
