package mfa

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"testing"
	"time"
)

// V1: RFC 4226 Appendix D.
func TestHOTPVectorsRFC4226(t *testing.T) {
	secret := []byte("12345678901234567890")
	want := []uint32{755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489}
	mac := testHOTP(SHA1, secret)
	for count, w := range want {
		if got := mac.value(uint64(count), 6); got != w {
			t.Errorf("V1 count %d: got %06d, want %06d", count, got, w)
		}
	}
}

// v2Seeds are the RFC 6238 Appendix B seeds, one per algorithm (using the
// 20-byte seed for SHA256/SHA512 is a classic bug).
var v2Seeds = map[Algorithm][]byte{
	SHA1:   []byte("12345678901234567890"),
	SHA256: []byte("12345678901234567890123456789012"),
	SHA512: []byte("1234567890123456789012345678901234567890123456789012345678901234"),
}

// v2Rows is the RFC 6238 Appendix B table: time, then the SHA1, SHA256 and
// SHA512 codes (8 digits).
var v2Rows = []struct {
	unix  int64
	codes [3]string
}{
	{59, [3]string{"94287082", "46119246", "90693936"}},
	{1111111109, [3]string{"07081804", "68084774", "25091201"}},
	{1111111111, [3]string{"14050471", "67062674", "99943326"}},
	{1234567890, [3]string{"89005924", "91819424", "93441116"}},
	{2000000000, [3]string{"69279037", "90698825", "38618901"}},
	{20000000000, [3]string{"65353130", "77737706", "47863826"}}, // T beyond 32 bits
}

// V2: RFC 6238 Appendix B, all three algorithms with their own seed
// lengths, 8 digits and the last six digits for 6-digit keys.
func TestTOTPVectorsRFC6238(t *testing.T) {
	for _, row := range v2Rows {
		for ai, alg := range []Algorithm{SHA1, SHA256, SHA512} {
			at := time.Unix(row.unix, 0)
			wantStep := uint64(row.unix / 30)
			for _, digits := range []int{8, 6} {
				code := row.codes[ai][8-digits:]
				k := totpKey{secret: v2Seeds[alg], alg: alg, digits: digits}
				step, ok := k.match(code, at)
				if !ok || step != wantStep {
					t.Errorf("V2 %s t=%d digits=%d code %s: match = %d, %v; want %d, true", alg, row.unix, digits, code, step, ok, wantStep)
				}
				// The same code one step away from T±1 must not match.
				if _, ok := k.match(code, at.Add(2*Period)); ok {
					t.Errorf("V2 %s t=%d: code matched at T+2", alg, row.unix)
				}
			}
		}
	}
}

// testHOTP is a fresh crypto/hmac HOTP generator for key.
func testHOTP(alg Algorithm, key []byte) hotpGen { return hotpGen{hmac.New(alg.newHash(), key)} }

type hotpGen struct{ mac hash.Hash }

func (g hotpGen) value(counter uint64, digits int) uint32 {
	g.mac.Reset()
	return hotpValue(g.mac, counter, digits)
}

// One HMAC reused across counters (Reset between them) gives the same
// values as a fresh crypto/hmac per counter, for every algorithm and key
// length, including keys longer than a block (RFC 2104 §2).
func TestHOTPValueReusesHMAC(t *testing.T) {
	hashes := map[Algorithm]func() hash.Hash{SHA1: sha1.New, SHA256: sha256.New, SHA512: sha512.New}
	for alg, newHash := range hashes {
		for _, keyLen := range []int{0, 1, 20, 32, 63, 64, 65, 127, 128, 129, 200} {
			key := make([]byte, keyLen)
			for i := range key {
				key[i] = byte(i*7 + keyLen)
			}
			reused := hmac.New(newHash, key)
			for _, counter := range []uint64{0, 1, 0x27BC86AA, 1<<63 + 5} {
				ref := hmac.New(newHash, key)
				var msg [8]byte
				binary.BigEndian.PutUint64(msg[:], counter)
				ref.Write(msg[:])
				sum := ref.Sum(nil)
				off := sum[len(sum)-1] & 0x0f
				want := (binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff) % 100000000
				for range 2 {
					reused.Reset()
					if got := hotpValue(reused, counter, 8); got != want {
						t.Errorf("%s key %d counter %d: %d, want %d", alg, keyLen, counter, got, want)
					}
				}
			}
		}
	}
}

func TestParseCode(t *testing.T) {
	for _, c := range []struct {
		in     string
		digits int
		want   uint32
		ok     bool
	}{
		{"000000", 6, 0, true}, {"123456", 6, 123456, true}, {"99999999", 8, 99999999, true},
		{"12345", 6, 0, false}, {"1234567", 6, 0, false}, {"12345a", 6, 0, false}, {"-12345", 6, 0, false},
		{"１２３４５６", 6, 0, false}, {"", 6, 0, false}, {"12 456", 6, 0, false},
	} {
		got, ok := parseCode(c.in, c.digits)
		if got != c.want || ok != c.ok {
			t.Errorf("parseCode(%q, %d) = %d, %v; want %d, %v", c.in, c.digits, got, ok, c.want, c.ok)
		}
	}
}

func TestNormalizeBackupCode(t *testing.T) {
	const canon = "ABCDEFGHIJKLMNOPQRSTUV23"
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"ABCD-EFGH-IJKL-MNOP-QRST-UV23", true},
		{"abcd efgh ijkl mnop qrst uv23", true},
		{" abcdEFGHijklMNOPqrstUV23\t", true},
		{"ABCD--EFGH-IJKL-MNOP-QRST-UV23", true},
		{"ABCD-EFGH-IJKL-MNOP-QRST-UV2", false},   // too short
		{"ABCD-EFGH-IJKL-MNOP-QRST-UV234", false}, // too long
		{"ABCD-EFGH-IJKL-MNOP-QRST-UV01", false},  // 0 and 1 are not base32
		{"ABCD_EFGH-IJKL-MNOP-QRST-UV23", false},
		{strings.Repeat("A", 100), false},
		{"ÄBCD-EFGH-IJKL-MNOP-QRST-UV23", false},
	} {
		got, ok := normalizeBackupCode(c.in)
		if ok != c.ok || (ok && got != canon) {
			t.Errorf("normalizeBackupCode(%q) = %q, %v; want ok=%v", c.in, got, ok, c.ok)
		}
	}
}

// FuzzOpenSealed: the sealed-blob decoder is bounded and never panics, and
// nothing but a genuine blob for the same user opens.
func FuzzOpenSealed(f *testing.F) {
	// A fixed nonce makes the genuine blob identical in every fuzz worker.
	box, err := NewSecretBox(SecretBoxConfig{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)},
		Rand: bytes.NewReader(make([]byte, boxNonceSize))})
	if err != nil {
		f.Fatal(err)
	}
	good, err := box.Seal("u1", []byte("secret payload"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0})
	f.Add([]byte{1, 255, 'k'})
	f.Add(append([]byte{1, 2, 'k', '1'}, make([]byte, 28)...))
	f.Add(append([]byte{2}, good[1:]...))
	f.Fuzz(func(t *testing.T, blob []byte) {
		pt, err := box.Open("u1", blob)
		if err == nil && !bytes.Equal(blob, good) {
			t.Fatalf("forged blob opened: %x -> %q", blob, pt)
		}
		if _, err := box.Open("u2", blob); err == nil {
			t.Fatalf("blob opened for another user")
		}
		if id, err := box.KeyID(blob); err == nil && (len(id) == 0 || len(id) > maxKeyIDLen) {
			t.Fatalf("KeyID returned %q", id)
		}
	})
}

// FuzzNormalizeBackupCode: user input never panics and normalizes to 24
// base32 characters or is rejected.
func FuzzNormalizeBackupCode(f *testing.F) {
	for _, s := range []string{"ABCD-EFGH-IJKL-MNOP-QRST-UV23", "", "----", "abcd efgh ijkl mnop qrst uv23", "\xff\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := normalizeBackupCode(in)
		if !ok {
			return
		}
		if len(out) != backupCodeChars {
			t.Fatalf("len %d", len(out))
		}
		if _, err := b32.DecodeString(out); err != nil {
			t.Fatalf("normalized %q does not decode: %v", out, err)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	k := totpKey{secret: v2Seeds[SHA1], alg: SHA1, digits: 6}
	at := time.Unix(1111111111, 0)
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := k.match("050471", at); !ok {
				b.Fatal("no match")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := k.match("000000", at); ok {
				b.Fatal("match")
			}
		}
	})
}

func BenchmarkOpen(b *testing.B) {
	box, _ := NewSecretBox(SecretBoxConfig{ActiveKeyID: "k1", Keys: map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}})
	blob, _ := box.Seal("user-1234", make([]byte, 23))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := box.Open("user-1234", blob); err != nil {
			b.Fatal(err)
		}
	}
}

// Clocks beyond MaxStep fail closed instead of handing a ReplayStore a step
// it cannot hold exactly.
func TestMatchBeyondMaxStep(t *testing.T) {
	k := totpKey{secret: v2Seeds[SHA1], alg: SHA1, digits: 6}
	at := time.Unix(int64(MaxStep)*periodSeconds, 0)
	mac := testHOTP(SHA1, k.secret)
	code := fmt.Sprintf("%06d", mac.value(MaxStep, 6))
	if _, ok := k.match(code, at); ok {
		t.Fatal("matched at MaxStep")
	}
	at = time.Unix(int64(MaxStep-1)*periodSeconds, 0)
	code = fmt.Sprintf("%06d", mac.value(MaxStep-1, 6))
	if step, ok := k.match(code, at); !ok || step != MaxStep-1 {
		t.Fatalf("MaxStep-1: %d, %v", step, ok)
	}
}
