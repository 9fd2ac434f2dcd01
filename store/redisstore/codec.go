package redisstore

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Records that only Go reads (session data, MFA enrollments, challenges,
// OAuth transactions, one-time tokens) are stored as one binary value: a
// format byte, then fields in a fixed order, each byte string with a
// uvarint length and each time as a presence byte plus varint Unix
// nanoseconds. Nothing is interpreted as text, so NUL bytes and invalid
// UTF-8 survive.

// codecV1 is the format byte of every encoded record.
const codecV1 = 1

// errCorrupt is returned for a stored value that does not decode.
var errCorrupt = errors.New("redisstore: corrupt record")

type enc struct{ b []byte }

func newEnc(size int) *enc {
	e := &enc{b: make([]byte, 0, size+16)}
	e.b = append(e.b, codecV1)
	return e
}

func (e *enc) bytes(v []byte) {
	e.b = binary.AppendUvarint(e.b, uint64(len(v)))
	e.b = append(e.b, v...)
}

func (e *enc) str(v string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(v)))
	e.b = append(e.b, v...)
}

func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	// UnixNano is undefined outside 1678..2262: clamp to that range, so a
	// far-future expiry stays in the future and a far-past one in the past.
	n := t.UnixNano()
	switch {
	case t.After(time.Unix(0, math.MaxInt64)):
		n = math.MaxInt64
	case t.Before(time.Unix(0, math.MinInt64)):
		n = math.MinInt64
	}
	e.b = binary.AppendVarint(e.b, n)
}

func (e *enc) int(n int64) { e.b = binary.AppendVarint(e.b, n) }

type dec struct {
	b   []byte
	err error
}

func newDec(b []byte) *dec {
	if len(b) == 0 || b[0] != codecV1 {
		return &dec{err: errCorrupt}
	}
	return &dec{b: b[1:]}
}

func (d *dec) raw() []byte {
	if d.err != nil {
		return nil
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) {
		d.err = errCorrupt
		return nil
	}
	v := d.b[k : k+int(n)]
	d.b = d.b[k+int(n):]
	return v
}

// bytes returns a copy (nil for an empty field), so callers never alias
// the decoding buffer.
func (d *dec) bytes() []byte {
	v := d.raw()
	if len(v) == 0 {
		return nil
	}
	return append([]byte(nil), v...)
}

func (d *dec) str() string { return string(d.raw()) }

func (d *dec) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	if len(d.b) == 0 {
		d.err = errCorrupt
		return time.Time{}
	}
	present := d.b[0]
	d.b = d.b[1:]
	if present == 0 {
		return time.Time{}
	}
	n, k := binary.Varint(d.b)
	if k <= 0 {
		d.err = errCorrupt
		return time.Time{}
	}
	d.b = d.b[k:]
	return time.Unix(0, n)
}

func (d *dec) int() int64 {
	if d.err != nil {
		return 0
	}
	n, k := binary.Varint(d.b)
	if k <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[k:]
	return n
}

// done reports the first error, or errCorrupt if bytes are left over.
func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return d.err
}
