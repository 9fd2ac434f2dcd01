package bench

import (
	"context"
	"testing"

	"github.com/alexedwards/argon2id"
	"github.com/authkit-go/authkit/password"
)

// BenchmarkPasswordVerify compares password.Hasher.Verify with a direct
// alexedwards/argon2id.ComparePasswordAndHash on the same hash, at the
// OWASP parameters (m=19456 KiB, t=2, p=1), in one run (PERF.md target:
// within 2%, allocations equal or fewer). Run with -count 10 and compare
// the two sub-benchmarks with benchstat.
func BenchmarkPasswordVerify(b *testing.B) {
	const pw = "correct horse battery staple"
	params := &argon2id.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	enc, err := argon2id.CreateHash(pw, params)
	if err != nil {
		b.Fatal(err)
	}
	h, err := password.New(password.Config{}) // defaults are the same OWASP params
	if err != nil {
		b.Fatal(err)
	}
	if p := h.Params(); p.Memory != params.Memory || p.Iterations != params.Iterations ||
		p.Parallelism != params.Parallelism || p.SaltLength != params.SaltLength || p.KeyLength != params.KeyLength {
		b.Fatalf("params differ: %+v vs %+v", p, *params)
	}
	ctx := context.Background()
	// Warm up: the first large argon2id hash in a process is markedly slower.
	for range 3 {
		if ok, _ := argon2id.ComparePasswordAndHash(pw, enc); !ok {
			b.Fatal("warm-up: no match")
		}
		if ok, _, _ := h.Verify(ctx, pw, enc); !ok {
			b.Fatal("warm-up: no match")
		}
	}
	b.Run("impl=authkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ok, rehash, err := h.Verify(ctx, pw, enc)
			if !ok || rehash || err != nil {
				b.Fatal(ok, rehash, err)
			}
		}
	})
	b.Run("impl=argon2id", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ok, err := argon2id.ComparePasswordAndHash(pw, enc)
			if !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
