package jwt

import (
	"strings"
	"testing"
)

// FuzzVerify: arbitrary input must never panic and never verify. The only
// tokens that can verify are those signed by the fixture keys, which the
// fuzzer cannot produce; the seeds include a valid token and mutations of it.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	good := fx.token(f, "ES256", claims())
	hs := fx.token(f, "HS256", claims())
	f.Add(good)
	f.Add(hs)
	p := strings.Split(good, ".")
	f.Add(p[0] + "." + p[1] + ".")
	f.Add(p[0] + ".e30." + p[2])
	f.Add(enc([]byte(`{"alg":"none"}`)) + "." + p[1] + ".")
	f.Add(strings.Repeat(".", 100))
	f.Add("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
	f.Add(enc([]byte(`{"alg":"ES256","kid":"es","typ":"at+jwt","x":[[[[{"a":"\ud83d\ude00"}]]]]}`)) + "." + p[1] + "." + p[2])
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := fx.v.Verify(bg, tok)
		if err == nil && tok != good && tok != hs {
			t.Fatalf("garbage verified: %q → %+v", tok, c)
		}
		_, _ = VerifySignature(bg, fx.ks, tok, []Algorithm{ES256, EdDSA, RS256, HS256})
	})
}

// FuzzScanObject checks the JSON scanner against encoding/json's validity.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":"\u00e9","b":[1,2,{"c":null}]}`, `{"a":1,"a":2}`, `{"a":1e5,"b":-0.5}`, `[1]`, `{"a":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := scanObject(b, func(k, v []byte) error { return nil })
		if err == nil && !jsonValidObject(b) {
			t.Fatalf("scanner accepted invalid JSON %q", b)
		}
	})
}
