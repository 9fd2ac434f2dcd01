package authkit

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"golang.org/x/text/unicode/norm"
)

// Bounds of a login name, in bytes, after canonicalization (RFC 5321
// §4.5.3.1: 64 for the local part, 255 for the domain).
const (
	maxLocalLen  = 64
	maxDomainLen = 255
)

// domainProfile maps and validates the domain of a login name (UTS #46
// lookup mapping and validity, the IDNA2008 bidi rule, DNS label and name
// lengths, no ASCII other than letters, digits and hyphens).
var domainProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true),
	idna.StrictDomainName(true))

// CanonicalLogin returns the form of a login name that accounts, lockout
// counters and audit events are keyed by: surrounding space trimmed, Unicode
// NFKC-normalized and lower-cased, and the domain (after the last '@')
// IDNA-normalized to its Unicode form, so "Alice@Example.com ",
// "alice@example.com" and "alice@EXAMPLE.com", or "ann@xn--bcher-kva.example"
// and "ann@bücher.example", are one account and share one failure count.
//
// ok is false for a name that could pass for another one or that no mail
// system accepts: invalid UTF-8, U+FFFD, control, format (Unicode category
// Cf: zero-width and bidirectional marks), private-use or space characters
// inside the name, a local part (or a name without '@') over 64 bytes, a
// domain over 255 bytes, or a domain IDNA refuses (empty or over-long
// labels, ASCII other than letters, digits and hyphens, characters UTS #46
// disallows, invalid punycode). One trailing dot of the domain (the DNS
// root) is dropped. Look-alikes from other scripts (Cyrillic "а" for Latin
// "a") are not folded: they name other accounts, and a host that shows
// login names to other users should check them for confusables (UTS #39).
func CanonicalLogin(s string) (login string, ok bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	s = strings.ToLower(norm.NFKC.String(strings.TrimSpace(s)))
	if s == "" {
		return "", false
	}
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) ||
			unicode.In(r, unicode.Cf, unicode.Co, unicode.Z) {
			return "", false
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		if len(s) > maxLocalLen {
			return "", false
		}
		return s, true
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > maxLocalLen || len(domain) > maxDomainLen {
		return "", false
	}
	ascii, err := domainProfile.ToASCII(domain)
	// One trailing dot is the root label: "example.com." is "example.com".
	ascii = strings.TrimSuffix(ascii, ".")
	if err != nil || ascii == "" || strings.HasSuffix(ascii, ".") || len(ascii) > maxDomainLen {
		return "", false
	}
	uni, err := domainProfile.ToUnicode(ascii)
	if err != nil || len(uni) > maxDomainLen {
		return "", false
	}
	return local + "@" + uni, true
}
