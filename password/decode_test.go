package password

import (
	"bytes"
	"errors"
	"testing"

	"github.com/alexedwards/argon2id"
)

// FuzzDecodeArgon2id checks that the bounded decoder never panics,
// that everything it accepts is within bounds, that alexedwards/argon2id
// reads any accepted string with exactly the same parameters, salt and key
// (so hashes stay interchangeable), and that Verify never panics, with a
// small memory ceiling to keep the fuzzer fast.
func FuzzDecodeArgon2id(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7",
		"$argon2id$v=19$m=19456,t=2,p=1,keyid=azE$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7",
		"$argon2id$v=19$m=64,t=0,p=0$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7",
		"$argon2id$v=19$m=64,t=1,p=1$$",
		"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7$",
		"$argon2id$v=19$m=+64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7",
		"$2a$04$abcdefghijklmnopqrstuuF5LaT5xlXYnW4z1Cik5OJdi7m0mHAvK",
		"",
		"$",
	} {
		f.Add(s)
	}
	h, err := New(Config{Params: tiny, InsecureAllowWeakParams: true, MaxMemoryKiB: 1024, MaxBcryptCost: 4})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := decodeArgon2id(s, h.maxMemKiB)
		if err != nil {
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("error %v does not wrap ErrInvalidHash", err)
			}
		} else {
			p := d.params
			if p.Iterations < 1 || p.Iterations > MaxIterations || p.Parallelism < 1 || p.Parallelism > MaxParallelism ||
				p.Memory < 8*uint32(p.Parallelism) || p.Memory > h.maxMemKiB ||
				p.SaltLength < MinSaltLength || p.SaltLength > MaxSaltLength ||
				p.KeyLength < MinKeyLength || p.KeyLength > MaxKeyLength {
				t.Fatalf("accepted out-of-bounds params %+v from %q", p, s)
			}
			ap, salt, key, err := argon2id.DecodeHash(s)
			if err != nil {
				t.Fatalf("we accept %q, alexedwards/argon2id rejects it: %v", s, err)
			}
			if ap.Memory != p.Memory || ap.Iterations != p.Iterations || ap.Parallelism != p.Parallelism ||
				uint32(len(salt)) != p.SaltLength || uint32(len(key)) != p.KeyLength {
				t.Fatalf("parser differential on %q: ours %+v, argon2id %+v", s, p, *ap)
			}
			if got := d.salt(); !bytes.Equal(got, salt) {
				t.Fatalf("salt of %q decodes to %x, want %x", s, got, salt)
			}
			if got := d.key(); !bytes.Equal(got, key) {
				t.Fatalf("key of %q decodes to %x, want %x", s, got, key)
			}
		}
		// Verify must never panic, whatever the input.
		ok, rehash, verr := h.Verify(t.Context(), "password", s)
		if verr != nil && (ok || rehash) {
			t.Fatalf("Verify(%q) = %v, %v, %v", s, ok, rehash, verr)
		}
	})
}
