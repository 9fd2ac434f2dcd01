package oauth

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func benchFlow(b *testing.B) *Flow {
	p := &Provider{Name: "b", Issuer: "https://idp.example", ClientID: "cid", RedirectURL: "https://app.example.com/cb",
		Scopes: []string{"openid"}, Endpoint: oauth2.Endpoint{AuthURL: "https://idp.example/a", TokenURL: "https://idp.example/t"},
		JWKSURL: "https://idp.example/k"}
	f, err := New(Config{Provider: p, CookieKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func BenchmarkBeginURL(b *testing.B) {
	f := benchFlow(b)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		if _, err := f.BeginURL(b.Context(), w, "/dashboard"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStateCookieDecode(b *testing.B) {
	f := benchFlow(b)
	now := time.Now()
	v, err := f.codec.encode(bytes.NewReader(make([]byte, 64)), "state", Pending{Verifier: "v", Nonce: "n", ReturnTo: "/x", Expiry: now.Add(time.Minute)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.codec.decode(v, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSafeReturnTo(b *testing.B) {
	allowed := []string{"https://app.example.com"}
	b.ReportAllocs()
	for b.Loop() {
		_ = SafeReturnTo("/a/b?c=d%2Fe", allowed)
		_ = SafeReturnTo("https://app.example.com@evil.com", allowed)
	}
}
