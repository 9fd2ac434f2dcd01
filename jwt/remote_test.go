package jwt

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type countingRT struct {
	allowed string
	jwks    atomic.Int32
	other   atomic.Int32
	base    http.RoundTripper
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.String() != c.allowed {
		c.other.Add(1)
		return nil, errors.New("unexpected HTTP request to " + r.URL.String())
	}
	c.jwks.Add(1)
	return c.base.RoundTrip(r)
}

type jwksServer struct {
	mu   sync.Mutex
	ks   *KeySet
	down bool
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ks, down := s.ks, s.down
	s.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	ks.JWKSHandler().ServeHTTP(w, r)
}

func TestRemoteKeySet(t *testing.T) {
	f := newFixture(t)
	srvKS, _ := NewKeySet(KeySetConfig{Keys: []*Key{f.es, f.ed, f.rs}})
	js := &jwksServer{ks: srvKS}
	srv := httptest.NewServer(js)
	defer srv.Close()
	url := srv.URL + "/jwks.json"
	rt := &countingRT{allowed: url, base: http.DefaultTransport}
	clk := &struct {
		sync.Mutex
		t time.Time
	}{t: time.Now()}
	now := func() time.Time { clk.Lock(); defer clk.Unlock(); return clk.t }
	advance := func(d time.Duration) { clk.Lock(); clk.t = clk.t.Add(d); clk.Unlock() }

	rks, err := NewRemoteKeySet(RemoteKeySetConfig{URL: url, HTTPClient: &http.Client{Transport: rt}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if rt.jwks.Load() != 0 {
		t.Fatal("constructor fetched")
	}
	v := f.verifier(t, VerifierConfig{Keys: rks})
	_, err = v.Verify(bg, f.token(t, "ES256", claims()))
	wantErr(t, err, ErrKeySetNotStarted)

	if err := rks.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer rks.Close()
	if n := rt.jwks.Load(); n < 1 || n > 2 {
		t.Fatalf("Start fetched %d times", n)
	}
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		if _, err := v.Verify(bg, f.token(t, alg, claims())); err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
	}
	// HS256 key exists in the fixture but is never published.
	_, err = v.Verify(bg, f.token(t, "HS256", claims()))
	wantErr(t, err, ErrAlgorithm)

	t.Run("no_fetch_from_headers", func(t *testing.T) {
		for _, p := range []string{"jku", "x5u"} {
			h := `{"alg":"ES256","kid":"es","typ":"at+jwt","` + p + `":"https://evil.example/jwks"}`
			_, err := v.Verify(bg, rawSign(t, "ES256", f.ecPriv, h, js2(t, claims())))
			wantErr(t, err, ErrForbiddenHeader)
		}
		if rt.other.Load() != 0 {
			t.Fatalf("%d requests to other URLs", rt.other.Load())
		}
	})

	t.Run("unknown_kid_rate_limited", func(t *testing.T) {
		before := rt.jwks.Load()
		for i := 0; i < 100; i++ {
			_, err := v.Verify(bg, rawSign(t, "ES256", f.ecPriv, hdr("ES256", "kid-"+strings.Repeat("x", i)), js2(t, claims())))
			wantErr(t, err, ErrUnknownKey)
		}
		if got := rt.jwks.Load() - before; got != 0 {
			t.Fatalf("%d refetches within MinRefreshInterval of Start", got)
		}
		advance(2 * time.Minute)
		for i := 0; i < 100; i++ {
			_, err := v.Verify(bg, rawSign(t, "ES256", f.ecPriv, hdr("ES256", "other-"+strings.Repeat("x", i)), js2(t, claims())))
			wantErr(t, err, ErrUnknownKey)
		}
		if got := rt.jwks.Load() - before; got != 1 {
			t.Fatalf("%d refetches for 100 unknown kids, want 1", got)
		}
	})

	t.Run("rotation_refetch", func(t *testing.T) {
		nk, _ := GenerateKey(ES256, nil)
		_ = srvKS.Add(nk)
		tok, _ := nk.sign([]byte(js2(t, claims())), "at+jwt")
		advance(2 * time.Minute)
		if _, err := v.Verify(bg, tok); err != nil {
			t.Fatalf("new kid after refetch: %v", err)
		}
	})

	t.Run("last_good_set_when_down", func(t *testing.T) {
		js.mu.Lock()
		js.down = true
		js.mu.Unlock()
		advance(2 * time.Minute)
		_, err := v.Verify(bg, rawSign(t, "ES256", f.ecPriv, hdr("ES256", "unknown"), js2(t, claims())))
		wantErr(t, err, ErrUnknownKey)
		if _, err := v.Verify(bg, f.token(t, "ES256", claims())); err != nil {
			t.Fatalf("last good set lost: %v", err)
		}
	})

	t.Run("VerifySignature_for_id_tokens", func(t *testing.T) {
		c := claims()
		c["aud"] = "client-1"
		idt := rawSign(t, "RS256", f.rsPriv, `{"alg":"RS256","kid":"rs","typ":"JWT"}`, js2(t, c))
		res, err := rks.VerifySignature(bg, idt, []Algorithm{RS256, ES256})
		if err != nil || res.Type != "JWT" || !res.HasType || res.KeyID != "rs" || !strings.Contains(string(res.Payload), "client-1") {
			t.Fatalf("%+v %v", res, err)
		}
		_, err = rks.VerifySignature(bg, idt, []Algorithm{ES256})
		wantErr(t, err, ErrAlgorithm)
		// HS256 signed with a "client secret": refused
		hs := rawSign(t, "HS256", []byte(strings.Repeat("s", 32)), `{"alg":"HS256","kid":"rs"}`, js2(t, c))
		_, err = rks.VerifySignature(bg, hs, []Algorithm{RS256})
		wantErr(t, err, ErrAlgorithm)
	})

	if err := rks.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(bg, f.token(t, "ES256", claims()))
	wantErr(t, err, ErrKeySetNotStarted)

	// An unreachable issuer makes Start fail promptly (no hang until ctx ends).
	js.mu.Lock()
	js.down = true
	js.mu.Unlock()
	down, _ := NewRemoteKeySet(RemoteKeySetConfig{URL: url})
	start := time.Now()
	if err := down.Start(t.Context()); err == nil {
		t.Fatal("Start succeeded against a failing issuer")
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("Start hung")
	}
	_ = down.Close()

	if _, err := NewRemoteKeySet(RemoteKeySetConfig{URL: "http://issuer.example.com/jwks"}); err == nil {
		t.Fatal("plain http to a non-loopback host accepted")
	}
}

func js2(t testing.TB, v any) string { return js(t, v) }

// TestRemoteKeySetRefusesRedirectElsewhere: a JWKS URL that redirects to
// another host (an attacker's key set) or from https to http fails Start;
// keys from the redirect target are never trusted. A redirect on the same
// host is followed.
func TestRemoteKeySetRefusesRedirectElsewhere(t *testing.T) {
	f := newFixture(t)
	evilKS, _ := NewKeySet(KeySetConfig{Keys: []*Key{f.es}})
	var evilHits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		evilKS.JWKSHandler().ServeHTTP(w, r)
	}))
	defer evil.Close()
	mux := http.NewServeMux()
	mux.Handle("/jwks.json", evilKS.JWKSHandler())
	mux.Handle("/moved", http.RedirectHandler("/jwks.json", http.StatusMovedPermanently))
	mux.Handle("/away", http.RedirectHandler(evil.URL+"/jwks.json", http.StatusFound))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/jwks.json", http.StatusFound)
	}))
	defer tlsSrv.Close()

	start := func(url string, hc *http.Client) error {
		rks, err := NewRemoteKeySet(RemoteKeySetConfig{URL: url, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		defer rks.Close()
		return rks.Start(t.Context())
	}
	for name, hc := range map[string]*http.Client{"default client": nil, "caller's client": {}} {
		if err := start(srv.URL+"/away", hc); err == nil {
			t.Errorf("%s: Start followed a redirect to another host", name)
		}
		if err := start(srv.URL+"/moved", hc); err != nil {
			t.Errorf("%s: same-host redirect: %v", name, err)
		}
	}
	if n := evilHits.Load(); n != 0 {
		t.Errorf("redirect target fetched %d times", n)
	}
	var plain atomic.Int32
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Scheme == "http" {
			plain.Add(1)
		}
		return tlsSrv.Client().Transport.RoundTrip(r)
	})
	if err := start(tlsSrv.URL+"/jwks.json", &http.Client{Transport: rt}); err == nil {
		t.Error("Start followed a redirect from https to http")
	}
	if plain.Load() != 0 {
		t.Errorf("%d plain-http requests after an https JWKS URL", plain.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
