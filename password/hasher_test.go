package password

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/bcrypt"
)

// tiny are cheap argon2id parameters for tests that are not about defaults.
var tiny = Params{Memory: 64, Iterations: 1, Parallelism: 1}

func newTiny(t testing.TB, cfg Config) *Hasher {
	t.Helper()
	if cfg.Params == (Params{}) {
		cfg.Params = tiny
	}
	cfg.InsecureAllowWeakParams = true
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewDefaults(t *testing.T) {
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	if got := h.Params(); got != want {
		t.Errorf("Params() = %+v, want OWASP %+v", got, want)
	}
	if got, want := cap(h.sem), 2*runtime.GOMAXPROCS(0); got != want {
		t.Errorf("MaxConcurrent default = %d, want %d", got, want)
	}
	if h.maxMemKiB != 256*1024 {
		t.Errorf("MaxMemoryKiB default = %d, want 262144", h.maxMemKiB)
	}
	if h.maxBcryptCost != 14 {
		t.Errorf("MaxBcryptCost default = %d, want 14", h.maxBcryptCost)
	}
	// The OWASP equivalents are accepted without the insecure flag.
	for _, p := range []Params{{Memory: 47104, Iterations: 1}, {Memory: 12288, Iterations: 3}, {Memory: 9216, Iterations: 4}, {Memory: 7168, Iterations: 5}} {
		if _, err := New(Config{Params: p}); err != nil {
			t.Errorf("New(%+v): %v", p, err)
		}
	}
}

func TestNewInvalidConfig(t *testing.T) {
	key := make([]byte, 32)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"below_owasp_floor", Config{Params: Params{Memory: 19456, Iterations: 1}}},
		{"tiny_without_insecure_flag", Config{Params: tiny}},
		{"t_above_16", Config{Params: Params{Iterations: 17}}},
		{"p_above_16", Config{Params: Params{Parallelism: 17}}},
		{"m_below_8p", Config{Params: Params{Memory: 15, Parallelism: 2}, InsecureAllowWeakParams: true}},
		{"salt_short", Config{Params: Params{SaltLength: 8}}},
		{"salt_long", Config{Params: Params{SaltLength: 65}}},
		{"key_short", Config{Params: Params{KeyLength: 8}}},
		{"key_long", Config{Params: Params{KeyLength: 65}}},
		{"m_above_ceiling", Config{Params: Params{Memory: 65536}, MaxMemoryKiB: 32768}},
		{"bcrypt_cost_high", Config{MaxBcryptCost: 32}},
		{"bcrypt_cost_low", Config{MaxBcryptCost: 3}},
		{"negative_concurrency", Config{MaxConcurrent: -1}},
		{"negative_max_wait", Config{MaxWait: -1}},
		{"imported_bcrypt_cost_low", Config{ImportedBcryptCost: 3}},
		{"imported_bcrypt_cost_above_max", Config{ImportedBcryptCost: 12, MaxBcryptCost: 11}},
		{"pepper_short_key", Config{Peppers: []Pepper{{ID: "k1", Key: make([]byte, 31)}}}},
		{"pepper_empty_id", Config{Peppers: []Pepper{{ID: "", Key: key}}}},
		{"pepper_long_id", Config{Peppers: []Pepper{{ID: "123456789", Key: key}}}},
		{"pepper_bad_id", Config{Peppers: []Pepper{{ID: "a$b", Key: key}}}},
		{"pepper_dup_id", Config{Peppers: []Pepper{{ID: "k1", Key: key}, {ID: "k1", Key: key}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.cfg)
			if err == nil {
				t.Fatalf("New accepted %+v (params %+v)", tt.cfg, h.Params())
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "password: ") {
				t.Fatalf("New(%+v): %q does not wrap ErrInvalidConfig", tt.cfg, err)
			}
		})
	}
}

func TestHashFormat(t *testing.T) {
	h := newTiny(t, Config{})
	enc, err := h.Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q: unexpected prefix", enc)
	}
	d, err := decodeArgon2id(enc, h.maxMemKiB)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}); d.params != want || d.keyID != "" {
		t.Fatalf("decoded %+v keyid %q, want %+v", d.params, d.keyID, want)
	}
	enc2, err := h.Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if enc == enc2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

// TestVerify covers the matching rules, including ASVS 6.2.8: the password
// is verified exactly as received, with no truncation or case change.
func TestVerify(t *testing.T) {
	h := newTiny(t, Config{})
	const pw = "Tr0ub4dour&3-long-enough"
	enc, err := h.Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pw   string
		ok   bool
	}{
		{"exact", pw, true},
		{"ASVS_6_2_8_lower_case", strings.ToLower(pw), false},
		{"ASVS_6_2_8_upper_case", strings.ToUpper(pw), false},
		{"ASVS_6_2_8_truncated", pw[:len(pw)-1], false},
		{"extended", pw + "x", false},
		{"empty", "", false},
		{"trailing_space", pw + " ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), tt.pw, enc)
			if err != nil || ok != tt.ok || rehash {
				t.Fatalf("Verify = %v, %v, %v; want %v, false, nil", ok, rehash, err, tt.ok)
			}
		})
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	ctx := t.Context()
	old := newTiny(t, Config{})
	enc, err := old.Hash(ctx, "pw-for-rehash")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params Params
		rehash bool
	}{
		{"same", tiny, false},
		{"memory", Params{Memory: 128, Iterations: 1, Parallelism: 1}, true},
		{"iterations", Params{Memory: 64, Iterations: 2, Parallelism: 1}, true},
		{"parallelism", Params{Memory: 64, Iterations: 1, Parallelism: 2}, true},
		{"salt_length", Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 32}, true},
		{"key_length", Params{Memory: 64, Iterations: 1, Parallelism: 1, KeyLength: 16}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTiny(t, Config{Params: tt.params})
			ok, rehash, err := h.Verify(ctx, "pw-for-rehash", enc)
			if err != nil || !ok || rehash != tt.rehash {
				t.Fatalf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.rehash)
			}
			// A wrong password never asks for a rehash.
			ok, rehash, err = h.Verify(ctx, "wrong", enc)
			if err != nil || ok || rehash {
				t.Fatalf("wrong password: Verify = %v, %v, %v", ok, rehash, err)
			}
		})
	}
}

// TestVerifyImported checks hashes made elsewhere with other sane
// parameters (such as m=32768 from the argon2 CLI) verify and are
// rehashed, and that plain hashes interoperate with alexedwards/argon2id.
func TestVerifyImported(t *testing.T) {
	ctx := t.Context()
	h := newTiny(t, Config{})
	imported, err := argon2id.CreateHash("imported-pw", &argon2id.Params{Memory: 32768, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := h.Verify(ctx, "imported-pw", imported)
	if err != nil || !ok || !rehash {
		t.Fatalf("imported m=32768: Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	ours, err := h.Hash(ctx, "ours-pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := argon2id.ComparePasswordAndHash("ours-pw", ours); err != nil || !ok {
		t.Fatalf("alexedwards/argon2id rejects our hash: %v, %v", ok, err)
	}
}

// TestVerifyInvalidHash : hostile stored hashes fail with
// ErrInvalidHash before any argon2 computation, never with a panic or a
// huge allocation.
func TestVerifyInvalidHash(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	mk := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	tests := []struct {
		name, hash string
	}{
		{"m_max_uint32", mk("m=4294967295,t=1,p=1")},
		{"m_overflow", mk("m=99999999999,t=1,p=1")},
		{"m_above_ceiling", mk("m=262145,t=1,p=1")},
		{"m_zero", mk("m=0,t=1,p=1")},
		{"m_below_8p", mk("m=15,t=1,p=2")},
		{"t_zero", mk("m=64,t=0,p=1")},
		{"p_zero", mk("m=64,t=1,p=0")},
		{"t_17", mk("m=64,t=17,p=1")},
		{"p_17", mk("m=256,t=1,p=17")},
		{"p_256", mk("m=4096,t=1,p=256")},
		{"t_huge", mk("m=64,t=4294967295,p=1")},
		{"negative", mk("m=64,t=-1,p=1")},
		{"plus_sign", mk("m=+64,t=1,p=1")},
		{"leading_zero", mk("m=064,t=1,p=1")},
		{"underscore", mk("m=6_4,t=1,p=1")},
		{"order", mk("t=1,m=64,p=1")},
		{"missing_p", mk("m=64,t=1")},
		{"unknown_param", mk("m=64,t=1,p=1,x=1")},
		{"trailing_comma", mk("m=64,t=1,p=1,")},
		{"empty_keyid", mk("m=64,t=1,p=1,keyid=")},
		{"long_keyid", mk("m=64,t=1,p=1,keyid=MTIzNDU2Nzg5")},
		{"salt_short", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key},
		{"salt_empty", "$argon2id$v=19$m=64,t=1,p=1$$" + key},
		{"salt_long", "$argon2id$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString(make([]byte, 65)) + "$" + key},
		{"salt_bad_base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!!!!!!!!!!!!!!!!!!!$" + key},
		{"salt_padded", "$argon2id$v=19$m=64,t=1,p=1$" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")) + "$" + key},
		{"salt_noncanonical", "$argon2id$v=19$m=64,t=1,p=1$" + salt[:len(salt)-1] + "x$" + key},
		{"key_short", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 15))},
		{"key_long", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 65))},
		{"key_missing", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"extra_field", mk("m=64,t=1,p=1") + "$x"},
		{"version_16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"no_version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"empty", ""},
		{"garbage", "not a hash"},
		{"md5crypt", "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0"},
		{"bcrypt_short", "$2a$10$abc"},
		{"bcrypt_2x", "$2x$04$" + strings.Repeat("a", 53)},
		{"bcrypt_cost_15", mustBcrypt(t, "x", 4, "$2a$15$")},
		{"bcrypt_cost_31", mustBcrypt(t, "x", 4, "$2a$31$")},
		{"wrapped_short", wrappedPrefix + "04$abc"},
		{"wrapped_cost_15", wrappedPrefix + "15$" + strings.Repeat("a", 22) + mk("m=64,t=1,p=1")},
		{"wrapped_cost_03", wrappedPrefix + "03$" + strings.Repeat("a", 22) + mk("m=64,t=1,p=1")},
		{"wrapped_cost_sign", wrappedPrefix + "+4$" + strings.Repeat("a", 22) + mk("m=64,t=1,p=1")},
		{"wrapped_bad_salt", wrappedPrefix + "04$" + strings.Repeat("!", 22) + mk("m=64,t=1,p=1")},
		{"wrapped_m_above_ceiling", wrappedPrefix + "04$" + strings.Repeat("a", 22) + mk("m=262145,t=1,p=1")},
		{"wrapped_t_zero", wrappedPrefix + "04$" + strings.Repeat("a", 22) + mk("m=64,t=0,p=1")},
		{"wrapped_no_inner", wrappedPrefix + "04$" + strings.Repeat("a", 22)},
		{"wrapped_bcrypt_inner", wrappedPrefix + "04$" + strings.Repeat("a", 22) + mustBcrypt(t, "x", 4, "$2a$04$")},
	}
	h := newTiny(t, Config{})
	var c probe
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.verify(t.Context(), &c, "password", tt.hash)
			if !errors.Is(err, ErrInvalidHash) || ok || rehash {
				t.Fatalf("Verify(%q) = %v, %v, %v; want ErrInvalidHash", tt.hash, ok, rehash, err)
			}
			if n := len(c.take()); n != 0 {
				t.Fatalf("%d hash computations ran for an invalid hash", n)
			}
		})
	}
}

// mustBcrypt returns a bcrypt hash of pw at cost, with its "$2a$NN$"
// prefix replaced by prefix.
func mustBcrypt(t testing.TB, pw string, cost int, prefix string) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(b[7:])
}

// TestBcrypt covers the 72-byte truncation and the bcrypt migration rules.
func TestBcrypt(t *testing.T) {
	ctx := t.Context()
	h := newTiny(t, Config{})
	p72 := strings.Repeat("0123456789ab", 6) // exactly 72 bytes
	if len(p72) != 72 {
		t.Fatal("bad fixture")
	}
	b, err := bcrypt.GenerateFromPassword([]byte(p72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hash2a := string(b)
	// The dependency really does truncate: this is what the wrapper guards.
	if err := bcrypt.CompareHashAndPassword(b, []byte(p72+"EXTRA")); err != nil {
		t.Fatalf("x/crypto/bcrypt no longer truncates (%v); revisit the 72-byte handling", err)
	}
	tests := []struct {
		name       string
		pw, hash   string
		ok, rehash bool
	}{
		{"2a_match_needs_rehash", p72, hash2a, true, true},
		{"2b_match", p72, "$2b$" + hash2a[4:], true, true},
		{"2y_match", p72, "$2y$" + hash2a[4:], true, true},
		{"72_plus_extra", p72 + "EXTRA", hash2a, false, false},
		{"73_bytes", p72 + "!", hash2a, false, false},
		{"wrong", "0123456789ab", hash2a, false, false},
		{"truncated", p72[:71], hash2a, false, false},
	}
	var c probe
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.verify(ctx, &c, tt.pw, tt.hash)
			if err != nil || ok != tt.ok || rehash != tt.rehash {
				t.Fatalf("Verify = %v, %v, %v; want %v, %v, nil", ok, rehash, err, tt.ok, tt.rehash)
			}
			// Every path, including the >72-byte one, does the same work:
			// the bcrypt and the argon2id that every other path computes.
			want := []hashEvent{{bcrypt: true, cost: bcrypt.MinCost}, {params: h.Params()}}
			if ev := c.take(); !slices.Equal(ev, want) {
				t.Fatalf("hash computations = %+v, want %+v", ev, want)
			}
		})
	}
	// A bcrypt cost above MaxBcryptCost is refused before hashing.
	h5 := newTiny(t, Config{MaxBcryptCost: 4})
	b5, err := bcrypt.GenerateFromPassword([]byte("pw"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h5.Verify(ctx, "pw", string(b5)); !errors.Is(err, ErrInvalidHash) {
		t.Fatalf("cost 5 with MaxBcryptCost 4: err = %v, want ErrInvalidHash", err)
	}
}

// TestConcurrencyCap: however many goroutines hash at once, the
// number of computations in flight never exceeds MaxConcurrent.
func TestConcurrencyCap(t *testing.T) {
	const limit = 3
	h := newTiny(t, Config{MaxConcurrent: limit})
	var inflight, peak, total atomic.Int64
	var c probe
	c.end = func(hashEvent) { inflight.Add(-1) }
	c.start = func(hashEvent) {
		total.Add(1)
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		runtime.Gosched() // widen the window for others to pile in
	}
	enc, err := h.Hash(t.Context(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 64, 4
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			for j := range each {
				if (i+j)%2 == 0 {
					if _, _, err := h.verify(t.Context(), &c, "pw", enc); err != nil {
						t.Error(err)
					}
				} else if err := h.verifyDummy(t.Context(), &c, "pw"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := total.Load(); got != goroutines*each {
		t.Fatalf("total computations = %d, want %d", got, goroutines*each)
	}
	if p := peak.Load(); p > limit || p < 1 {
		t.Fatalf("peak in flight = %d, cap %d", p, limit)
	}
	t.Logf("peak in flight %d (cap %d); hashing memory bound = cap × m = %d KiB", peak.Load(), limit, limit*tiny.Memory)
}

// TestBusy is the waiting side of the hashing cap: with every slot held, a caller waits,
// gets ErrBusy (wrapping the context's error) when its context ends, and
// never starts a computation.
func TestBusy(t *testing.T) {
	const limit = 2
	h := newTiny(t, Config{MaxConcurrent: limit})
	enc, err := h.Hash(t.Context(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var openGate sync.Once
	t.Cleanup(func() { openGate.Do(func() { close(gate) }) })
	holding := make(chan struct{}, limit)
	var inflight, over atomic.Int64
	var blocking probe
	blocking.end = func(hashEvent) { inflight.Add(-1) }
	blocking.start = func(hashEvent) {
		if inflight.Add(1) > limit {
			over.Add(1)
			return // beyond the cap: do not block, let the test see it
		}
		holding <- struct{}{}
		<-gate
	}
	var wg sync.WaitGroup
	for range limit {
		wg.Go(func() {
			if _, _, err := h.verify(context.Background(), &blocking, "pw", enc); err != nil {
				t.Error(err)
			}
		})
	}
	for range limit {
		<-holding
	}
	// All slots are held. The next caller must wait; end its context.
	base, cancel := context.WithCancel(context.Background())
	waiting := make(chan struct{}, 2)
	ctx := doneProbe{base, waiting}
	done := make(chan error, 1)
	go func() {
		_, _, err := h.verify(ctx, &blocking, "pw", enc)
		done <- err
	}()
	hashDone := make(chan error, 1)
	go func() {
		_, err := h.hashInput(ctx, &blocking, []byte("pw"))
		hashDone <- err
	}()
	for range 2 { // both callers must reach the wait for a slot
		select {
		case <-waiting:
		case err := <-done:
			t.Fatalf("Verify did not wait for a slot (err %v)", err)
		case err := <-hashDone:
			t.Fatalf("Hash did not wait for a slot (err %v)", err)
		}
	}
	cancel()
	for _, ch := range []chan error{done, hashDone} {
		err := <-ch
		if !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want ErrBusy wrapping context.Canceled", err)
		}
	}
	if n := over.Load(); n != 0 {
		t.Errorf("%d computations started beyond the cap", n)
	}
	openGate.Do(func() { close(gate) })
	wg.Wait()

	// A context that has already ended starts nothing and is not "busy".
	var c probe
	ended, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, _, err = h.verify(ended, &c, "pw", enc)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
		t.Errorf("cancelled ctx: err = %v", err)
	}
	if err := h.verifyDummy(ended, &c, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("VerifyDummy, cancelled ctx: err = %v", err)
	}
	if n := len(c.take()); n != 0 {
		t.Errorf("%d computations ran for a cancelled context", n)
	}
}

// TestBusyAfterMaxWait: with every slot held by a computation that never
// ends, a caller whose own context has no deadline gives up after MaxWait
// with ErrBusy and starts nothing; a caller whose slot frees within MaxWait
// proceeds.
func TestBusyAfterMaxWait(t *testing.T) {
	const limit = 1
	h := newTiny(t, Config{MaxConcurrent: limit, MaxWait: time.Millisecond})
	enc, err := h.Hash(t.Context(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var openGate sync.Once
	t.Cleanup(func() { openGate.Do(func() { close(gate) }) })
	holding := make(chan struct{})
	var blocking probe
	blocking.start = func(hashEvent) {
		holding <- struct{}{}
		<-gate
	}
	held := make(chan error, 1)
	go func() {
		_, _, err := h.verify(context.Background(), &blocking, "pw", enc)
		held <- err
	}()
	<-holding
	var c probe
	_, _, err = h.verify(context.Background(), &c, "pw", enc)
	if !errors.Is(err, ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with all slots held: err = %v, want ErrBusy from MaxWait", err)
	}
	if err := h.verifyDummy(context.Background(), &c, "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("VerifyDummy with all slots held: err = %v, want ErrBusy", err)
	}
	if _, err := h.hashInput(context.Background(), &c, []byte("pw")); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with all slots held: err = %v, want ErrBusy", err)
	}
	if ev := c.take(); len(ev) != 0 {
		t.Fatalf("computations started without a slot: %+v", ev)
	}
	openGate.Do(func() { close(gate) })
	if err := <-held; err != nil {
		t.Fatal(err)
	}

	// A slot that frees while the caller waits is taken.
	patient := newTiny(t, Config{MaxConcurrent: limit, MaxWait: time.Hour})
	gate2 := make(chan struct{})
	var b2 probe
	b2.start = func(hashEvent) {
		holding <- struct{}{}
		<-gate2
	}
	go func() {
		_, _, err := patient.verify(context.Background(), &b2, "pw", enc)
		held <- err
	}()
	<-holding
	waiting := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		_, _, err := patient.verify(doneProbe{context.Background(), waiting}, &c, "pw", enc)
		done <- err
	}()
	<-waiting // blocked on the full semaphore
	close(gate2)
	if err := <-done; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

// doneProbe signals on waiting each time Done is called: acquire calls
// Done only when it is about to block for a slot.
type doneProbe struct {
	context.Context
	waiting chan struct{}
}

func (c doneProbe) Done() <-chan struct{} {
	c.waiting <- struct{}{}
	return c.Context.Done()
}

// TestEqualWork: the unknown-user path (VerifyDummy) and the
// wrong-password path each run exactly one argon2id computation at the
// current parameters, with and without a pepper. Timing itself is measured
// in BenchmarkLoginFailurePaths, never asserted here.
func TestEqualWork(t *testing.T) {
	for _, peppers := range [][]Pepper{nil, {{ID: "k1", Key: make([]byte, 32)}}} {
		t.Run(fmt.Sprintf("peppers_%d", len(peppers)), func(t *testing.T) {
			h := newTiny(t, Config{Params: Params{Memory: 128, Iterations: 2, Parallelism: 1}, Peppers: peppers})
			enc, err := h.Hash(t.Context(), "right")
			if err != nil {
				t.Fatal(err)
			}
			var c probe
			if err := h.verifyDummy(t.Context(), &c, "guess"); err != nil {
				t.Fatal(err)
			}
			dummy := c.take()
			ok, _, err := h.verify(t.Context(), &c, "guess", enc)
			if err != nil || ok {
				t.Fatalf("wrong password: %v, %v", ok, err)
			}
			wrong := c.take()
			for name, ev := range map[string][]hashEvent{"unknown_user": dummy, "wrong_password": wrong} {
				if len(ev) != 1 || ev[0].bcrypt || ev[0].params != h.Params() {
					t.Errorf("%s: computations %+v, want exactly one argon2id at %+v", name, ev, h.Params())
				}
			}
			// The dummy carries the current pepper id, so it also pays for the HMAC.
			d, err := decodeArgon2id(h.dummy, h.maxMemKiB)
			if err != nil || d.keyID != h.curKeyID {
				t.Errorf("dummy %q: keyid %q err %v, want keyid %q", h.dummy, d.keyID, err, h.curKeyID)
			}
		})
	}
}

func TestPepper(t *testing.T) {
	ctx := t.Context()
	k1 := Pepper{ID: "2025-01", Key: []byte(strings.Repeat("1", 32))}
	k2 := Pepper{ID: "2026-01", Key: []byte(strings.Repeat("2", 32))}
	h1 := newTiny(t, Config{Peppers: []Pepper{k1}})
	enc, err := h1.Hash(ctx, "peppered-pw")
	if err != nil {
		t.Fatal(err)
	}
	wantID := ",keyid=" + base64.RawStdEncoding.EncodeToString([]byte(k1.ID)) + "$"
	if !strings.Contains(enc, wantID) {
		t.Fatalf("hash %q does not record %q", enc, wantID)
	}
	if ok, rehash, err := h1.Verify(ctx, "peppered-pw", enc); err != nil || !ok || rehash {
		t.Fatalf("same pepper: %v, %v, %v", ok, rehash, err)
	}
	// The pepper is really applied: the hash does not match the raw password.
	if ok, _ := argon2id.ComparePasswordAndHash("peppered-pw", enc); ok {
		t.Fatal("peppered hash matches the unpeppered password")
	}
	// Rotation: k2 current, k1 still known -> verifies, needs rehash.
	h21 := newTiny(t, Config{Peppers: []Pepper{k2, k1}})
	if ok, rehash, err := h21.Verify(ctx, "peppered-pw", enc); err != nil || !ok || !rehash {
		t.Fatalf("rotated: %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	enc2, err := h21.Hash(ctx, "peppered-pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h21.Verify(ctx, "peppered-pw", enc2); err != nil || !ok || rehash {
		t.Fatalf("rehashed: %v, %v, %v", ok, rehash, err)
	}
	// k1 retired: old hashes fail loudly.
	h2 := newTiny(t, Config{Peppers: []Pepper{k2}})
	if _, _, err := h2.Verify(ctx, "peppered-pw", enc); !errors.Is(err, ErrUnknownPepper) {
		t.Fatalf("retired pepper: err = %v, want ErrUnknownPepper", err)
	}
	// Same id, different secret: no match.
	hx := newTiny(t, Config{Peppers: []Pepper{{ID: k1.ID, Key: []byte(strings.Repeat("x", 32))}}})
	if ok, _, err := hx.Verify(ctx, "peppered-pw", enc); err != nil || ok {
		t.Fatalf("wrong pepper secret: %v, %v", ok, err)
	}
	// Unpeppered hashes keep working under a pepper and get rehashed.
	plain, err := newTiny(t, Config{}).Hash(ctx, "plain-pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h1.Verify(ctx, "plain-pw", plain); err != nil || !ok || !rehash {
		t.Fatalf("unpeppered under pepper: %v, %v, %v", ok, rehash, err)
	}
	// A peppered hash without any pepper configured fails loudly.
	if _, _, err := newTiny(t, Config{}).Verify(ctx, "peppered-pw", enc); !errors.Is(err, ErrUnknownPepper) {
		t.Fatalf("no peppers: err = %v", err)
	}
}

// TestNormalizeNFKC documents that hashing uses the password exactly as
// received by default, and NFKC consistently in Hash and Verify when
// NormalizeNFKC is set.
func TestNormalizeNFKC(t *testing.T) {
	ctx := t.Context()
	const nfc = "caf\u00e9-password"       // é precomposed
	const nfd = "cafe\u0301-password"      // e + combining acute
	const full = "\uff43af\u00e9-password" // fullwidth c
	tests := []struct {
		name        string
		normalize   bool
		hashed, try string
		ok          bool
	}{
		{"default_nfc_vs_nfd", false, nfc, nfd, false},
		{"default_exact", false, nfd, nfd, true},
		{"nfkc_nfc_vs_nfd", true, nfc, nfd, true},
		{"nfkc_nfd_vs_nfc", true, nfd, nfc, true},
		{"nfkc_fullwidth", true, full, nfc, true},
		{"nfkc_ASVS_6_2_8_case_kept", true, nfc, strings.ToUpper(nfc), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTiny(t, Config{NormalizeNFKC: tt.normalize})
			enc, err := h.Hash(ctx, tt.hashed)
			if err != nil {
				t.Fatal(err)
			}
			ok, _, err := h.Verify(ctx, tt.try, enc)
			if err != nil || ok != tt.ok {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, tt.ok)
			}
		})
	}
}

// TestArgon2idVectors runs the argon2id test vectors through Verify.
func TestArgon2idVectors(t *testing.T) {
	f, err := os.Open("testdata/argon2id_v6.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newTiny(t, Config{})
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 8 {
			t.Fatalf("bad vector line %q", line)
		}
		n++
		t.Run("vector_"+fs[0], func(t *testing.T) {
			pw, salt := fs[1], fs[2]
			tt, _ := strconv.Atoi(fs[3])
			m, _ := strconv.Atoi(fs[4])
			p, _ := strconv.Atoi(fs[5])
			tag, err := hex.DecodeString(fs[7])
			if err != nil {
				t.Fatal(err)
			}
			enc := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tt, p,
				base64.RawStdEncoding.EncodeToString([]byte(salt)), base64.RawStdEncoding.EncodeToString(tag))
			ok, rehash, err := h.Verify(t.Context(), pw, enc)
			// 8-byte salt and 24-byte key differ from the current params.
			if err != nil || !ok || !rehash {
				t.Fatalf("Verify(vector) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			tag[0] ^= 1
			bad := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tt, p,
				base64.RawStdEncoding.EncodeToString([]byte(salt)), base64.RawStdEncoding.EncodeToString(tag))
			if ok, _, err := h.Verify(t.Context(), pw, bad); err != nil || ok {
				t.Fatalf("Verify(flipped tag) = %v, %v", ok, err)
			}
			if ok, _, err := h.Verify(t.Context(), pw+"x", enc); err != nil || ok {
				t.Fatalf("Verify(wrong password) = %v, %v", ok, err)
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d vectors read, want 2", n)
	}
}

// TestVerifyAllocs guards docs/PERF.md's "allocations equal or fewer" than a
// direct alexedwards/argon2id comparison (the timed comparison is
// bench/password_test.go).
func TestVerifyAllocs(t *testing.T) {
	h := newTiny(t, Config{})
	enc, err := h.Hash(t.Context(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ours := testing.AllocsPerRun(50, func() {
		if ok, _, err := h.Verify(ctx, "pw", enc); !ok || err != nil {
			t.Fatal(ok, err)
		}
	})
	direct := testing.AllocsPerRun(50, func() {
		if ok, err := argon2id.ComparePasswordAndHash("pw", enc); !ok || err != nil {
			t.Fatal(ok, err)
		}
	})
	if ours > direct {
		t.Fatalf("Verify allocates %v times per call, argon2id.ComparePasswordAndHash %v", ours, direct)
	}
	t.Logf("allocs/op: Verify %v, argon2id direct %v", ours, direct)
}
