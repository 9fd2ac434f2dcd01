package bench

import (
	"context"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/authkit-go/authkit/password"
	"golang.org/x/crypto/bcrypt"
)

// BenchmarkPasswordVerify compares password.Hasher.Verify with a direct
// alexedwards/argon2id.ComparePasswordAndHash on the same hash, at the
// OWASP parameters (m=19456 KiB, t=2, p=1), in one run (docs/PERF.md target:
// within 2%, allocations equal or fewer). Run with -count 10 and compare
// the two sub-benchmarks with benchstat.
func BenchmarkPasswordVerify(b *testing.B) {
	const pw = "correct horse battery staple"
	params := &argon2id.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	enc, err := argon2id.CreateHash(pw, params)
	if err != nil {
		b.Fatal(err)
	}
	// Defaults are the same OWASP params; MaxConcurrent is set to its
	// documented default explicitly so the parallel case knows the cap.
	maxConc := 2 * runtime.GOMAXPROCS(0)
	h, err := password.New(password.Config{MaxConcurrent: maxConc})
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
	// impl=authkit-parallel: 4 goroutines per CPU verify at once, more than
	// the Hasher's cap. Reports throughput and the peak live heap (sampled
	// from the GC's live-heap metric, minus the baseline) against the bound
	// docs/PERF.md sets: MaxConcurrent × m.
	b.Run("impl=authkit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		runtime.GC()
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(sample)
		base := sample[0].Value.Uint64()
		var peak atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					metrics.Read(s)
					if v := s[0].Value.Uint64(); v > peak.Load() {
						peak.Store(v)
					}
				}
			}
		}()
		b.SetParallelism(4)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ok, _, err := h.Verify(ctx, pw, enc)
				if !ok || err != nil {
					b.Error(ok, err)
					return
				}
			}
		})
		elapsed := time.Since(start)
		close(stop)
		<-done
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "hashes/s")
		var p float64
		if v := peak.Load(); v > base {
			p = float64(v-base) / (1 << 20)
		}
		b.ReportMetric(p, "peak-live-MiB")
		b.ReportMetric(float64(maxConc)*float64(params.Memory)/1024, "capxm-MiB")
	})
}

// BenchmarkPasswordVerifyPaired alternates one authkit verify and one direct
// argon2id compare (swapping which goes first each iteration) and reports the
// ratio of their median times. On a shared machine whose speed drifts by more
// than docs/PERF.md's 2% budget within a run, pairing each authkit hash with an
// anchor hash measured a moment apart is what makes that budget checkable.
func BenchmarkPasswordVerifyPaired(b *testing.B) {
	const pw = "correct horse battery staple"
	params := &argon2id.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	enc, err := argon2id.CreateHash(pw, params)
	if err != nil {
		b.Fatal(err)
	}
	h, err := password.New(password.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ours := func() {
		if ok, _, err := h.Verify(ctx, pw, enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	theirs := func() {
		if ok, err := argon2id.ComparePasswordAndHash(pw, enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	for range 3 { // warm-up
		ours()
		theirs()
	}
	var ta, tb []time.Duration
	i := 0
	for b.Loop() {
		first, second, t1, t2 := ours, theirs, &ta, &tb
		if i%2 == 1 {
			first, second, t1, t2 = theirs, ours, &tb, &ta
		}
		s := time.Now()
		first()
		m := time.Now()
		second()
		e := time.Now()
		*t1 = append(*t1, m.Sub(s))
		*t2 = append(*t2, e.Sub(m))
		i++
	}
	ma, mb := medianDuration(ta), medianDuration(tb)
	b.ReportMetric(float64(ma.Nanoseconds()), "authkit-ns/op")
	b.ReportMetric(float64(mb.Nanoseconds()), "argon2id-ns/op")
	b.ReportMetric(float64(ma)/float64(mb), "authkit/argon2id")
}

func medianDuration(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	c := slices.Clone(d)
	slices.Sort(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// BenchmarkPasswordLoginPaths times a wrong password on the three kinds of
// login at the default argon2id parameters: an unknown login
// (VerifyDummy), a native argon2id account and an imported bcrypt account
// (cost 10, wrapped by WrapBcrypt). Each iteration runs the three in a
// rotating order and the benchmark reports their medians and the ratio of
// the slowest to the fastest (target: at most 1.3).
//
// equalize=off is a Hasher without ImportedBcryptCost: the imported
// account also pays bcrypt, so it stands out by bcrypt's cost.
// equalize=on sets ImportedBcryptCost to 10: every path pays one bcrypt at
// cost 10 and one argon2id, which is what hiding imported accounts costs.
func BenchmarkPasswordLoginPaths(b *testing.B) {
	const importedCost = 10
	legacy, err := bcrypt.GenerateFromPassword([]byte("the right password"), importedCost)
	if err != nil {
		b.Fatal(err)
	}
	for _, eq := range []int{0, importedCost} {
		name := "equalize=off"
		if eq != 0 {
			name = "equalize=on"
		}
		b.Run(name, func(b *testing.B) {
			h, err := password.New(password.Config{ImportedBcryptCost: eq})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			native, err := h.Hash(ctx, "the right password")
			if err != nil {
				b.Fatal(err)
			}
			imported, err := h.WrapBcrypt(ctx, string(legacy))
			if err != nil {
				b.Fatal(err)
			}
			paths := []func(){
				func() {
					if err := h.VerifyDummy(ctx, "a wrong password"); err != nil {
						b.Fatal(err)
					}
				},
				func() {
					if ok, _, err := h.Verify(ctx, "a wrong password", native); ok || err != nil {
						b.Fatal(ok, err)
					}
				},
				func() {
					if ok, _, err := h.Verify(ctx, "a wrong password", imported); ok || err != nil {
						b.Fatal(ok, err)
					}
				},
			}
			for _, p := range paths { // warm-up
				p()
			}
			times := make([][]time.Duration, len(paths))
			i := 0
			for b.Loop() {
				for j := range paths {
					k := (i + j) % len(paths)
					s := time.Now()
					paths[k]()
					times[k] = append(times[k], time.Since(s))
				}
				i++
			}
			var lo, hi time.Duration
			for k, unit := range []string{"unknown-ns", "native-ns", "imported-ns"} {
				m := medianDuration(times[k])
				b.ReportMetric(float64(m.Nanoseconds()), unit)
				if lo == 0 || m < lo {
					lo = m
				}
				hi = max(hi, m)
			}
			b.ReportMetric(float64(hi)/float64(lo), "slowest/fastest")
		})
	}
}
