package password

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Length defaults for [PolicyConfig] (NIST SP 800-63B §5.1.1.2; ASVS 6.2.1,
// 6.2.9).
const (
	// DefaultMinLength is the default minimum, in code points after NFKC.
	// NIST SP 800-63B rev. 4 asks for 15 when the password is the only
	// authentication factor; set MinLength to 15 in that case.
	DefaultMinLength = 8
	// DefaultMaxLength is the default maximum, in code points after NFKC.
	DefaultMaxLength = 256
)

// PolicyConfig configures a [Policy]. The zero value is valid: length 8 to
// 256, no composition rules, the embedded blocklist, no breach check.
type PolicyConfig struct {
	// MinLength in Unicode code points after NFKC (default 8, never below
	// 8; use 15 when the password is the only factor).
	MinLength int
	// MaxLength in code points after NFKC (default 256; at least 64, as
	// ASVS 6.2.9 and NIST require allowing 64).
	MaxLength int
	// RequireClasses opts into a composition rule: the password must use at
	// least this many of lower-case letters, upper-case letters, digits and
	// other characters (0 to 4). NIST SP 800-63B and ASVS 6.2.5 advise
	// against composition rules, so the default is 0 (none).
	RequireClasses int
	// ContextWords are service-specific values (the site's name, its
	// domain) that a password must not equal.
	ContextWords []string
	// Blocklist adds entries to the embedded common-password list.
	Blocklist []string
	// Breached, when set, is consulted last, only for passwords that passed
	// every other rule (ASVS 6.2.12).
	Breached BreachedChecker
}

// UserInfo carries the context-specific values a password must not equal
// (NIST SP 800-63B §5.1.1.2: "context-specific words, such as the name of
// the service, the username, and derivatives thereof").
type UserInfo struct {
	Email string // the email and its local part are both checked
	Name  string // checked as given and with spaces removed
	Other []string
}

// Policy checks new passwords against NIST SP 800-63B §5.1.1.2 and ASVS
// 6.2: length counted in code points after NFKC, no composition rules by
// default, and rejection of common, repetitive, context-specific and
// (optionally) breached values. It is safe for concurrent use. Use it at
// sign-up, password change and reset; never re-check stored passwords at
// login and never force periodic changes (ASVS 6.2.10).
type Policy struct {
	min, max       int
	requireClasses int
	contextWords   []string
	extra          map[string]struct{}
	common         []string
	breached       BreachedChecker
}

// NewPolicy returns a Policy for cfg, or an error if cfg is invalid.
func NewPolicy(cfg PolicyConfig) (_ *Policy, err error) {
	defer wrapInvalidConfig(&err)
	p := &Policy{
		min:            cfg.MinLength,
		max:            cfg.MaxLength,
		requireClasses: cfg.RequireClasses,
		breached:       cfg.Breached,
		common:         blocklistEntries(),
	}
	if p.min == 0 {
		p.min = DefaultMinLength
	}
	if p.max == 0 {
		p.max = DefaultMaxLength
	}
	switch {
	case p.min < DefaultMinLength:
		return nil, fmt.Errorf("password: MinLength %d below NIST's minimum of 8", p.min)
	case p.max < 64:
		return nil, fmt.Errorf("password: MaxLength %d below 64 (ASVS 6.2.9)", p.max)
	case p.max < p.min:
		return nil, fmt.Errorf("password: MaxLength %d below MinLength %d", p.max, p.min)
	case p.requireClasses < 0 || p.requireClasses > 4:
		return nil, fmt.Errorf("password: RequireClasses %d outside [0, 4]", p.requireClasses)
	}
	for _, w := range cfg.ContextWords {
		if w = fold(w); w != "" {
			p.contextWords = append(p.contextWords, w)
		}
	}
	for _, w := range cfg.Blocklist {
		if w = fold(w); w != "" {
			if p.extra == nil {
				p.extra = make(map[string]struct{}, len(cfg.Blocklist))
			}
			p.extra[w] = struct{}{}
		}
	}
	return p, nil
}

// MinLength returns the configured minimum length in code points.
func (p *Policy) MinLength() int { return p.min }

// MaxLength returns the configured maximum length in code points.
func (p *Policy) MaxLength() int { return p.max }

// fold is the comparison form: NFKC, then lower case.
func fold(s string) string { return strings.ToLower(norm.NFKC.String(s)) }

// Check returns nil if pw is acceptable as a new password for the user u,
// or a [*PolicyError] naming the first rule that failed, in this order:
// too_short, too_long, composition, context, repetitive, common, breached.
// Comparisons with the blocklist and u are case-insensitive, after NFKC.
// Check never modifies the password that will be hashed: pass pw unchanged
// to [Hasher.Hash].
//
// An error that is not a *PolicyError comes from the [BreachedChecker]
// (network, ctx); the caller decides whether to fail closed.
func (p *Policy) Check(ctx context.Context, pw string, u UserInfo) error {
	n := norm.NFKC.String(pw)
	length := utf8.RuneCountInString(n)
	if length < p.min {
		return &PolicyError{Rule: RuleTooShort, Min: p.min, Max: p.max, Length: length}
	}
	if length > p.max {
		return &PolicyError{Rule: RuleTooLong, Min: p.min, Max: p.max, Length: length}
	}
	if p.requireClasses > 0 && classes(n) < p.requireClasses {
		return &PolicyError{Rule: RuleComposition, Min: p.min, Max: p.max, Length: length}
	}
	f := strings.ToLower(n)
	if p.matchesContext(f, u) {
		return &PolicyError{Rule: RuleContext, Min: p.min, Max: p.max, Length: length}
	}
	if repetitive(f) {
		return &PolicyError{Rule: RuleRepetitive, Min: p.min, Max: p.max, Length: length}
	}
	if _, ok := p.extra[f]; ok || inSorted(p.common, f) {
		return &PolicyError{Rule: RuleCommon, Min: p.min, Max: p.max, Length: length}
	}
	if p.breached != nil {
		found, err := p.breached.Breached(ctx, pw)
		if err != nil {
			return fmt.Errorf("password: breached-password check: %w", err)
		}
		if found {
			return &PolicyError{Rule: RuleBreached, Min: p.min, Max: p.max, Length: length}
		}
	}
	return nil
}

func (p *Policy) matchesContext(f string, u UserInfo) bool {
	eq := func(v string) bool {
		v = fold(v)
		return v != "" && v == f
	}
	if eq(u.Email) {
		return true
	}
	if at := strings.LastIndexByte(u.Email, '@'); at > 0 && eq(u.Email[:at]) {
		return true
	}
	if eq(u.Name) || eq(strings.Join(strings.Fields(u.Name), "")) {
		return true
	}
	for _, v := range u.Other {
		if eq(v) {
			return true
		}
	}
	for _, w := range p.contextWords {
		if w == f {
			return true
		}
	}
	return false
}

// repetitive reports a single repeated code point ("aaaaaaaa") or a plain
// ascending or descending run ("abcdefgh", "87654321").
func repetitive(s string) bool {
	var prev rune
	step, i := rune(0), 0
	for _, r := range s {
		if i == 1 {
			step = r - prev
			if step < -1 || step > 1 {
				return false
			}
		} else if i > 1 && r-prev != step {
			return false
		}
		prev = r
		i++
	}
	return i > 1
}

// classes counts the character classes used: lower, upper, digit, other.
func classes(s string) int {
	var lower, upper, digit, other int
	for _, r := range s {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	return lower + upper + digit + other
}
