package middleware

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

func BenchmarkCSRFCheck(b *testing.B) {
	secret := bytes.Repeat([]byte{5}, 32)
	sec := func(*http.Request) ([]byte, bool) { return secret, true }
	fetchMeta := httptest.NewRequest("POST", "/settings", nil)
	fetchMeta.Host = "app.example.com"
	fetchMeta.Header.Set("Sec-Fetch-Site", "same-origin")
	crossSite := fetchMeta.Clone(b.Context())
	crossSite.Header.Set("Sec-Fetch-Site", "cross-site")
	crossSite.Header.Set("Origin", "https://evil.example")

	b.Run("fetch_metadata", func(b *testing.B) {
		c := mustCSRF(b, CSRFConfig{})
		b.ReportAllocs()
		for b.Loop() {
			if c.Check(fetchMeta) != nil {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("cross_site_rejected", func(b *testing.B) {
		c := mustCSRF(b, CSRFConfig{})
		b.ReportAllocs()
		for b.Loop() {
			if c.Check(crossSite) == nil {
				b.Fatal("accepted")
			}
		}
	})
	b.Run("token_header", func(b *testing.B) {
		c := mustCSRF(b, CSRFConfig{TokenMode: CSRFTokenAlways, SessionSecret: sec})
		r := fetchMeta.Clone(b.Context())
		tok, err := c.Token(r)
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set(DefaultCSRFHeader, tok)
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Check(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkClientIP(b *testing.B) {
	c, _ := NewClientIPResolver(ClientIPResolverConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:80"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.9, 10.0.0.2")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.ClientIP(r); !ok {
			b.Fatal("!ok")
		}
	}
}
