package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
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

// FuzzScanObject checks the hand-written JSON scanner against
// encoding/json, the library it stands beside. When the scanner accepts,
// encoding/json accepts the same object with the same members and values.
// When it refuses an object encoding/json accepts, the input has one of the
// properties the scanner exists to refuse: invalid UTF-8, a duplicate member
// name, an unpaired surrogate escape, deeper nesting than 16 or more than 64
// members.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":"\u00e9","b":[1,2,{"c":null}]}`, `{"a":1,"a":2}`, `{"a":1e5,"b":-0.5}`,
		`[1]`, `{"a":"\ud800"}`, `{"\u0061":1,"a":2}`, `{"a":"\ud83d\ude00"}`, `{"a":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := map[string]json.RawMessage{}
		err := scanObject(b, func(k, v []byte) error {
			got[string(k)] = bytes.Clone(v)
			return nil
		})
		var want map[string]json.RawMessage
		libErr := json.Unmarshal(b, &want)
		if err == nil {
			if libErr != nil || want == nil {
				t.Fatalf("scanner accepted %q; encoding/json: %v", b, libErr)
			}
			if len(got) != len(want) {
				t.Fatalf("%q: members %v, encoding/json %v", b, got, want)
			}
			for k, v := range want {
				if !bytes.Equal(got[k], v) {
					t.Fatalf("%q: member %q = %s, encoding/json %s", b, k, got[k], v)
				}
				if len(v) > 0 && v[0] == '"' {
					s, err := jsonString(v)
					var ls string
					if lerr := json.Unmarshal(v, &ls); err != nil || lerr != nil || s != ls {
						t.Fatalf("%q: string %q (%v), encoding/json %q (%v)", v, s, err, ls, lerr)
					}
				}
			}
			return
		}
		if libErr != nil || want == nil || !utf8.Valid(b) {
			return
		}
		if errors.Is(err, errDuplicate) {
			if !hasDuplicateMember(b) {
				t.Fatalf("%q: duplicate reported, encoding/json's tokens show none", b)
			}
			return
		}
		if len(want) > maxMembers || bytes.Contains(b, []byte(`\u`)) || bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) > maxJSONDepth {
			return
		}
		t.Fatalf("scanner refused %q (%v), encoding/json accepts it", b, err)
	})
}

// hasDuplicateMember walks the top-level object with encoding/json's tokens.
func hasDuplicateMember(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	if _, err := d.Token(); err != nil {
		return false
	}
	seen := map[string]bool{}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return false
		}
		if seen[k.(string)] {
			return true
		}
		seen[k.(string)] = true
		var v json.RawMessage
		if d.Decode(&v) != nil {
			return false
		}
	}
	return false
}

// FuzzClaimStrings checks the string-array decoder against encoding/json:
// whatever it accepts, encoding/json decodes to the same strings; null
// elements, which encoding/json turns into "", are refused.
func FuzzClaimStrings(f *testing.F) {
	for _, s := range []string{`[]`, `["a","b"]`, `["\u00e9\n"]`, `["a",null]`, `"a"`, `[1]`, `null`, `["a",["b"]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if scanObject(append(append([]byte(`{"a":`), b...), '}'), func(k, v []byte) error { return nil }) != nil {
			return // only values the scanner has validated reach jsonStrings
		}
		got, err := jsonStrings(b, false)
		var want []string
		libErr := json.Unmarshal(b, &want)
		if err != nil {
			if libErr == nil && !bytes.Contains(b, []byte("null")) && len(b) > 0 && b[0] == '[' {
				t.Fatalf("%q refused (%v), encoding/json gives %q", b, err, want)
			}
			return
		}
		if libErr != nil || len(got) != len(want) {
			t.Fatalf("%q: got %q, encoding/json %q (%v)", b, got, want, libErr)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: got %q, encoding/json %q", b, got, want)
			}
		}
	})
}
