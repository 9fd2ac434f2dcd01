package password

import (
	"context"
	"testing"
)

// BenchmarkLoginFailurePaths times the two login failure paths side by side at the
// default parameters: a known user with a wrong password, and an unknown
// user (VerifyDummy). Compare the medians with benchstat; they should agree
// within a few percent.
func BenchmarkLoginFailurePaths(b *testing.B) {
	h, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	enc, err := h.Hash(ctx, "the right password") // also warms up argon2id
	if err != nil {
		b.Fatal(err)
	}
	b.Run("wrong_password", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _, err := h.Verify(ctx, "a wrong password", enc); ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("unknown_user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := h.VerifyDummy(ctx, "a wrong password"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	const s = "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeArgon2id(s, DefaultMaxMemoryKiB); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	p, err := NewPolicy(PolicyConfig{})
	if err != nil {
		b.Fatal(err)
	}
	u := UserInfo{Email: "alice@example.com", Name: "Alice Smith"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Check(ctx, "correct horse battery staple", u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewPolicy(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewPolicy(PolicyConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}
