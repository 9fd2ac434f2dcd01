package mfa_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/mfa"
	"github.com/pquerna/otp"
)

func TestNewConfig(t *testing.T) {
	e := newEnv(t, nil)
	valid := func() mfa.Config {
		return mfa.Config{Issuer: "Acme", Store: e.store, Replay: e.replay, Throttle: e.counter, Box: e.box, BackupKey: key32(1)}
	}
	for _, c := range []struct {
		name string
		mod  func(*mfa.Config)
	}{
		{"no issuer", func(c *mfa.Config) { c.Issuer = "" }},
		{"colon in issuer", func(c *mfa.Config) { c.Issuer = "Ac:me" }},
		{"no store", func(c *mfa.Config) { c.Store = nil }},
		{"no replay store", func(c *mfa.Config) { c.Replay = nil }},
		{"no throttle", func(c *mfa.Config) { c.Throttle = nil }},
		{"no box", func(c *mfa.Config) { c.Box = nil }},
		{"short backup key", func(c *mfa.Config) { c.BackupKey = key32(1)[:31] }},
		{"T5_ASVS_6.5.4_4_digits", func(c *mfa.Config) { c.Digits = 4 }}, // <20 bits
		{"7 digits", func(c *mfa.Config) { c.Digits = 7 }},
		{"T5_short_secret", func(c *mfa.Config) { c.SecretSize = 16 }},
		{"bad algorithm", func(c *mfa.Config) { c.Algorithm = 9 }},
		{"too many backup codes", func(c *mfa.Config) { c.BackupCodes = 101 }},
		{"negative failures", func(c *mfa.Config) { c.MaxFailures = -1 }},
		{"pending TTL under a minute", func(c *mfa.Config) { c.PendingTTL = time.Second }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := valid()
			c.mod(&cfg)
			if _, err := mfa.New(cfg); !errors.Is(err, mfa.ErrInvalidConfig) {
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if _, err := mfa.New(valid()); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

func TestKeyURI(t *testing.T) {
	for _, c := range []struct {
		issuer, account string
		want            string
	}{
		{"Acme", "alice@example.com", "otpauth://totp/Acme:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme&algorithm=SHA1&digits=6&period=30"},
		{"Acme & Co", "a b+c/d?e#f%g", "otpauth://totp/Acme%20&%20Co:a%20b+c%2Fd%3Fe%23f%25g?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20%26%20Co&algorithm=SHA1&digits=6&period=30"},
		{"Ünï", "bob=1&x=2", "otpauth://totp/%C3%9Cn%C3%AF:bob=1&x=2?secret=JBSWY3DPEHPK3PXP&issuer=%C3%9Cn%C3%AF&algorithm=SHA1&digits=6&period=30"},
	} {
		got, err := mfa.KeyURI(c.issuer, c.account, "JBSWY3DPEHPK3PXP", mfa.SHA1, 6)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("KeyURI(%q, %q) =\n %s\nwant\n %s", c.issuer, c.account, got, c.want)
		}
		// An independent parser recovers both parts exactly.
		k, err := otp.NewKeyFromURL(got)
		if err != nil {
			t.Fatal(err)
		}
		if k.Issuer() != c.issuer || k.AccountName() != c.account || k.Secret() != "JBSWY3DPEHPK3PXP" {
			t.Errorf("parsed back issuer %q account %q secret %q", k.Issuer(), k.AccountName(), k.Secret())
		}
	}
	for _, bad := range [][2]string{{"a:b", "x"}, {"a", "x:y"}, {"", "x"}, {"a", ""}} {
		if _, err := mfa.KeyURI(bad[0], bad[1], "JBSWY3DPEHPK3PXP", mfa.SHA1, 6); err == nil {
			t.Errorf("KeyURI(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestEnroll(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		alg        mfa.Algorithm
		digits     int
		secretSize int
	}{{mfa.SHA1, 6, 20}, {mfa.SHA256, 8, 32}, {mfa.SHA512, 6, 64}} {
		t.Run(c.alg.String(), func(t *testing.T) {
			e := newEnv(t, func(cfg *mfa.Config) { cfg.Algorithm, cfg.Digits, cfg.QRSize = c.alg, c.digits, 0 })
			s, err := e.m.Enroll(ctx, "u1", "alice@example.com", mfa.Proof{})
			if err != nil {
				t.Fatal(err)
			}
			secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s.Secret)
			if err != nil || len(secret) != c.secretSize {
				t.Fatalf("secret %q is %d bytes (%v), want %d", s.Secret, len(secret), err, c.secretSize)
			}
			k, err := otp.NewKeyFromURL(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			if k.Issuer() != "Acme" || k.AccountName() != "alice@example.com" || k.Secret() != s.Secret ||
				k.Period() != 30 || int(k.Digits()) != c.digits || k.Algorithm().String() != c.alg.String() {
				t.Errorf("URL %s has wrong parameters", s.URL)
			}
			img, err := png.Decode(bytes.NewReader(s.QRPNG))
			if err != nil {
				t.Fatalf("QR PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
				t.Errorf("QR size %v", b)
			}
			// Pending only: not active until confirmed.
			if ok, err := e.m.Enrolled(ctx, "u1"); err != nil || ok {
				t.Errorf("Enrolled before Confirm = %v, %v", ok, err)
			}
			// The secret is sealed at rest.
			rec, _, _ := e.store.Get(ctx, "u1")
			if len(rec.Pending) == 0 || bytes.Contains(rec.Pending, secret) || bytes.Contains(rec.Pending, []byte(s.Secret)) {
				t.Errorf("stored record exposes the secret")
			}
			if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, e.clock.Now())); !errors.Is(err, mfa.ErrNotEnrolled) {
				t.Errorf("VerifyTOTP on a pending enrollment = %v, want ErrNotEnrolled", err)
			}
		})
	}
	t.Run("ASVS_6.5.3_unique_per_user", func(t *testing.T) { // CSPRNG by default
		e := newEnv(t, nil)
		seen := map[string]bool{}
		for _, u := range []string{"u1", "u2", "u3", "u1"} {
			s, err := e.m.Enroll(ctx, u, "x", mfa.Proof{})
			if err != nil {
				t.Fatal(err)
			}
			if seen[s.Secret] {
				t.Fatalf("secret repeated")
			}
			seen[s.Secret] = true
		}
	})
	t.Run("colon in account", func(t *testing.T) {
		e := newEnv(t, nil)
		if _, err := e.newEnrollErr("a:b"); err == nil {
			t.Fatal("account with ':' accepted")
		}
	})
}

func (e *env) newEnrollErr(account string) (*mfa.Setup, error) {
	return e.m.Enroll(context.Background(), "u1", account, mfa.Proof{})
}

// TestConfirm covers the confirm step, including that the code used to
// confirm an enrollment spends its time step.
func TestConfirm(t *testing.T) {
	ctx := context.Background()
	t.Run("no pending", func(t *testing.T) {
		e := newEnv(t, nil)
		if _, err := e.m.Confirm(ctx, "u1", "123456"); !errors.Is(err, mfa.ErrNoPendingEnrollment) {
			t.Fatalf("Confirm = %v", err)
		}
	})
	t.Run("wrong code keeps it pending", func(t *testing.T) {
		e := newEnv(t, nil)
		s, _ := e.m.Enroll(ctx, "u1", "a", mfa.Proof{})
		wrong := codeAt(t, s, e.clock.Now().Add(-5*mfa.Period))
		if _, err := e.m.Confirm(ctx, "u1", wrong); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("Confirm(wrong) = %v", err)
		}
		if ok, _ := e.m.Enrolled(ctx, "u1"); ok {
			t.Fatal("active after a wrong code")
		}
	})
	t.Run("confirm_code_spent", func(t *testing.T) {
		e := newEnv(t, nil)
		s, _ := e.m.Enroll(ctx, "u1", "a", mfa.Proof{})
		code := codeAt(t, s, e.clock.Now())
		codes, err := e.m.Confirm(ctx, "u1", code)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != 10 {
			t.Fatalf("%d backup codes, want 10", len(codes))
		}
		if ok, _ := e.m.Enrolled(ctx, "u1"); !ok {
			t.Fatal("not active after Confirm")
		}
		e.clock.Add(10 * time.Second) // same or next step, still within T±1
		if err := e.m.VerifyTOTP(ctx, "u1", code); !errors.Is(err, mfa.ErrReplayed) || !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("login with the confirm code = %v, want ErrReplayed", err)
		}
		e.clock.Add(mfa.Period)
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, e.clock.Now())); err != nil {
			t.Fatalf("next step's code: %v", err)
		}
	})
	t.Run("confirm_step_blocks_earlier", func(t *testing.T) {
		e := newEnv(t, nil)
		s, _ := e.m.Enroll(ctx, "u1", "a", mfa.Proof{})
		if _, err := e.m.Confirm(ctx, "u1", codeAt(t, s, e.clock.Now().Add(mfa.Period))); err != nil {
			t.Fatal(err) // T+1 accepted at confirm
		}
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, e.clock.Now())); !errors.Is(err, mfa.ErrReplayed) {
			t.Fatalf("step T after T+1 = %v, want ErrReplayed", err)
		}
	})
	t.Run("re-enroll keeps active key until confirmed", func(t *testing.T) {
		e := newEnv(t, nil)
		old, _ := e.enrolled(t, "u1")
		s2, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{Code: codeAt(t, old, e.clock.Now())})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s2, e.clock.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("unconfirmed key's code = %v, want ErrInvalidCode", err)
		}
		e.clock.Add(mfa.Period)
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, old, e.clock.Now())); err != nil {
			t.Fatalf("old key stopped working before confirm: %v", err)
		}
		e.clock.Add(mfa.Period)
		if _, err := e.m.Confirm(ctx, "u1", codeAt(t, s2, e.clock.Now())); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(mfa.Period)
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, old, e.clock.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("old key after re-enrollment = %v", err)
		}
	})
}

// TestVerifyTOTP covers replay, the ±1 step window, the period and
// steps beyond 32 bits.
func TestVerifyTOTP(t *testing.T) {
	ctx := context.Background()
	t.Run("same_code_twice", func(t *testing.T) {
		e := newEnv(t, nil)
		s, _ := e.enrolled(t, "u1")
		code := codeAt(t, s, e.clock.Now())
		if err := e.m.VerifyTOTP(ctx, "u1", code); err != nil {
			t.Fatal(err)
		}
		if err := e.m.VerifyTOTP(ctx, "u1", code); !errors.Is(err, mfa.ErrReplayed) {
			t.Fatalf("second use = %v, want ErrReplayed", err)
		}
		// Still refused when the server clock has moved on within T±1.
		e.clock.Add(mfa.Period)
		if err := e.m.VerifyTOTP(ctx, "u1", code); !errors.Is(err, mfa.ErrReplayed) {
			t.Fatalf("second use one step later = %v, want ErrReplayed", err)
		}
	})
	t.Run("earlier_step_after_later", func(t *testing.T) {
		e := newEnv(t, nil)
		s, _ := e.enrolled(t, "u1")
		now := e.clock.Now()
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, now)); err != nil {
			t.Fatal(err)
		}
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, now.Add(-mfa.Period))); !errors.Is(err, mfa.ErrReplayed) {
			t.Fatalf("T-1 after T = %v, want ErrReplayed", err)
		}
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, now.Add(mfa.Period))); err != nil {
			t.Fatalf("T+1 after T: %v", err)
		}
	})
	t.Run("window", func(t *testing.T) {
		for _, c := range []struct {
			steps int
			ok    bool
		}{{-3, false}, {-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}, {3, false}} {
			e := newEnv(t, nil)
			s, _ := e.enrolled(t, "u1")
			e.clock.Add(5 * mfa.Period)
			code := codeAt(t, s, e.clock.Now().Add(time.Duration(c.steps)*mfa.Period))
			err := e.m.VerifyTOTP(ctx, "u1", code)
			if c.ok && err != nil || !c.ok && !errors.Is(err, mfa.ErrInvalidCode) {
				t.Errorf("offset %+d steps: err = %v, want ok=%v", c.steps, err, c.ok)
			}
		}
	})
	t.Run("period_is_30s", func(t *testing.T) { // ASVS 6.5.5: lifetime ≤30 s
		e := newEnv(t, nil)
		s, _ := e.enrolled(t, "u1")
		// A step boundary: t=…:00 is the first second of step S, …:59 the last of S+1.
		base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		e.clock.Set(base.Add(59 * time.Second)) // step S+1; S, S+1, S+2 accepted
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, base)); err != nil {
			t.Fatalf("code of step S at S+1's last second: %v", err)
		}
		e.clock.Set(base.Add(60 * time.Second)) // step S+2: S is two steps back
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, base.Add(29*time.Second))); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("code of step S at S+2 = %v", err)
		}
	})
	t.Run("year_2603", func(t *testing.T) {
		e := newEnv(t, nil)
		e.clock.Set(time.Unix(20000000000, 0))
		s, _ := e.enrolled(t, "u1")
		if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, e.clock.Now())); err != nil {
			t.Fatalf("t=20000000000+30: %v", err)
		}
	})
	t.Run("ASVS_6.5.8_server_time_only", func(t *testing.T) {
		e := newEnv(t, nil)
		s, _ := e.enrolled(t, "u1")
		old := codeAt(t, s, e.clock.Now().Add(-10*time.Minute))
		if err := e.m.VerifyTOTP(ctx, "u1", old); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("code from 10 minutes ago = %v", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		e := newEnv(t, func(c *mfa.Config) { c.MaxFailures = 100 })
		s, _ := e.enrolled(t, "u1")
		good := codeAt(t, s, e.clock.Now())
		for _, in := range []string{"", "12345", good + "0", " " + good, good[:5] + "x", "１２３４５６"} {
			if err := e.m.VerifyTOTP(ctx, "u1", in); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Errorf("VerifyTOTP(%q) = %v", in, err)
			}
		}
		if m, err := e.m.Verify(ctx, "u1", " "+good+" "); err != nil || m != mfa.MethodTOTP {
			t.Errorf("Verify with spaces = %v, %v", m, err)
		}
	})
	t.Run("not enrolled", func(t *testing.T) {
		e := newEnv(t, nil)
		if err := e.m.VerifyTOTP(ctx, "nobody", "123456"); !errors.Is(err, mfa.ErrNotEnrolled) {
			t.Fatalf("= %v", err)
		}
	})
	t.Run("through_the_API", func(t *testing.T) {
		// RFC 6238 Appendix B via Enroll+Confirm: the cycling reader makes
		// the generated keys exactly the RFC seeds, one length per algorithm.
		rows := []struct {
			unix  int64
			codes [3]string
		}{
			{59, [3]string{"94287082", "46119246", "90693936"}},
			{1111111109, [3]string{"07081804", "68084774", "25091201"}},
			{1111111111, [3]string{"14050471", "67062674", "99943326"}},
			{1234567890, [3]string{"89005924", "91819424", "93441116"}},
			{2000000000, [3]string{"69279037", "90698825", "38618901"}},
			{20000000000, [3]string{"65353130", "77737706", "47863826"}},
		}
		for _, row := range rows {
			for ai, alg := range []mfa.Algorithm{mfa.SHA1, mfa.SHA256, mfa.SHA512} {
				e := newEnv(t, func(c *mfa.Config) {
					c.Algorithm, c.Digits, c.Rand = alg, 8, &cycleReader{pattern: []byte("1234567890")}
				})
				e.clock.Set(time.Unix(row.unix, 0))
				if _, err := e.m.Enroll(ctx, "u1", "a", mfa.Proof{}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.m.Confirm(ctx, "u1", row.codes[ai]); err != nil {
					t.Errorf("V2 %s t=%d code %s: %v", alg, row.unix, row.codes[ai], err)
				}
			}
		}
	})
}

// 50 goroutines submit one valid TOTP: exactly one succeeds.
func TestConcurrentCodeAcceptedOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *mfa.Config) { c.MaxFailures = 1000 }) // test the store CAS, not the throttle
	s, _ := e.enrolled(t, "u1")
	code := codeAt(t, s, e.clock.Now())
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() { <-start; errs[i] = e.m.VerifyTOTP(ctx, "u1", code) })
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, mfa.ErrReplayed):
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d goroutines succeeded, want exactly 1", wins, n)
	}
}

// 50 goroutines redeem one backup code: exactly one succeeds.
func TestBackupCodes(t *testing.T) {
	ctx := context.Background()
	t.Run("concurrent_redeem", func(t *testing.T) {
		e := newEnv(t, func(c *mfa.Config) { c.MaxFailures = 1000 })
		_, codes := e.enrolled(t, "u1")
		const n = 50
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() { <-start; errs[i] = e.m.UseBackupCode(ctx, "u1", codes[0]) })
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, mfa.ErrInvalidCode):
				t.Errorf("unexpected error %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d redeemed one code, want exactly 1", wins, n)
		}
	})
	t.Run("ASVS_6.5.2_format_and_entropy", func(t *testing.T) { // ≥112 bits
		e := newEnv(t, nil)
		_, codes := e.enrolled(t, "u1")
		seen := map[string]bool{}
		for _, c := range codes {
			groups := strings.Split(c, "-")
			if len(groups) != 6 {
				t.Fatalf("code %q: %d groups", c, len(groups))
			}
			raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.Join(groups, ""))
			if err != nil || len(raw)*8 < 112 {
				t.Fatalf("code %q: %d bits, %v", c, len(raw)*8, err)
			}
			if seen[c] {
				t.Fatal("duplicate code")
			}
			seen[c] = true
		}
	})
	t.Run("ASVS_6.5.1_single_use_and_normalized", func(t *testing.T) {
		e := newEnv(t, nil)
		_, codes := e.enrolled(t, "u1")
		messy := strings.ToLower(strings.ReplaceAll(codes[1], "-", " "))
		if m, err := e.m.Verify(ctx, "u1", messy); err != nil || m != mfa.MethodBackupCode {
			t.Fatalf("Verify(normalized backup code) = %v, %v", m, err)
		}
		if err := e.m.UseBackupCode(ctx, "u1", codes[1]); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("second use = %v, want ErrInvalidCode", err)
		}
		if err := e.m.UseBackupCode(ctx, "u1", strings.ReplaceAll(codes[2], "-", "")); err != nil {
			t.Fatalf("code without dashes: %v", err)
		}
	})
	t.Run("not_usable_by_another_user", func(t *testing.T) {
		e := newEnv(t, nil)
		_, codes := e.enrolled(t, "u1")
		e.enrolled(t, "u2")
		if err := e.m.UseBackupCode(ctx, "u2", codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("u1's code for u2 = %v", err)
		}
	})
	t.Run("stored_as_MAC", func(t *testing.T) {
		e := newEnv(t, nil)
		_, codes := e.enrolled(t, "u1")
		// The store only sees MACs: the MAC of the display code, the
		// normalized code or its SHA-256 are not what is stored.
		for _, c := range codes {
			norm := strings.ReplaceAll(c, "-", "")
			if used, _ := e.store.UseBackupCode(ctx, "u1", []byte(norm)); used {
				t.Fatal("raw code stored")
			}
		}
		if err := e.m.UseBackupCode(ctx, "u1", codes[0]); err != nil {
			t.Fatalf("codes were consumed by the probe: %v", err)
		}
	})
	t.Run("regenerate_voids_old_set", func(t *testing.T) {
		e := newEnv(t, func(c *mfa.Config) { c.MaxFailures = 100 })
		s, old := e.enrolled(t, "u1")
		if _, err := e.m.RegenerateBackupCodes(ctx, "u1", "000000"); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("regenerate with a wrong code = %v", err)
		}
		fresh, err := e.m.RegenerateBackupCodes(ctx, "u1", codeAt(t, s, e.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if len(fresh) != 10 {
			t.Fatalf("%d codes", len(fresh))
		}
		for _, c := range old {
			if err := e.m.UseBackupCode(ctx, "u1", c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("old code after regenerate = %v", err)
			}
		}
		if err := e.m.UseBackupCode(ctx, "u1", fresh[9]); err != nil {
			t.Fatalf("new code: %v", err)
		}
	})
	t.Run("server key matters", func(t *testing.T) {
		e := newEnv(t, nil)
		_, codes := e.enrolled(t, "u1")
		other, err := mfa.New(mfa.Config{Issuer: "Acme", Store: e.store, Replay: e.replay, Throttle: e.counter, Box: e.box, BackupKey: key32(200), Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		if err := other.UseBackupCode(ctx, "u1", codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("code under another server key = %v", err)
		}
	})
}

func TestDisable(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	s, codes := e.enrolled(t, "u1")
	if err := e.m.Disable(ctx, "u1", "000000"); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("Disable(wrong) = %v", err)
	}
	if ok, _ := e.m.Enrolled(ctx, "u1"); !ok {
		t.Fatal("disabled by a wrong code")
	}
	if err := e.m.Disable(ctx, "u1", codeAt(t, s, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.m.Enrolled(ctx, "u1"); ok {
		t.Fatal("still enrolled")
	}
	if used, _ := e.store.UseBackupCode(ctx, "u1", []byte(codes[0])); used {
		t.Fatal("backup codes survived")
	}
	if err := e.m.UseBackupCode(ctx, "u1", codes[0]); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("backup code after disable = %v", err)
	}
}

// Wrong codes from parallel login sessions are throttled per
// account (RFC 4226 §7.3 "across login sessions").
func TestThrottleAcrossSessions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil) // MaxFailures 5 per 15 minutes
	s, _ := e.enrolled(t, "u1")
	good := codeAt(t, s, e.clock.Now())
	wrong := codeAt(t, s, e.clock.Now().Add(-10*mfa.Period))
	if wrong == good {
		t.Skip("code collision")
	}
	tokens := make([]string, 3) // three parallel login sessions
	for i := range tokens {
		tok, err := e.m.NewChallenge(ctx, "u1", nil)
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = tok
	}
	// 6 wrong codes, 2 per session, all at once. Sessions retry their own
	// challenge, so each session's two tries run one after the other.
	var mu sync.Mutex
	var invalid, throttled int
	var wg sync.WaitGroup
	for _, tok := range tokens {
		wg.Go(func() {
			for range 2 {
				_, _, err := e.m.VerifyChallenge(ctx, tok, wrong)
				mu.Lock()
				switch {
				case errors.Is(err, mfa.ErrThrottled):
					throttled++
				case errors.Is(err, mfa.ErrInvalidCode):
					invalid++
				default:
					t.Errorf("unexpected %v", err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if invalid != 5 || throttled != 1 {
		t.Fatalf("%d invalid, %d throttled; want 5 and 1", invalid, throttled)
	}
	// Even the right code is refused while throttled, on any session.
	_, _, err := e.m.VerifyChallenge(ctx, tokens[0], good)
	var te *mfa.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > 15*time.Minute {
		t.Fatalf("right code while throttled = %v", err)
	}
	if err := e.m.VerifyTOTP(ctx, "u1", good); !errors.Is(err, mfa.ErrThrottled) {
		t.Fatalf("direct VerifyTOTP while throttled = %v", err)
	}
	// Another account is unaffected.
	s2, _ := e.enrolled(t, "u2")
	if err := e.m.VerifyTOTP(ctx, "u2", codeAt(t, s2, e.clock.Now())); err != nil {
		t.Fatalf("other account: %v", err)
	}
	// After the window, a right code works and resets the count.
	e.clock.Add(15*time.Minute + time.Second)
	if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, e.clock.Now())); err != nil {
		t.Fatalf("after window: %v", err)
	}
	if n, _, _ := e.counter.Count(ctx, "mfa:u1"); n != 0 {
		t.Fatalf("count after success = %d", n)
	}
}

func TestThrottleCountsBeforeChecking(t *testing.T) {
	// With 40 parallel wrong attempts, at most MaxFailures reach the code
	// check; the rest are throttled (the counter is incremented first).
	ctx := context.Background()
	e := newEnv(t, nil)
	_, _ = e.enrolled(t, "u1")
	var mu sync.Mutex
	invalid := 0
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			err := e.m.UseBackupCode(ctx, "u1", "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA")
			if errors.Is(err, mfa.ErrInvalidCode) {
				mu.Lock()
				invalid++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if invalid != mfa.DefaultMaxFailures {
		t.Fatalf("%d attempts were checked, want %d", invalid, mfa.DefaultMaxFailures)
	}
}

func TestStoreErrorsFailClosed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnv(t, nil)
	s, codes := e.enrolled(t, "u1")
	cancel()
	if err := e.m.VerifyTOTP(ctx, "u1", codeAt(t, s, e.clock.Now())); err == nil || errors.Is(err, mfa.ErrInvalidCode) || !errors.Is(err, context.Canceled) {
		t.Fatalf("VerifyTOTP with failing stores = %v", err)
	}
	if err := e.m.UseBackupCode(ctx, "u1", codes[0]); err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("UseBackupCode with failing stores = %v", err)
	}
	if _, err := e.m.Enrolled(ctx, "u1"); err == nil {
		t.Fatal("Enrolled swallowed the store error")
	}
}

func TestChallenge(t *testing.T) {
	ctx := context.Background()
	t.Run("happy path, single use", func(t *testing.T) {
		e := newEnv(t, nil)
		s, _ := e.enrolled(t, "u1")
		tok, err := e.m.NewChallenge(ctx, "u1", []byte("login=alice"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, "mfa_") || strings.Contains(tok, ".") || len(tok) != 47 {
			t.Fatalf("token %q", tok)
		}
		// The raw token is not a store key, and has no JWT shape.
		if _, found, _ := e.tickets.Take(ctx, mfa.ChallengePurpose, tok); found {
			t.Fatal("token stored in clear")
		}
		if n := e.tickets.Len(); n != 1 {
			t.Fatalf("%d tickets stored, want the one challenge", n)
		}
		c, method, err := e.m.VerifyChallenge(ctx, tok, codeAt(t, s, e.clock.Now()))
		if err != nil || method != mfa.MethodTOTP || c.UserID != "u1" || string(c.Data) != "login=alice" || !c.PasswordAt.Equal(e.clock.Now()) {
			t.Fatalf("VerifyChallenge = %+v, %v, %v", c, method, err)
		}
		e.clock.Add(mfa.Period)
		if _, _, err := e.m.VerifyChallenge(ctx, tok, codeAt(t, s, e.clock.Now())); !errors.Is(err, mfa.ErrInvalidChallenge) {
			t.Fatalf("second use = %v, want ErrInvalidChallenge", err)
		}
	})
	t.Run("expires after 5 minutes", func(t *testing.T) {
		e := newEnv(t, nil)
		s, _ := e.enrolled(t, "u1")
		tok, _ := e.m.NewChallenge(ctx, "u1", nil)
		e.clock.Add(5 * time.Minute)
		if _, _, err := e.m.VerifyChallenge(ctx, tok, codeAt(t, s, e.clock.Now())); !errors.Is(err, mfa.ErrInvalidChallenge) {
			t.Fatalf("expired challenge = %v", err)
		}
	})
	t.Run("bound to its user", func(t *testing.T) {
		e := newEnv(t, nil)
		e.enrolled(t, "u1")
		s2, _ := e.enrolled(t, "u2")
		tok, _ := e.m.NewChallenge(ctx, "u1", nil)
		if _, _, err := e.m.VerifyChallenge(ctx, tok, codeAt(t, s2, e.clock.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("u2's code on u1's challenge = %v", err)
		}
	})
	t.Run("attempt budget", func(t *testing.T) {
		e := newEnv(t, func(c *mfa.Config) { c.ChallengeAttempts, c.MaxFailures = 3, 100 })
		s, _ := e.enrolled(t, "u1")
		tok, _ := e.m.NewChallenge(ctx, "u1", nil)
		for i := range 3 {
			if _, _, err := e.m.VerifyChallenge(ctx, tok, "000000"); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("wrong #%d = %v", i, err)
			}
		}
		if _, _, err := e.m.VerifyChallenge(ctx, tok, codeAt(t, s, e.clock.Now())); !errors.Is(err, mfa.ErrInvalidChallenge) {
			t.Fatalf("after 3 wrong codes = %v, want ErrInvalidChallenge", err)
		}
	})
	t.Run("concurrent single use", func(t *testing.T) {
		e := newEnv(t, func(c *mfa.Config) { c.MaxFailures = 1000 })
		_, codes := e.enrolled(t, "u1")
		tok, _ := e.m.NewChallenge(ctx, "u1", nil)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 10 {
			wg.Go(func() {
				if _, _, err := e.m.VerifyChallenge(ctx, tok, codes[i]); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d logins completed with one challenge", wins)
		}
	})
	t.Run("garbage tokens", func(t *testing.T) {
		e := newEnv(t, nil)
		for _, tok := range []string{"", "mfa_", "eyJhbGciOiJIUzI1NiJ9.e30.x", "mfa_" + strings.Repeat("A", 43)} {
			if _, _, err := e.m.VerifyChallenge(ctx, tok, "123456"); !errors.Is(err, mfa.ErrInvalidChallenge) {
				t.Errorf("VerifyChallenge(%q) = %v", tok, err)
			}
		}
	})
	t.Run("no store configured", func(t *testing.T) {
		e := newEnv(t, func(c *mfa.Config) { c.Tickets = nil })
		if _, err := e.m.NewChallenge(ctx, "u1", nil); !errors.Is(err, mfa.ErrInvalidConfig) {
			t.Fatalf("= %v", err)
		}
	})
}

func TestMethodString(t *testing.T) {
	if mfa.MethodTOTP.String() != "totp" || mfa.MethodBackupCode.String() != "backup_code" || mfa.SHA512.String() != "SHA512" {
		t.Fatal("names")
	}
}
