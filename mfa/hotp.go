package mfa

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"time"
)

// Algorithm is the HMAC hash of a TOTP key (RFC 6238 §1.2). The zero value
// is SHA1, the only one every authenticator app supports.
type Algorithm uint8

// Supported algorithms.
const (
	SHA1   Algorithm = iota // HMAC-SHA1 (default; RFC 4226)
	SHA256                  // HMAC-SHA256 (RFC 6238)
	SHA512                  // HMAC-SHA512 (RFC 6238)
)

// String returns the name used in otpauth URIs ("SHA1", "SHA256", "SHA512").
func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return "unknown"
}

func (a Algorithm) valid() bool { return a <= SHA512 }

// Period is the TOTP time step X of RFC 6238 §4.1; authkit fixes it at 30 s
// (ASVS 6.5.5: lifetime ≤30 s).
const Period = 30 * time.Second

const periodSeconds = 30

// MaxStep bounds the time steps handed to a [ReplayStore]: 2^53 − 1, exact
// in a float64 (Redis Lua numbers). Clocks past it (about 8.5 billion
// years from now) verify nothing.
const MaxStep = 1<<53 - 1

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// newHash returns the hash constructor of a.
func (a Algorithm) newHash() func() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return sha1.New
}

// hotpValue computes the RFC 4226 §5.3 HOTP value of counter with mac, an
// HMAC (crypto/hmac) keyed with the secret and fresh or Reset, truncated to
// digits decimal digits.
func hotpValue(mac hash.Hash, counter uint64, digits int) uint32 {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	var buf [sha512.Size]byte
	sum := mac.Sum(buf[:0])
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return bin % pow10[digits]
}

// parseCode turns exactly digits ASCII decimal digits into their value.
// Only the length and character class are checked in variable time; neither
// depends on the secret.
func parseCode(code string, digits int) (uint32, bool) {
	if len(code) != digits {
		return 0, false
	}
	var v uint32
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint32(c-'0')
	}
	return v, true
}

// totpKey is a decoded TOTP key.
type totpKey struct {
	secret []byte
	alg    Algorithm
	digits int
}

// stepAt returns the RFC 6238 §4.2 time step T for t (T0 = 0). Times before
// the epoch map to step 0.
func stepAt(t time.Time) uint64 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return uint64(s) / periodSeconds
}

// match reports which step among T, T−1 and T+1 (RFC 6238 §5.2: at most
// one step of network delay either way) produces code, trying T first.
// Each comparison is constant time (ASVS 11.2.4). It does not prevent
// replay: callers must claim the returned step in a ReplayStore.
func (k *totpKey) match(code string, t time.Time) (uint64, bool) {
	want, ok := parseCode(code, k.digits)
	if !ok {
		return 0, false
	}
	now := stepAt(t)
	if now >= MaxStep { // far beyond any real clock; fail closed
		return 0, false
	}
	mac := hmac.New(k.alg.newHash(), k.secret)
	for i, step := range [3]uint64{now, now - 1, now + 1} {
		if step == now-1 && now == 0 {
			continue
		}
		if i > 0 {
			mac.Reset()
		}
		if subtle.ConstantTimeEq(int32(hotpValue(mac, step, k.digits)), int32(want)) == 1 {
			return step, true
		}
	}
	return 0, false
}
