package password

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestBcryptRawMatchesXCrypto checks bcryptRaw against hashes made by
// golang.org/x/crypto/bcrypt, including the 72-byte boundary.
func TestBcryptRawMatchesXCrypto(t *testing.T) {
	for _, pw := range []string{"", "a", "correct horse", strings.Repeat("x", 71), strings.Repeat("y", 72)} {
		legacy, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		checkBcryptRaw(t, pw, string(legacy))
	}
}

func checkBcryptRaw(t *testing.T, pw, legacy string) {
	t.Helper()
	salt, err := bcryptEncoding.DecodeString(legacy[7:29])
	if err != nil {
		t.Fatal(err)
	}
	got := bcryptEncoding.EncodeToString(bcryptRaw([]byte(pw), bcrypt.MinCost, salt))
	if want := legacy[29:]; got != want {
		t.Fatalf("bcryptRaw(%q) = %s, x/crypto/bcrypt %s", pw, got, want)
	}
}

// FuzzBcryptRaw is the differential against x/crypto/bcrypt: for any
// password and salt, bcryptRaw gives the output that bcrypt encodes.
func FuzzBcryptRaw(f *testing.F) {
	f.Add("password", []byte("0123456789abcdef"))
	f.Add(strings.Repeat("z", 80), make([]byte, 16))
	f.Fuzz(func(t *testing.T, pw string, salt []byte) {
		if len(salt) != 16 {
			return
		}
		sum := bcryptRaw([]byte(pw), bcrypt.MinCost, salt)
		legacy := "$2a$04$" + bcryptEncoding.EncodeToString(salt) + bcryptEncoding.EncodeToString(sum)
		if err := bcrypt.CompareHashAndPassword([]byte(legacy), []byte(pw)); err != nil {
			t.Fatalf("x/crypto/bcrypt rejects %q for %q: %v", legacy, pw, err)
		}
	})
}

// TestWrapBcryptVerifiesAndUpgrades walks an imported account: the
// wrapped hash keeps no bcrypt output, verifies the password, reports
// needsRehash, and is replaced by plain argon2id.
func TestWrapBcryptVerifiesAndUpgrades(t *testing.T) {
	ctx := t.Context()
	p72 := strings.Repeat("0123456789ab", 6)
	for _, peppers := range [][]Pepper{nil, {{ID: "k1", Key: make([]byte, 32)}}} {
		t.Run(fmt.Sprintf("peppers_%d", len(peppers)), func(t *testing.T) {
			h := newTiny(t, Config{Peppers: peppers})
			for _, pw := range []string{"imported-pw", p72} {
				legacy := mustBcrypt(t, pw, bcrypt.MinCost, "$2y$04$")
				w, err := h.WrapBcrypt(ctx, legacy)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(w, wrappedPrefix+"04$"+legacy[7:29]+"$argon2id$v=19$m=64,t=1,p=1") {
					t.Fatalf("wrapped %q: unexpected form", w)
				}
				if strings.Contains(w, legacy[29:]) {
					t.Fatalf("wrapped %q keeps the bcrypt output %q", w, legacy[29:])
				}
				tests := []struct {
					name       string
					pw         string
					ok, rehash bool
				}{
					{"right", pw, true, true},
					{"wrong", pw + "!", false, false},
					{"truncated", pw[:len(pw)-1], false, false},
					{"over_72_bytes", p72 + "EXTRA", false, false},
				}
				for _, tt := range tests {
					ok, rehash, err := h.Verify(ctx, tt.pw, w)
					if err != nil || ok != tt.ok || rehash != tt.rehash {
						t.Fatalf("%s (len %d): Verify = %v, %v, %v; want %v, %v, nil", tt.name, len(pw), ok, rehash, err, tt.ok, tt.rehash)
					}
				}
				// The flow's upgrade at login: a plain argon2id hash, current.
				up, err := h.Hash(ctx, pw)
				if err != nil {
					t.Fatal(err)
				}
				if ok, rehash, err := h.Verify(ctx, pw, up); !ok || rehash || err != nil {
					t.Fatalf("upgraded: Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
				}
			}
		})
	}
	h := newTiny(t, Config{MaxBcryptCost: 4})
	for _, bad := range []string{"", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7",
		"$2a$04$abc", mustBcrypt(t, "x", 4, "$2a$05$"), mustBcrypt(t, "x", 4, "$2x$04$")} {
		if _, err := h.WrapBcrypt(ctx, bad); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("WrapBcrypt(%q) err = %v, want ErrInvalidHash", bad, err)
		}
	}
	// A wrapped hash whose pepper was retired fails loudly.
	hp := newTiny(t, Config{Peppers: []Pepper{{ID: "k1", Key: make([]byte, 32)}}})
	w, err := hp.WrapBcrypt(ctx, mustBcrypt(t, "pw", 4, "$2a$04$"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := newTiny(t, Config{}).Verify(ctx, "pw", w); !errors.Is(err, ErrUnknownPepper) {
		t.Fatalf("retired pepper: err = %v, want ErrUnknownPepper", err)
	}
}

// TestEveryLoginPathDoesEqualWork: a wrong password for a native account,
// an imported account (wrapped or plain bcrypt) and an unknown login
// (VerifyDummy) each run exactly one argon2id at the current parameters;
// with ImportedBcryptCost set, each also runs exactly one bcrypt at that
// cost, so none of them can be told apart by the work done. The times are
// compared in bench/password_test.go, never asserted here.
func TestEveryLoginPathDoesEqualWork(t *testing.T) {
	ctx := t.Context()
	cur := Params{Memory: 128, Iterations: 2, Parallelism: 1}
	for _, imported := range []int{0, bcrypt.MinCost} {
		t.Run(fmt.Sprintf("imported_cost_%d", imported), func(t *testing.T) {
			h := newTiny(t, Config{Params: cur, ImportedBcryptCost: imported})
			native, err := h.Hash(ctx, "right")
			if err != nil {
				t.Fatal(err)
			}
			legacy := mustBcrypt(t, "right", bcrypt.MinCost, "$2b$04$")
			wrappedHash, err := h.WrapBcrypt(ctx, legacy)
			if err != nil {
				t.Fatal(err)
			}
			paths := map[string]func(k kdf) error{
				"unknown_login": func(k kdf) error { return h.verifyDummy(ctx, k, "guess") },
				"native":        verifyWrong(h, native),
				"wrapped":       verifyWrong(h, wrappedHash),
				"plain_bcrypt":  verifyWrong(h, legacy),
			}
			for name, run := range paths {
				var c probe
				if err := run(&c); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				var argon, bc []hashEvent
				for _, e := range c.take() {
					if e.bcrypt {
						bc = append(bc, e)
					} else {
						argon = append(argon, e)
					}
				}
				if want := []hashEvent{{params: h.Params()}}; !slices.Equal(argon, want) {
					t.Errorf("%s: argon2id computations %+v, want exactly %+v", name, argon, want)
				}
				wantBcrypt := imported
				if name == "wrapped" || name == "plain_bcrypt" {
					wantBcrypt = bcrypt.MinCost
				}
				if wantBcrypt == 0 && len(bc) != 0 || wantBcrypt != 0 && !slices.Equal(bc, []hashEvent{{bcrypt: true, cost: wantBcrypt}}) {
					t.Errorf("%s: bcrypt computations %+v, want one at cost %d", name, bc, wantBcrypt)
				}
			}
		})
	}
}

func verifyWrong(h *Hasher, enc string) func(kdf) error {
	return func(k kdf) error {
		ok, _, err := h.verify(context.Background(), k, "guess", enc)
		if ok {
			return errors.New("wrong password matched")
		}
		return err
	}
}

// TestWrappedEqualsBcryptOutput pins the wrapped form's meaning: its
// argon2id input is bcrypt's raw output for the password.
func TestWrappedEqualsBcryptOutput(t *testing.T) {
	h := newTiny(t, Config{})
	legacy := mustBcrypt(t, "pw", 4, "$2a$04$")
	w, err := h.WrapBcrypt(t.Context(), legacy)
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.decodeWrapped(w)
	if err != nil {
		t.Fatal(err)
	}
	_, _, sum, err := h.bcryptParts(legacy)
	if err != nil {
		t.Fatal(err)
	}
	got := stdKDF{}.argon2id(sum, d.inner.salt(), d.inner.params)
	if !bytes.Equal(got, d.inner.key()) {
		t.Fatal("wrapped key is not argon2id over the bcrypt output")
	}
}

// TestBcryptBasedHashRefusesPasswordWithNUL: bcrypt hashes the password
// followed by a NUL, repeated to 72 bytes, so "pw" and "pw\x00pw", or a
// 71-byte P and P+"\x00", run the same key schedule. A password holding a
// NUL therefore never matches a bcrypt-based hash, plain or wrapped (C
// implementations could not have hashed one: they stop at the NUL).
func TestBcryptBasedHashRefusesPasswordWithNUL(t *testing.T) {
	ctx := t.Context()
	h := newTiny(t, Config{})
	p71 := strings.Repeat("x", 71)
	for _, tt := range []struct{ right, other string }{
		{"pw", "pw\x00pw"},
		{"pw", "pw\x00pw\x00pw"},
		{p71, p71 + "\x00"},
	} {
		legacy := mustBcrypt(t, tt.right, bcrypt.MinCost, "$2a$04$")
		// The dependency really does collide: this is what Verify guards.
		if err := bcrypt.CompareHashAndPassword([]byte(legacy), []byte(tt.other)); err != nil {
			t.Fatalf("x/crypto/bcrypt no longer collides %q with %q (%v); revisit the NUL handling", tt.other, tt.right, err)
		}
		w, err := h.WrapBcrypt(ctx, legacy)
		if err != nil {
			t.Fatal(err)
		}
		for name, enc := range map[string]string{"plain": legacy, "wrapped": w} {
			if ok, _, err := h.Verify(ctx, tt.right, enc); !ok || err != nil {
				t.Fatalf("%s: right password (len %d): Verify = %v, %v; want true, nil", name, len(tt.right), ok, err)
			}
			var c probe
			ok, rehash, err := h.verify(ctx, &c, tt.other, enc)
			if ok || rehash || err != nil {
				t.Fatalf("%s: %q verifies against the hash of %q: %v, %v, %v", name, tt.other, tt.right, ok, rehash, err)
			}
			if ev := c.take(); len(ev) != 2 {
				t.Fatalf("%s: NUL password ran %+v, want the same bcrypt and argon2id as any wrong password", name, ev)
			}
		}
	}
}

// FuzzDecodeWrapped: a hostile stored wrapped hash never panics the
// decoder, and whatever it accepts is within the bcrypt cost and argon2id
// bounds that keep a verification cheap.
func FuzzDecodeWrapped(f *testing.F) {
	inner := "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
	for _, s := range []string{
		wrappedPrefix + "04$" + strings.Repeat("a", 22) + inner,
		wrappedPrefix + "31$" + strings.Repeat("a", 22) + inner,
		wrappedPrefix + "04$" + strings.Repeat("a", 22),
		wrappedPrefix + "4$",
		wrappedPrefix,
		wrappedPrefix + "04$" + strings.Repeat("\x00", 22) + inner,
	} {
		f.Add(s)
	}
	h, err := New(Config{Params: tiny, InsecureAllowWeakParams: true, MaxBcryptCost: 6, MaxMemoryKiB: 1024})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := h.decodeWrapped(wrappedPrefix + s)
		if err != nil {
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("err = %v, want ErrInvalidHash", err)
			}
			return
		}
		p := w.inner.params
		if w.cost < bcrypt.MinCost || w.cost > 6 || len(w.salt) != 16 || p.Memory > 1024 ||
			p.Iterations < 1 || p.Iterations > MaxIterations || p.Parallelism < 1 || p.Parallelism > MaxParallelism {
			t.Fatalf("accepted out of bounds: cost %d, salt %d bytes, params %+v", w.cost, len(w.salt), p)
		}
	})
}

// FuzzWrappedVerifiesOnlyItsPassword: a wrapped hash of one password
// accepts another only when they are equal.
func FuzzWrappedVerifiesOnlyItsPassword(f *testing.F) {
	f.Add("pw", "pw\x00pw")
	f.Add(strings.Repeat("x", 71), strings.Repeat("x", 71)+"\x00")
	f.Add(strings.Repeat("y", 72), strings.Repeat("y", 72)+"EXTRA")
	f.Add("a", "a")
	h, err := New(Config{Params: tiny, InsecureAllowWeakParams: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, right, other string) {
		legacy, err := bcrypt.GenerateFromPassword([]byte(right), bcrypt.MinCost)
		if err != nil {
			return // over 72 bytes: nothing to import
		}
		w, err := h.WrapBcrypt(t.Context(), string(legacy))
		if err != nil {
			t.Fatal(err)
		}
		for _, enc := range []string{string(legacy), w} {
			ok, _, err := h.Verify(t.Context(), other, enc)
			if err != nil {
				t.Fatal(err)
			}
			if want := other == right && bcryptExact(right); ok != want {
				t.Fatalf("Verify(%q) against the hash of %q = %v, want %v", other, right, ok, want)
			}
		}
	})
}

// TestBusyWaitersNeverLeakSlots: callers that give up on a slot (MaxWait
// or their context) while others release theirs never keep or lose one:
// afterwards every slot is free and the cap still holds.
func TestBusyWaitersNeverLeakSlots(t *testing.T) {
	const limit = 2
	h := newTiny(t, Config{MaxConcurrent: limit, MaxWait: 50 * time.Microsecond})
	enc, err := h.Hash(t.Context(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	var inflight, peak atomic.Int64
	var c probe
	c.start = func(hashEvent) {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
	}
	c.end = func(hashEvent) { inflight.Add(-1) }
	var wg sync.WaitGroup
	var busy atomic.Int64
	for i := range 200 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*20*time.Microsecond)
			defer cancel()
			_, _, err := h.verify(ctx, &c, "pw", enc)
			switch {
			case errors.Is(err, ErrBusy) || errors.Is(err, context.DeadlineExceeded):
				busy.Add(1)
			case err != nil:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(h.sem); n != 0 {
		t.Fatalf("%d slots still taken after every caller returned (%d gave up)", n, busy.Load())
	}
	if p := peak.Load(); p > limit {
		t.Fatalf("%d computations at once, cap %d", p, limit)
	}
	for range limit + 1 { // every slot is usable again
		if _, _, err := h.Verify(t.Context(), "pw", enc); err != nil {
			t.Fatal(err)
		}
	}
}
