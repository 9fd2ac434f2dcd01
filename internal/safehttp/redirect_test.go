package safehttp

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSameHostRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("other")) }))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/final", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("final")) })
	mux.Handle("/same", http.RedirectHandler("/final", http.StatusFound))
	mux.Handle("/away", http.RedirectHandler(other.URL+"/x", http.StatusFound))
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/plain", http.StatusFound)
	}))
	defer tls.Close()

	c := SameHostRedirects(nil, 0)
	get := func(c *http.Client, u string) (string, error) {
		resp, err := c.Get(u)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get(c, srv.URL+"/same"); err != nil || body != "final" {
		t.Fatalf("same-host redirect: %q, %v", body, err)
	}
	if _, err := get(c, srv.URL+"/away"); !errors.Is(err, ErrRedirect) {
		t.Fatalf("cross-host redirect: err %v", err)
	}
	if _, err := get(c, srv.URL+"/loop"); err == nil || errors.Is(err, ErrRedirect) {
		t.Fatalf("redirect loop: err %v", err)
	}
	tc := SameHostRedirects(tls.Client(), 0)
	if _, err := get(tc, tls.URL+"/"); !errors.Is(err, ErrRedirect) {
		t.Fatalf("https to http: err %v", err)
	}
	// The caller's own policy still applies after this one.
	own := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := SameHostRedirects(own, 0).Get(srv.URL + "/same")
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("caller policy: %v %v", resp, err)
	}
	resp.Body.Close()
	if own.CheckRedirect == nil || c.Timeout != 0 {
		t.Fatal("caller's client modified")
	}
}
