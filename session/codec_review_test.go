package session

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestDecodeStateRefusesMalformedMethods: the methods a store hands back
// are untrusted bytes: a method list that is empty, too long, has a value
// that is empty, overlong, not printable ASCII, or runs past the data is
// corrupt, never a partial or padded list.
func TestDecodeStateRefusesMalformedMethods(t *testing.T) {
	long := strings.Repeat("h", MaxAMRLen+1)
	for name, data := range map[string][]byte{
		"flag without a list": {1, 4, 0, 0},
		"empty list":          {1, 4, 0, 0, 0, 0},
		"too many values":     append([]byte{1, 4, 0, 0, MaxAMR + 1}, slices.Repeat([]byte{1, 'a'}, MaxAMR+1)...),
		"empty value":         {1, 4, 0, 0, 1, 0, 0},
		"overlong value":      append(append([]byte{1, 4, 0, 0, 1, byte(len(long))}, long...), 0),
		"space":               {1, 4, 0, 0, 1, 3, 'h', ' ', 'k', 0},
		"control byte":        {1, 4, 0, 0, 1, 3, 'h', 0x7f, 'k', 0},
		"non-ASCII":           {1, 4, 0, 0, 1, 2, 0xc3, 0xa9, 0},
		"value past the end":  {1, 4, 0, 0, 1, 9, 'h', 'w', 'k'},
		"list past the end":   {1, 4, 0, 0, 2, 3, 'h', 'w', 'k'},
		"unknown flag":        {1, 8, 0, 0, 0},
	} {
		if st, err := decodeState(data); !errors.Is(err, errCorrupt) || st.amr != nil {
			t.Errorf("%s: amr %q, err %v", name, st.amr, err)
		}
	}
	largest := make([]string, MaxAMR)
	for i := range largest {
		largest[i] = strings.Repeat("x", MaxAMRLen)
	}
	st, err := decodeState(encodeState(&state{amr: largest}))
	if err != nil || !slices.Equal(st.amr, largest) {
		t.Fatalf("the largest list: %v", err)
	}
}
