package oauth

import (
	"strings"
	"testing"
	"time"
)

func TestPendingRecordRoundTrips(t *testing.T) {
	want := Pending{Verifier: "v-\u2028", Nonce: "n.300", RedirectURI: "https://app.example.com/cb", ReturnTo: "/x?y='z'",
		Expiry: time.Unix(1_800_000_000, 5)}
	b, err := encodePending(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodePending(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Verifier != want.Verifier || got.Nonce != want.Nonce || got.RedirectURI != want.RedirectURI ||
		got.ReturnTo != want.ReturnTo || !got.Expiry.Equal(want.Expiry) {
		t.Fatalf("decode(encode(%+v)) = %+v", want, got)
	}
}

func TestPendingRecordOfAnotherVersionIsRefused(t *testing.T) {
	for _, b := range []string{`{"v":2,"pv":"v","ru":"https://a/cb","x":1}`, `{"pv":"v"}`, "", "garbage"} {
		if got, err := decodePending([]byte(b)); err == nil {
			t.Errorf("decode(%q) = %+v, nil error; want an error", b, got)
		}
	}
}

// The store is keyed by a hash of the state, never the state itself.
func TestStateKeyIsNotTheState(t *testing.T) {
	const state = "Zm9vYmFyYmF6cXV4cXV1eHF1dXg"
	k := stateKey(state)
	if strings.Contains(k, state) || len(k) != 64 || k != stateKey(state) || k == stateKey(state+"x") {
		t.Fatalf("stateKey(%q) = %q", state, k)
	}
}
