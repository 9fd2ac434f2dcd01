package jwt

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// A small validating scanner for the JSON objects inside a JWS (header and
// claims). It stays beside encoding/json for properties that library lacks,
// not for speed: it rejects duplicate member names (RFC 7519 §4 permits
// last-wins; a duplicate "alg" or "sub" is a parser differential, so we
// reject), invalid UTF-8 and unpaired surrogate escapes (RFC 8725 §3.7,
// where encoding/json substitutes U+FFFD), and nesting deeper than 16; and
// it hands each member to the verifier under its exact name (encoding/json
// matches struct fields case-insensitively). Member values are decoded by
// encoding/json (jsonString, jsonStrings). FuzzScanObject checks it against
// encoding/json.

const maxJSONDepth = 16

type scanner struct {
	data []byte
	i    int
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scanner) ws() {
	for s.i < len(s.data) && isWS(s.data[s.i]) {
		s.i++
	}
}

// str scans a string starting at s.i (which must be '"'); it returns the raw
// contents between the quotes and whether they contain escapes.
func (s *scanner) str() (raw []byte, esc bool, ok bool) {
	d := s.data
	if s.i >= len(d) || d[s.i] != '"' {
		return nil, false, false
	}
	start := s.i + 1
	i := start
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.i = i + 1
			return d[start:i], esc, true
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			esc = true
			if i+1 >= len(d) {
				return nil, false, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := hex4(d, i+2)
				if !ok {
					return nil, false, false
				}
				i += 6
				if r >= 0xD800 && r <= 0xDBFF {
					// must be followed by a low surrogate escape
					if i+1 >= len(d) || d[i] != '\\' || d[i+1] != 'u' {
						return nil, false, false
					}
					r2, ok := hex4(d, i+2)
					if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
						return nil, false, false
					}
					i += 6
				} else if r >= 0xDC00 && r <= 0xDFFF {
					return nil, false, false
				}
			default:
				return nil, false, false
			}
		default:
			i++
		}
	}
	return nil, false, false
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *scanner) number() bool {
	d := s.data
	i := s.i
	if i < len(d) && d[i] == '-' {
		i++
	}
	if i >= len(d) {
		return false
	}
	if d[i] == '0' {
		i++
	} else if d[i] >= '1' && d[i] <= '9' {
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	} else {
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	s.i = i
	return true
}

func (s *scanner) lit(l string) bool {
	if len(s.data)-s.i < len(l) || string(s.data[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

// value validates one JSON value at s.i.
func (s *scanner) value(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	s.ws()
	if s.i >= len(s.data) {
		return false
	}
	switch c := s.data[s.i]; {
	case c == '"':
		_, _, ok := s.str()
		return ok
	case c == '{':
		s.i++
		s.ws()
		if s.i < len(s.data) && s.data[s.i] == '}' {
			s.i++
			return true
		}
		for {
			s.ws()
			if _, _, ok := s.str(); !ok {
				return false
			}
			s.ws()
			if s.i >= len(s.data) || s.data[s.i] != ':' {
				return false
			}
			s.i++
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.i >= len(s.data) {
				return false
			}
			if s.data[s.i] == ',' {
				s.i++
				continue
			}
			if s.data[s.i] == '}' {
				s.i++
				return true
			}
			return false
		}
	case c == '[':
		s.i++
		s.ws()
		if s.i < len(s.data) && s.data[s.i] == ']' {
			s.i++
			return true
		}
		for {
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.i >= len(s.data) {
				return false
			}
			if s.data[s.i] == ',' {
				s.i++
				continue
			}
			if s.data[s.i] == ']' {
				s.i++
				return true
			}
			return false
		}
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	default:
		return s.number()
	}
}

// maxMembers bounds the number of top-level members we track for duplicate
// detection without allocating; objects with more members are rejected.
const maxMembers = 64

// scanObject validates data as exactly one JSON object and calls fn for every
// top-level member with the key (unescaped) and the raw value bytes. It
// returns errDuplicate for a repeated key, errUTF8 for invalid UTF-8, and
// errMalformed otherwise. fn's error is returned as is.
func scanObject(data []byte, fn func(key, val []byte) error) error {
	if !utf8.Valid(data) {
		return errUTF8
	}
	var keysArr [maxMembers][]byte
	keys := keysArr[:0]
	s := scanner{data: data}
	s.ws()
	if s.i >= len(data) || data[s.i] != '{' {
		return errMalformed
	}
	s.i++
	s.ws()
	if s.i < len(data) && data[s.i] == '}' {
		s.i++
	} else {
		for {
			s.ws()
			raw, esc, ok := s.str()
			if !ok {
				return errMalformed
			}
			key := raw
			if esc {
				var k string
				if err := json.Unmarshal(data[s.i-len(raw)-2:s.i], &k); err != nil {
					return errMalformed
				}
				key = []byte(k)
			}
			for _, k := range keys {
				if string(k) == string(key) {
					return errDuplicate
				}
			}
			if len(keys) == maxMembers {
				return errMalformed
			}
			keys = append(keys, key)
			s.ws()
			if s.i >= len(data) || data[s.i] != ':' {
				return errMalformed
			}
			s.i++
			s.ws()
			start := s.i
			if !s.value(1) {
				return errMalformed
			}
			if err := fn(key, data[start:s.i]); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(data) {
				return errMalformed
			}
			if data[s.i] == ',' {
				s.i++
				continue
			}
			if data[s.i] == '}' {
				s.i++
				break
			}
			return errMalformed
		}
	}
	s.ws()
	if s.i != len(data) {
		return errMalformed
	}
	return nil
}

// jsonString decodes a raw JSON value that must be a string. The value has
// been validated by scanObject (UTF-8, no control characters, escapes well
// formed), so a string without escapes is its own content; escaped strings
// are decoded by encoding/json.
func jsonString(val []byte) (string, error) {
	if len(val) < 2 || val[0] != '"' {
		return "", errClaimType
	}
	if inner := val[1 : len(val)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return "", errClaimType
	}
	return s, nil
}

// jsonStringBytes is jsonString without the allocation when no escapes.
func jsonStringBytes(val []byte) ([]byte, error) {
	if len(val) < 2 || val[0] != '"' {
		return nil, errClaimType
	}
	if inner := val[1 : len(val)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	s, err := jsonString(val)
	return []byte(s), err
}

// jsonStrings decodes a raw JSON array of strings with encoding/json. If
// single is true, a lone string is accepted too (the "aud" claim, RFC 7519
// §4.1.3). null and arrays holding anything but strings are refused.
func jsonStrings(val []byte, single bool) ([]string, error) {
	if single && len(val) > 0 && val[0] == '"' {
		v, err := jsonString(val)
		if err != nil {
			return nil, err
		}
		return []string{v}, nil
	}
	if len(val) < 2 || val[0] != '[' {
		return nil, errClaimType
	}
	var elems []claimString
	if err := json.Unmarshal(val, &elems); err != nil {
		return nil, errClaimType
	}
	out := make([]string, len(elems))
	for i, e := range elems {
		out[i] = string(e)
	}
	return out, nil
}

// claimString is a string array element: encoding/json would turn null into
// "", so elements go through jsonString, which refuses anything but a string.
type claimString string

func (c *claimString) UnmarshalJSON(b []byte) error {
	v, err := jsonString(b)
	*c = claimString(v)
	return err
}

// maxNumericDate is the largest accepted NumericDate: 12 digits.
const maxNumericDate = 999_999_999_999

// numericDate decodes an RFC 7519 NumericDate. authkit accepts only
// non-negative integers of at most 12 digits: strings, null, fractions,
// exponents and negative values are rejected.
func numericDate(val []byte) (int64, error) {
	if len(val) == 0 || !isDigit(val[0]) {
		return 0, errClaimType
	}
	n, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil || n > maxNumericDate {
		return 0, errClaimType
	}
	return n, nil
}
