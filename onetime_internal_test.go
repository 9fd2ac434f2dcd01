package authkit

import (
	"errors"
	"testing"
	"time"
)

func TestOneTimeTokenRecordRoundTrips(t *testing.T) {
	want := oneTimeToken{UserID: "ü-\u2028-'\"%*-\x01", Email: "Ünïcødé+tag@exämple.com", Expiry: time.Unix(1_800_000_000, 123456789)}
	data, err := want.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeOneTimeToken(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != want.UserID || got.Email != want.Email || !got.Expiry.Equal(want.Expiry) {
		t.Fatalf("decode(encode(%+v)) = %+v", want, got)
	}
}

// A record this release cannot read (another version, or not a record at
// all) is an error, so the flow fails closed instead of reading zero
// values.
func TestOneTimeTokenRecordOfAnotherVersionIsRefused(t *testing.T) {
	for _, data := range []string{`{"v":2,"u":"u","e":"u@example.com","x":1}`, `{"u":"u"}`, "", "\x00garbage"} {
		if got, err := decodeOneTimeToken([]byte(data)); !errors.Is(err, errTicketRecord) {
			t.Errorf("decode(%q) = %+v, %v; want errTicketRecord", data, got, err)
		}
	}
}
