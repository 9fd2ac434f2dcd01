package oauth_test

import (
	"testing"

	"github.com/authkit-go/authkit/oauth"
)

func TestSafeReturnTo(t *testing.T) {
	allowed := []string{"https://app.example.com", "http://localhost:3000"}
	cases := []struct{ in, want string }{
		// Hostile return_to inputs: all fall back to "/".
		{"//evil.com", "/"},
		{`/\evil.com`, "/"},
		{`\/\/evil.com`, "/"},
		{"https:evil.com", "/"},
		{"/%2F%2Fevil.com", "/"},
		{"/%2f%2fevil.com", "/"},
		{"/%5Cevil.com", "/"},
		{"/%252F%252Fevil.com", "/"},
		{"https://app.example.com.evil.com", "/"},
		{"https://app.example.com@evil.com", "/"},
		{"https://app.example.com:443@evil.com/", "/"},
		{"javascript:alert(1)", "/"},
		{"JavaScript:alert(1)", "/"},
		{"/path\r\nSet-Cookie: x=1", "/"},
		{"/path%0d%0aLocation:%20//evil.com", "/"},
		{"\t//evil.com", "/"},
		{" /ok", "/"},
		{"///evil.com", "/"},
		{"http://app.example.com/x", "/"}, // scheme differs from the allowed origin
		{"https://evil.com", "/"},
		{"data:text/html,x", "/"},
		{"https://evil@app.example.com/x", "/"}, // user info on an allowed origin
		{"evil.com", "/"},
		{"", "/"},
		{"/ünïcode", "/"},
		{"/" + string(make([]byte, 1100)), "/"},
		// Allowed.
		{"/", "/"},
		{"/dashboard", "/dashboard"},
		{"/a/b?c=d&e=%2F#frag", "/a/b?c=d&e=%2F#frag"},
		{"/a//b", "/a//b"},
		{"https://app.example.com", "https://app.example.com"},
		{"https://app.example.com/settings?x=1", "https://app.example.com/settings?x=1"},
		{"https://APP.example.com/x", "https://APP.example.com/x"},
		{"http://localhost:3000/cb", "http://localhost:3000/cb"},
	}
	for _, c := range cases {
		if got := oauth.SafeReturnTo(c.in, allowed); got != c.want {
			t.Errorf("SafeReturnTo(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := oauth.SafeReturnTo("https://app.example.com/x", nil); got != "/" {
		t.Errorf("absolute URL allowed without an allow-list: %q", got)
	}
}

func TestBeginStoresOnlySafeReturnTo(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *oauth.Config) { c.AllowedReturnOrigins = []string{"https://app.example.com"} }})
	for in, want := range map[string]string{
		"//evil.com":                       "/",
		"https://app.example.com@evil.com": "/",
		"https://app.example.com/ok":       "https://app.example.com/ok",
		"/ok":                              "/ok",
	} {
		res, err := e.login(t, in)
		if err != nil {
			t.Fatal(err)
		}
		if res.ReturnTo != want {
			t.Errorf("return_to %q came back as %q, want %q", in, res.ReturnTo, want)
		}
	}
}

func TestConfigRejectsBadOrigins(t *testing.T) {
	p := oauth.Google(oauth.ClientConfig{ClientID: "id", RedirectURL: "https://app.example.com/cb"})
	for _, o := range []string{"https://app.example.com/", "app.example.com", "https://u@app.example.com", "javascript:x", "https://app.example.com/path"} {
		if _, err := oauth.New(oauth.Config{Provider: p, CookieKey: testCookieKey, AllowedReturnOrigins: []string{o}}); err == nil {
			t.Errorf("origin %q accepted", o)
		}
	}
}
