package rbac

import "math/bits"

// strTable is a static open-addressing hash table from string to int32,
// built once per policy and read without locks or allocation. It replaces
// map[string]int32 on the check path: its hash reads at most 16 bytes
// (the first and last eight) plus the length, instead of hashing the whole
// key, and every hit is confirmed by a full string comparison, so
// collisions cost a probe but never a wrong answer. The keys are the
// policy's own names, never attacker-supplied, and the table is at most
// half full, so probe sequences are short for any looked-up string.
type strTable struct {
	shift uint8    // 64 - log2(len(keys))
	seed  uint64   // chosen at build time for short probe sequences
	keys  []string // "" marks an empty slot (no valid name is empty)
	vals  []int32
}

// newStrTable builds the table for keys (distinct, non-empty) with value
// i for keys[i].
func newStrTable(keys []string) strTable {
	size := 8
	for size < 2*len(keys) {
		size *= 2
	}
	best := strTable{}
	bestProbe := -1
	for seed := uint64(0); seed < 8; seed++ {
		t := strTable{
			shift: uint8(64 - bits.TrailingZeros(uint(size))),
			seed:  seed * 0x9E3779B97F4A7C15,
			keys:  make([]string, size),
			vals:  make([]int32, size),
		}
		maxProbe := 0
		for i, k := range keys {
			mask := uint64(size - 1)
			h := t.slot(k)
			probe := 0
			for t.keys[h] != "" {
				h = (h + 1) & mask
				probe++
			}
			t.keys[h], t.vals[h] = k, int32(i)
			maxProbe = max(maxProbe, probe)
		}
		if bestProbe < 0 || maxProbe < bestProbe {
			best, bestProbe = t, maxProbe
		}
		if maxProbe == 0 {
			break
		}
	}
	return best
}

func (t *strTable) slot(s string) uint64 {
	n := len(s)
	var a, b uint64
	switch {
	case n >= 8:
		a, b = load64(s, 0), load64(s, n-8)
	case n >= 4:
		a, b = uint64(load32(s, 0)), uint64(load32(s, n-4))
	case n > 0:
		a = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
	}
	h := (a ^ t.seed) * 0x9E3779B97F4A7C15
	h ^= (b + uint64(n)) * 0xC2B2AE3D27D4EB4F
	h ^= h >> 32
	return (h * 0x165667B19E3779F9) >> t.shift
}

// get returns the value stored for s.
func (t *strTable) get(s string) (int32, bool) {
	if len(t.keys) == 0 {
		return 0, false
	}
	mask := uint64(len(t.keys) - 1)
	for h := t.slot(s); ; h = (h + 1) & mask {
		k := t.keys[h]
		if k == s && k != "" {
			return t.vals[h], true
		}
		if k == "" {
			return 0, false
		}
	}
}

func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

func load32(s string, i int) uint32 {
	_ = s[i+3]
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}
