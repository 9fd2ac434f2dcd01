package mfa

import (
	"bytes"
	"testing"
	"time"
)

func TestChallengeRecordRoundTripsBinaryData(t *testing.T) {
	for _, data := range [][]byte{nil, {}, {0}, []byte("\xff\xfe\x00login=alice\x00"), bytes.Repeat([]byte{0x80}, 4096)} {
		want := Challenge{UserID: "u:{1}", PasswordAt: time.Unix(1_800_000_000, 1), Expiry: time.Unix(1_800_000_300, 2), Attempts: 3, Data: data}
		b, err := encodeChallenge(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeChallenge(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.UserID != want.UserID || !got.PasswordAt.Equal(want.PasswordAt) || !got.Expiry.Equal(want.Expiry) ||
			got.Attempts != want.Attempts || !bytes.Equal(got.Data, want.Data) {
			t.Fatalf("decode(encode(%+v)) = %+v", want, got)
		}
	}
}

func TestChallengeRecordOfAnotherVersionIsRefused(t *testing.T) {
	for _, b := range []string{`{"v":2,"u":"u","x":1}`, `{"u":"u","x":1}`, "", "garbage"} {
		if got, err := decodeChallenge([]byte(b)); err == nil {
			t.Errorf("decode(%q) = %+v, nil error; want an error", b, got)
		}
	}
}
