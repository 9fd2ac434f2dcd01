package session

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"time"
)

// Codec encodes individual session values (the argument of [Session.Put]
// and the destination of [Session.Get]). The container holding the values
// and the identity fields is a fixed, length-prefixed binary format owned by
// this package, so a Codec only ever sees one value at a time.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec is the default [Codec], using encoding/json.
//
// JSON is the default rather than encoding/gob because it needs no type
// registration for values stored behind interfaces, stays readable (and
// portable across languages) when an operator inspects Redis or SQL rows,
// and costs a few allocations per value where gob builds type information
// on every decoder (most of scs's per-request allocations). The price is
// JSON's type mapping: use a concrete destination type with [Session.Get].
type JSONCodec struct{}

// Marshal implements [Codec] with [json.Marshal].
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal implements [Codec] with [json.Unmarshal].
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// GobCodec is a [Codec] using encoding/gob, for values JSON cannot
// represent faithfully. Each value is a self-contained gob stream.
type GobCodec struct{}

// Marshal implements [Codec] with a fresh [gob.Encoder].
func (GobCodec) Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Unmarshal implements [Codec] with a fresh [gob.Decoder].
func (GobCodec) Unmarshal(data []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}

// Container format (version 1), all integers as (u)varints:
//
//	0x01 flags authTimeUnixNano mfaTimeUnixNano [challengeLen challenge] [amrCount { amrLen amr }*] count { keyLen key valLen val }*
//
// flags bit 0: MFA pending; bit 1: an MFA challenge follows the times;
// bit 2: the sign-in's methods (amr) follow the challenge. A zero time is
// encoded as 0. Data written before bit 2 existed decodes unchanged (no
// methods recorded).
const (
	containerV1     = 1
	flagMFAPending  = 1
	flagChallenge   = 2
	flagAMR         = 4
	maxContainerLen = 16 << 20 // refuse to parse more than 16 MiB
)

// Limits of the methods a sign-in records ([Manager.SignIn]): at most
// MaxAMR values of 1 to MaxAMRLen printable ASCII bytes each (RFC 8176
// values are short names such as "pwd", "otp", "hwk").
const (
	MaxAMR    = 16
	MaxAMRLen = 32
)

var errCorrupt = errors.New("session: corrupt session data")

type entry struct {
	key string
	val []byte
}

type state struct {
	pending   bool
	challenge string   // opaque MFA challenge while pending (BeginMFAChallenge)
	amr       []string // methods of the sign-in authTime dates (SignIn, RenewSignIn); nil if not recorded
	authTime  time.Time
	mfaTime   time.Time
	entries   []entry
}

func timeNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func nanoTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func encodeState(st *state) []byte {
	n := 1 + 6*binary.MaxVarintLen64 + len(st.challenge)
	for _, m := range st.amr {
		n += binary.MaxVarintLen64 + len(m)
	}
	for _, e := range st.entries {
		n += 2*binary.MaxVarintLen64 + len(e.key) + len(e.val)
	}
	b := make([]byte, 0, n)
	b = append(b, containerV1)
	var flags uint64
	if st.pending {
		flags |= flagMFAPending
	}
	if st.challenge != "" {
		flags |= flagChallenge
	}
	if len(st.amr) > 0 {
		flags |= flagAMR
	}
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendVarint(b, timeNano(st.authTime))
	b = binary.AppendVarint(b, timeNano(st.mfaTime))
	if st.challenge != "" {
		b = binary.AppendUvarint(b, uint64(len(st.challenge)))
		b = append(b, st.challenge...)
	}
	if len(st.amr) > 0 {
		b = binary.AppendUvarint(b, uint64(len(st.amr)))
		for _, m := range st.amr {
			b = binary.AppendUvarint(b, uint64(len(m)))
			b = append(b, m...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(st.entries)))
	for _, e := range st.entries {
		b = binary.AppendUvarint(b, uint64(len(e.key)))
		b = append(b, e.key...)
		b = binary.AppendUvarint(b, uint64(len(e.val)))
		b = append(b, e.val...)
	}
	return b
}

// decodeState parses untrusted container bytes. Values alias data; data
// must not be modified afterwards. Empty data is an empty state.
func decodeState(data []byte) (state, error) {
	var st state
	if len(data) == 0 {
		return st, nil
	}
	if len(data) > maxContainerLen || data[0] != containerV1 {
		return st, errCorrupt
	}
	p := data[1:]
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	sv := func() (int64, bool) {
		v, n := binary.Varint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	flags, ok1 := uv()
	at, ok2 := sv()
	mt, ok3 := sv()
	if !ok1 || !ok2 || !ok3 || flags&^(flagMFAPending|flagChallenge|flagAMR) != 0 {
		return st, errCorrupt
	}
	if flags&flagChallenge != 0 {
		cl, ok := uv()
		if !ok || cl == 0 || cl > uint64(len(p)) {
			return st, errCorrupt
		}
		st.challenge = string(p[:cl])
		p = p[cl:]
	}
	if flags&flagAMR != 0 {
		n, ok := uv()
		if !ok || n == 0 || n > MaxAMR {
			return state{}, errCorrupt
		}
		st.amr = make([]string, 0, n)
		for range n {
			l, ok := uv()
			if !ok || l > uint64(len(p)) || !validAMR(p[:l]) {
				return state{}, errCorrupt
			}
			st.amr = append(st.amr, string(p[:l]))
			p = p[l:]
		}
	}
	count, ok4 := uv()
	if !ok4 || count > uint64(len(p))/2 {
		return state{}, errCorrupt
	}
	st.pending = flags&flagMFAPending != 0
	st.authTime, st.mfaTime = nanoTime(at), nanoTime(mt)
	if count > 0 {
		st.entries = make([]entry, 0, count)
	}
	for i := uint64(0); i < count; i++ {
		kl, ok := uv()
		if !ok || kl > uint64(len(p)) {
			return state{}, errCorrupt
		}
		key := p[:kl]
		p = p[kl:]
		vl, ok := uv()
		if !ok || vl > uint64(len(p)) {
			return state{}, errCorrupt
		}
		val := p[:vl:vl]
		p = p[vl:]
		for _, e := range st.entries {
			if e.key == string(key) {
				return state{}, errCorrupt
			}
		}
		st.entries = append(st.entries, entry{key: string(key), val: val})
	}
	if len(p) != 0 {
		return state{}, errCorrupt
	}
	return st, nil
}

// validAMR reports whether m is a method value [Manager.SignIn] accepts:
// 1 to [MaxAMRLen] printable ASCII bytes without spaces.
func validAMR[T string | []byte](m T) bool {
	if len(m) == 0 || len(m) > MaxAMRLen {
		return false
	}
	for i := range len(m) {
		if m[i] <= ' ' || m[i] > '~' {
			return false
		}
	}
	return true
}
