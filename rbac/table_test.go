package rbac

import (
	"fmt"
	"testing"
)

func TestStrTable(t *testing.T) {
	var empty strTable
	if _, ok := empty.get("x"); ok {
		t.Error("empty table found a key")
	}
	for _, n := range []int{1, 3, 8, 9, 100, 1000} {
		keys := make([]string, n)
		for i := range keys {
			// Shared prefixes and suffixes, lengths 1..20: stress the
			// first/last-8-bytes hash.
			keys[i] = fmt.Sprintf("%d", i)
			if i%3 == 1 {
				keys[i] = fmt.Sprintf("resource:%dx:action", i)
			}
			if i%3 == 2 {
				keys[i] = fmt.Sprintf("aaaaaaaaaa%daaaaaaaaaa", i)
			}
		}
		tab := newStrTable(keys)
		for i, k := range keys {
			if v, ok := tab.get(k); !ok || v != int32(i) {
				t.Fatalf("n=%d: get(%q) = %d, %v; want %d", n, k, v, ok, i)
			}
		}
		for _, miss := range []string{"", "x", "resource:x:action", "aaaaaaaaaa", keys[0] + " ", "\x00"} {
			if _, ok := tab.get(miss); ok {
				t.Errorf("n=%d: get(%q) found a key", n, miss)
			}
		}
		if 2*n > len(tab.keys) {
			t.Errorf("n=%d: table size %d, more than half full", n, len(tab.keys))
		}
	}
}
