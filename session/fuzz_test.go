package session

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParseToken feeds untrusted token strings to the parser: it must
// never panic, accept only the exact canonical form, and round-trip.
func FuzzParseToken(f *testing.F) {
	tok, _, _, _ := newToken(bytes.NewReader(bytes.Repeat([]byte{0x5a}, 48)))
	for _, s := range []string{tok, "", ".", tok + "=", tok[:TokenLen-1] + "+", strings.Repeat("A", TokenLen),
		strings.Repeat("A", 22) + "." + strings.Repeat("A", 42) + "B", "\x00\xff", strings.Repeat("x", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, hash, ok := parseToken(s)
		if !ok {
			if id != "" {
				t.Fatalf("rejected token returned id %q", id)
			}
			return
		}
		if len(s) != TokenLen || id != s[:idLen] || s[idLen] != '.' {
			t.Fatalf("accepted non-canonical %q", s)
		}
		raw := make([]byte, secretBytes)
		if _, err := b64.Decode(raw, []byte(s[idLen+1:])); err != nil {
			t.Fatal(err)
		}
		again := b64.EncodeToString(raw)
		if again != s[idLen+1:] {
			t.Fatalf("secret %q is not canonical (re-encodes to %q)", s[idLen+1:], again)
		}
		if !secretMatches(hash[:], hash) {
			t.Fatal("hash does not match itself")
		}
	})
}

// FuzzCookieValue feeds untrusted Cookie headers to the cookie scanner.
func FuzzCookieValue(f *testing.F) {
	for _, s := range []string{"", "__Host-session=abc", "a=1; __Host-session=\"q\"; b=2", "__Host-session", ";;;",
		"__Host-session=", "x__Host-session=1", "__Host-session==", "\"", "__Host-session=\""} {
		f.Add(s, "__Host-session")
	}
	f.Fuzz(func(t *testing.T, header, name string) {
		v, ok := cookieValue([]string{header}, name)
		if !ok {
			if v != "" {
				t.Fatal("value without match")
			}
			return
		}
		if name == "" || !strings.Contains(header, name+"=") || len(v) >= len(header) {
			t.Fatalf("matched %q in %q -> %q", name, header, v)
		}
		if !strings.Contains(header, v) {
			t.Fatalf("value %q not from header %q", v, header)
		}
	})
}

// FuzzDecodeState feeds stored (possibly corrupted) bytes to the container
// decoder: no panics, bounded work, and accepted input re-encodes equally.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte{})
	f.Add(encodeState(&state{pending: true, authTime: time.Unix(1700000000, 5), entries: []entry{{"k", []byte(`"v"`)}, {"", nil}}}))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{1, 0, 0, 0, 2, 1, 'a', 0, 1, 'a', 0})
	f.Add(encodeState(&state{pending: true, challenge: "opaque\x00challenge", entries: []entry{{"k", nil}}}))
	f.Add([]byte{1, 3, 0, 0, 9, 'a'}) // challenge longer than the data
	f.Add(encodeState(&state{amr: []string{"hwk", "user", "mfa"}, authTime: time.Unix(1700000000, 0), mfaTime: time.Unix(1700000000, 0)}))
	f.Add([]byte{1, 4, 0, 0, 1, 3, 'p', ' ', 'd', 0}) // a space inside an amr value
	f.Add([]byte{1, 4, 0, 0, 17, 1, 'a'})             // more amr values than allowed
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data)
		if err != nil {
			return
		}
		st2, err := decodeState(encodeState(&st))
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		if !slices.Equal(st2.amr, st.amr) {
			t.Fatalf("round trip changed amr: %q vs %q", st.amr, st2.amr)
		}
		if st2.pending != st.pending || st2.challenge != st.challenge || !st2.authTime.Equal(st.authTime) || !st2.mfaTime.Equal(st.mfaTime) || len(st2.entries) != len(st.entries) {
			t.Fatalf("round trip changed state: %+v vs %+v", st, st2)
		}
		for i := range st.entries {
			if st.entries[i].key != st2.entries[i].key || !bytes.Equal(st.entries[i].val, st2.entries[i].val) {
				t.Fatalf("entry %d changed", i)
			}
		}
	})
}

func TestTokenParseTable(t *testing.T) {
	tok, id, hash, err := newToken(bytes.NewReader(bytes.Repeat([]byte{1}, 48)))
	if err != nil || len(tok) != TokenLen {
		t.Fatal(err, tok)
	}
	gotID, gotHash, ok := parseToken(tok)
	if !ok || gotID != id || gotHash != hash {
		t.Fatalf("parse(new) = %q %v", gotID, ok)
	}
	bad := []string{"", tok + "x", tok[:TokenLen-1], strings.Replace(tok, ".", "_", 1), " " + tok[1:],
		tok[:5] + "+" + tok[6:], tok[:5] + "/" + tok[6:], tok[:21] + "B" + tok[22:], strings.Repeat("A", TokenLen)}
	for _, s := range bad {
		if _, _, ok := parseToken(s); ok {
			t.Errorf("parseToken(%q) accepted", s)
		}
	}
	if _, _, _, err := newToken(bytes.NewReader(nil)); err == nil {
		t.Fatal("newToken with empty reader succeeded")
	}
}
