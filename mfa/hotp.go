package mfa

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding"
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

// hotpMAC is HMAC (RFC 2104) over one fixed key, computed with the
// one-shot Sum functions on stack buffers: no allocations, and no state
// shared between calls. ipad and opad hold the key XOR 0x36 and 0x5c,
// padded to the hash's block size.
type hotpMAC struct {
	alg        Algorithm
	blockSize  int
	ipad, opad [sha512.BlockSize]byte
}

func newHOTPMAC(alg Algorithm, key []byte) hotpMAC {
	h := hotpMAC{alg: alg, blockSize: sha1.BlockSize}
	if alg == SHA512 {
		h.blockSize = sha512.BlockSize
	}
	var long [sha512.Size]byte
	if len(key) > h.blockSize { // RFC 2104 §2: hash keys longer than a block
		switch alg {
		case SHA1:
			s := sha1.Sum(key)
			key = append(long[:0], s[:]...)
		case SHA256:
			s := sha256.Sum256(key)
			key = append(long[:0], s[:]...)
		default:
			s := sha512.Sum512(key)
			key = append(long[:0], s[:]...)
		}
	}
	for i := 0; i < h.blockSize; i++ {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		h.ipad[i] = k ^ 0x36
		h.opad[i] = k ^ 0x5c
	}
	clear(long[:])
	return h
}

// value computes the RFC 4226 §5.3 HOTP value of counter, truncated to
// digits decimal digits.
func (h *hotpMAC) value(counter uint64, digits int) uint32 {
	bs := h.blockSize
	var in [sha512.BlockSize + 8]byte
	copy(in[:bs], h.ipad[:bs])
	binary.BigEndian.PutUint64(in[bs:], counter)
	var out [sha512.BlockSize + sha512.Size]byte
	copy(out[:bs], h.opad[:bs])
	var sum [sha512.Size]byte
	var n int
	switch h.alg {
	case SHA1:
		s := sha1.Sum(in[:bs+8])
		copy(out[bs:], s[:])
		s = sha1.Sum(out[:bs+sha1.Size])
		n = copy(sum[:], s[:])
	case SHA256:
		s := sha256.Sum256(in[:bs+8])
		copy(out[bs:], s[:])
		s = sha256.Sum256(out[:bs+sha256.Size])
		n = copy(sum[:], s[:])
	default:
		s := sha512.Sum512(in[:bs+8])
		copy(out[bs:], s[:])
		s = sha512.Sum512(out[:bs+sha512.Size])
		n = copy(sum[:], s[:])
	}
	off := sum[n-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	clear(in[:])
	clear(out[:])
	return bin % pow10[digits]
}

// hotpStates resumes HMAC from the hash states after the ipad and opad
// blocks (as crypto/hmac does), so each further HOTP value costs two
// compression calls instead of four. Used when several candidates are
// computed for one key.
type hotpStates struct {
	alg    Algorithm
	d      hash.Hash
	um     encoding.BinaryUnmarshaler
	buf    []byte // inner state | outer state | inner sum | outer sum … pad
	ni, no int
}

// newHOTPStates returns nil if the hash cannot save its state.
func newHOTPStates(m *hotpMAC) *hotpStates {
	var d hash.Hash
	switch m.alg {
	case SHA1:
		d = sha1.New()
	case SHA256:
		d = sha256.New()
	default:
		d = sha512.New()
	}
	ap, ok1 := d.(encoding.BinaryAppender)
	um, ok2 := d.(encoding.BinaryUnmarshaler)
	if !ok1 || !ok2 {
		return nil
	}
	st := &hotpStates{alg: m.alg, d: d, um: um, buf: make([]byte, 0, 1024)}
	// Copy the pads to the heap scratch first: handing m's arrays to an
	// interface method would move m (and the common match path) to the heap.
	// Layout of buf: states (≤ 2×204 bytes) and sums (≤ 2×64) from 0, the
	// pad at 768.
	pad := st.buf[768 : 768+m.blockSize]
	copy(pad, m.ipad[:m.blockSize])
	d.Write(pad)
	copy(pad, m.opad[:m.blockSize])
	b, err := ap.AppendBinary(st.buf[:0])
	if err != nil {
		return nil
	}
	st.ni = len(b)
	d.Reset()
	d.Write(pad)
	b, err = ap.AppendBinary(b)
	if err != nil {
		return nil
	}
	st.no = len(b) - st.ni
	st.buf = b
	return st
}

func (st *hotpStates) value(counter uint64, digits int) (uint32, bool) {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	states := st.buf[:st.ni+st.no]
	if st.um.UnmarshalBinary(states[:st.ni]) != nil {
		return 0, false
	}
	st.d.Write(msg[:])
	inner := st.d.Sum(states[len(states):])
	if st.um.UnmarshalBinary(states[st.ni:]) != nil {
		return 0, false
	}
	st.d.Write(inner)
	sum := st.d.Sum(inner[len(inner):])
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return bin % pow10[digits], true
}

func (st *hotpStates) wipe() {
	clear(st.buf[:cap(st.buf)])
	st.d.Reset()
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
// one step of network delay either way) produces code. Each comparison is
// constant time (ASVS 11.2.4). It does not prevent replay: callers must
// claim the returned step in a ReplayStore.
func (k *totpKey) match(code string, t time.Time) (uint64, bool) {
	want, ok := parseCode(code, k.digits)
	if !ok {
		return 0, false
	}
	mac := newHOTPMAC(k.alg, k.secret)
	defer clear(mac.ipad[:])
	defer clear(mac.opad[:])
	now := stepAt(t)
	if now >= MaxStep { // far beyond any real clock; fail closed
		return 0, false
	}
	// Step T first with one-shot HMAC (four compressions, no allocations:
	// the common case). If it does not match, T−1 and T+1 resume from
	// saved ipad/opad states (two compressions each after two for setup).
	if got := mac.value(now, k.digits); subtle.ConstantTimeEq(int32(got), int32(want)) == 1 {
		return now, true
	}
	st := newHOTPStates(&mac)
	if st != nil {
		defer st.wipe()
	}
	for _, step := range [2]uint64{now - 1, now + 1} {
		if step == now-1 && now == 0 {
			continue
		}
		var got uint32
		if st != nil {
			v, ok := st.value(step, k.digits)
			if !ok {
				return 0, false
			}
			got = v
		} else {
			got = mac.value(step, k.digits)
		}
		if subtle.ConstantTimeEq(int32(got), int32(want)) == 1 {
			return step, true
		}
	}
	return 0, false
}
