package passkey_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/store/memstore"
)

func TestChallengeFromAnotherSessionIsRefused(t *testing.T) {
	r := newRig(t)
	r.register(t, "alice")
	resp := r.assertion(t) // begun in sessA
	if _, err := r.p.FinishLogin(context.Background(), sessB, resp); !errors.Is(err, passkey.ErrBindingMismatch) {
		t.Fatalf("finish in another session: %v, want ErrBindingMismatch", err)
	}
	// The challenge is spent: the stolen attempt does not leave it usable.
	if _, err := r.p.FinishLogin(context.Background(), sessA, resp); !errors.Is(err, passkey.ErrReplay) {
		t.Fatalf("finish after refused attempt: %v, want ErrReplay", err)
	}
}

func TestRegistrationFromAnotherSessionOrUserIsRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, binding, user string
		want                error
	}{
		{"other session", sessB, "alice", passkey.ErrBindingMismatch},
		{"other user", sessA, "mallory", passkey.ErrWrongUser},
		{"no binding", "", "alice", passkey.ErrNoBinding},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := r.p.BeginRegistration(ctx, sessA, passkey.User{ID: "alice", Name: "alice@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			resp, _, err := r.auth.Create(opts.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.p.FinishRegistration(ctx, tc.binding, tc.user, "Key", resp); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if got, _ := r.creds.List(ctx, "alice"); len(got) != 0 {
		t.Fatalf("%d credentials stored after refused registrations", len(got))
	}
}

func TestEmptyBindingIsRefusedAtBegin(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.p.BeginLogin(ctx, "", false); !errors.Is(err, passkey.ErrNoBinding) {
		t.Fatalf("BeginLogin: %v", err)
	}
	if _, err := r.p.BeginLoginFor(ctx, "", "alice"); !errors.Is(err, passkey.ErrNoBinding) {
		t.Fatalf("BeginLoginFor: %v", err)
	}
	if _, err := r.p.BeginRegistration(ctx, "", passkey.User{ID: "alice", Name: "a"}); !errors.Is(err, passkey.ErrNoBinding) {
		t.Fatalf("BeginRegistration: %v", err)
	}
}

// TestForgedClientDataIsRefused bends one thing the client or
// authenticator reports per case, for both ceremonies.
func TestForgedClientDataIsRefused(t *testing.T) {
	cases := []struct {
		name  string
		bend  func(r *rig)
		login bool
		want  error
	}{
		{"login wrong origin", func(r *rig) { r.auth.Origin = "https://login.example.net" }, true, passkey.ErrWrongOrigin},
		{"login sibling origin", func(r *rig) { r.auth.Origin = "https://evil.example.com" }, true, passkey.ErrWrongOrigin},
		{"login wrong rp id", func(r *rig) { r.auth.RPID = "example.net" }, true, passkey.ErrWrongRPID},
		{"login create type", func(r *rig) { r.auth.Type = "webauthn.create" }, true, passkey.ErrWrongType},
		{"login no user verification", func(r *rig) { r.auth.UserVerified = false }, true, passkey.ErrUserVerification},
		{"register wrong origin", func(r *rig) { r.auth.Origin = "https://login.example.net" }, false, passkey.ErrWrongOrigin},
		{"register wrong rp id", func(r *rig) { r.auth.RPID = "example.net" }, false, passkey.ErrWrongRPID},
		{"register get type", func(r *rig) { r.auth.Type = "webauthn.get" }, false, passkey.ErrWrongType},
		{"register no user verification", func(r *rig) { r.auth.UserVerified = false }, false, passkey.ErrUserVerification},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			ctx := context.Background()
			if tc.login {
				id := r.register(t, "alice")
				tc.bend(r)
				_, err := r.p.FinishLogin(ctx, sessA, r.assertion(t))
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				if c, _, _ := r.creds.Get(ctx, id); c.SignCount != 0 || !c.LastUsedAt.IsZero() {
					t.Fatalf("refused sign-in recorded a use: %+v", c)
				}
				return
			}
			tc.bend(r)
			opts, err := r.p.BeginRegistration(ctx, sessA, passkey.User{ID: "alice", Name: "alice@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			resp, _, err := r.auth.Create(opts.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.p.FinishRegistration(ctx, sessA, "alice", "Key", resp); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got, _ := r.creds.List(ctx, "alice"); len(got) != 0 {
				t.Fatalf("refused registration stored %d credentials", len(got))
			}
		})
	}
}

func TestTamperedSignatureIsRefused(t *testing.T) {
	r := newRig(t)
	r.register(t, "alice")
	resp := r.assertion(t)
	// Flip a byte inside the base64url signature value.
	i := bytes.Index(resp, []byte(`"signature":"`)) + len(`"signature":"`) + 20
	resp[i] ^= 'A' ^ 'B'
	if resp[i] == '"' {
		t.Fatal("test bug")
	}
	_, err := r.p.FinishLogin(context.Background(), sessA, resp)
	if !errors.Is(err, passkey.ErrSignature) && !errors.Is(err, passkey.ErrMalformed) {
		t.Fatalf("got %v, want ErrSignature", err)
	}
}

func TestCounterRollbackIsRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id := r.register(t, "alice")
	for range 3 {
		if _, err := r.p.FinishLogin(ctx, sessA, r.assertion(t)); err != nil {
			t.Fatal(err)
		}
	}
	// A clone of the key at count 1 signs next with 2, below the stored 3.
	r.auth.SetCounter(id, 1)
	_, err := r.p.FinishLogin(ctx, sessA, r.assertion(t))
	var ce *passkey.ClonedError
	if !errors.Is(err, passkey.ErrClonedAuthenticator) || !errors.As(err, &ce) {
		t.Fatalf("got %v, want ErrClonedAuthenticator", err)
	}
	if ce.UserID != "alice" || ce.Stored != 3 || ce.Received != 2 || !bytes.Equal(ce.CredentialID, id) {
		t.Fatalf("ClonedError %+v", ce)
	}
	if c, _, _ := r.creds.Get(ctx, id); c.SignCount != 3 {
		t.Fatalf("stored count %d after refusal, want 3", c.SignCount)
	}
}

// TestSignCounterPolicy pins when a counter is accepted: synced passkeys
// report 0 forever, and a backup-eligible credential may drop to 0.
func TestSignCounterPolicy(t *testing.T) {
	cases := []struct {
		name     string
		be       bool   // credential backup eligible (registration and sign-ins)
		stored   uint32 // counter reached by earlier sign-ins
		received uint32
		ok       bool
	}{
		{"zero after zero device-bound", false, 0, 0, true},
		{"zero after zero synced", true, 0, 0, true},
		{"increase", false, 4, 5, true},
		{"equal non-zero", false, 4, 4, false},
		{"equal non-zero synced", true, 4, 4, false},
		{"decrease", false, 4, 2, false},
		{"zero after non-zero device-bound", false, 4, 0, false},
		{"zero after non-zero synced", true, 4, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			ctx := context.Background()
			r.auth.BackupEligible, r.auth.BackupState = tc.be, tc.be
			r.auth.StaticCounter = true
			id := r.register(t, "alice")
			if tc.stored > 0 {
				r.auth.SetCounter(id, tc.stored)
				if _, err := r.p.FinishLogin(ctx, sessA, r.assertion(t)); err != nil {
					t.Fatal(err)
				}
			}
			r.auth.SetCounter(id, tc.received)
			res, err := r.p.FinishLogin(ctx, sessA, r.assertion(t))
			if tc.ok != (err == nil) {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, passkey.ErrClonedAuthenticator) {
				t.Fatalf("err %v, want ErrClonedAuthenticator", err)
			}
			if err == nil && res.Credential.SignCount != max(tc.stored, tc.received) {
				t.Fatalf("count %d, want %d", res.Credential.SignCount, max(tc.stored, tc.received))
			}
		})
	}
}

func TestSyncedPasskeyReportsSoftwareKey(t *testing.T) {
	r := newRig(t)
	r.auth.BackupEligible, r.auth.BackupState, r.auth.StaticCounter = true, true, true
	r.register(t, "alice")
	for range 2 {
		res, err := r.p.FinishLogin(context.Background(), sessA, r.assertion(t))
		if err != nil {
			t.Fatal(err)
		}
		if res.AMR[0] != "swk" || res.Credential.SignCount != 0 {
			t.Fatalf("amr %q count %d", res.AMR, res.Credential.SignCount)
		}
	}
}

func TestBackupFlagsChangeIsRecordedNotRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id := r.register(t, "alice") // BE=0 BS=0 at registration
	r.auth.BackupEligible, r.auth.BackupState = true, true
	for range 2 { // and again once recorded
		if _, err := r.p.FinishLogin(ctx, sessA, r.assertion(t)); err != nil {
			t.Fatalf("sign-in after BE/BS turned on: %v", err)
		}
	}
	c, _, _ := r.creds.Get(ctx, id)
	if !c.BackupEligible || !c.BackupState {
		t.Fatalf("stored flags BE=%v BS=%v, want both", c.BackupEligible, c.BackupState)
	}
	r.auth.BackupState = false // synced copy paused
	if _, err := r.p.FinishLogin(ctx, sessA, r.assertion(t)); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := r.creds.Get(ctx, id); !c.BackupEligible || c.BackupState {
		t.Fatalf("stored flags BE=%v BS=%v, want BE only", c.BackupEligible, c.BackupState)
	}
}

func TestCredentialOfAnotherUserIsRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.register(t, "alice")
	bob := r.register(t, "bob") // same authenticator, bob's passkey
	opts, err := r.p.BeginLoginFor(ctx, sessA, "alice")
	if err != nil {
		t.Fatal(err)
	}
	r.auth.Select = bob
	resp, err := r.auth.Get(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.FinishLogin(ctx, sessA, resp); !errors.Is(err, passkey.ErrWrongUser) {
		t.Fatalf("got %v, want ErrWrongUser", err)
	}
	if c, _, _ := r.creds.Get(ctx, bob); c.SignCount != 0 {
		t.Fatalf("bob's credential recorded a use")
	}
}

func TestKnownUserLoginAsSecondFactor(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.register(t, "bob")
	id := r.register(t, "alice")
	opts, err := r.p.BeginLoginFor(ctx, sessA, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(opts.JSON, []byte(`"allowCredentials"`)) {
		t.Fatalf("options do not list alice's credentials: %s", opts.JSON)
	}
	r.auth.OmitUserHandle = true
	resp, err := r.auth.Get(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.p.FinishLogin(ctx, sessA, resp)
	if err != nil {
		t.Fatal(err)
	}
	if res.UserID != "alice" || !bytes.Equal(res.Credential.ID, id) || !res.MultiFactor {
		t.Fatalf("result %+v", res)
	}
	if _, err := r.p.BeginLoginFor(ctx, sessA, "carol"); !errors.Is(err, passkey.ErrNotFound) {
		t.Fatalf("BeginLoginFor user without passkeys: %v", err)
	}
}

func TestHybridLoginWithoutUserHandleResolvesUser(t *testing.T) {
	r := newRig(t)
	r.register(t, "alice")
	r.auth.OmitUserHandle = true
	res, err := r.p.FinishLogin(context.Background(), sessA, r.assertion(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.UserID != "alice" {
		t.Fatalf("user %q", res.UserID)
	}
}

func TestUnknownCredentialIsRefusedWithSignal(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id := r.register(t, "alice")
	if _, err := r.creds.Remove(ctx, "alice", id, false); err != nil {
		t.Fatal(err)
	}
	_, err := r.p.FinishLogin(ctx, sessA, r.assertion(t))
	var ue *passkey.UnknownCredentialError
	if !errors.Is(err, passkey.ErrUnknownCredential) || !errors.As(err, &ue) {
		t.Fatalf("got %v, want ErrUnknownCredential", err)
	}
	if !bytes.Equal(ue.CredentialID, id) || ue.Signal.RPID != rpID || ue.Signal.CredentialID != b64(id) {
		t.Fatalf("error %+v", ue)
	}
}

func TestExpiredConditionalChallengeAsksForFreshOne(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.register(t, "alice")
	opts, err := r.p.BeginLogin(ctx, sessA, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(opts.JSON, []byte(`"mediation":"conditional"`)) {
		t.Fatalf("options %s lack conditional mediation", opts.JSON)
	}
	if !opts.Expires.Equal(r.clk.Now().Add(passkey.MaxCeremonyTimeout)) {
		t.Fatalf("expires %v", opts.Expires)
	}
	r.clk.Add(passkey.MaxCeremonyTimeout)
	resp, err := r.auth.Get(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.p.FinishLogin(ctx, sessA, resp)
	var ee *passkey.ChallengeExpiredError
	if !errors.Is(err, passkey.ErrChallengeExpired) || !errors.As(err, &ee) {
		t.Fatalf("got %v, want ChallengeExpiredError", err)
	}
	if !bytes.Contains(ee.Fresh.JSON, []byte(`"mediation":"conditional"`)) || bytes.Equal(ee.Fresh.JSON, opts.JSON) {
		t.Fatalf("fresh options %s", ee.Fresh.JSON)
	}
	resp, err = r.auth.Get(ee.Fresh.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.FinishLogin(ctx, sessA, resp); err != nil {
		t.Fatalf("fresh challenge: %v", err)
	}
}

func TestChallengeJustBeforeExpiryIsAccepted(t *testing.T) {
	r := newRig(t)
	r.register(t, "alice")
	resp := r.assertion(t)
	r.clk.Add(passkey.MaxCeremonyTimeout - time.Nanosecond)
	if _, err := r.p.FinishLogin(context.Background(), sessA, resp); err != nil {
		t.Fatal(err)
	}
}

func TestUnverifiedSignInWhenAllowedIsSingleFactor(t *testing.T) {
	r := newRig(t, func(c *passkey.Config) { c.UnsafeAllowNoUserVerification = true })
	r.auth.UserVerified = false
	r.register(t, "alice")
	res, err := r.p.FinishLogin(context.Background(), sessA, r.assertion(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.UserVerified || res.MultiFactor || strings.Join(res.AMR, ",") != "hwk" {
		t.Fatalf("result %+v", res)
	}
}

func TestUserVerifiedSingleFactorSetting(t *testing.T) {
	r := newRig(t, func(c *passkey.Config) { c.UserVerifiedSingleFactor = true })
	r.register(t, "alice")
	res, err := r.p.FinishLogin(context.Background(), sessA, r.assertion(t))
	if err != nil {
		t.Fatal(err)
	}
	if !res.UserVerified || res.MultiFactor || strings.Join(res.AMR, ",") != "hwk,user" {
		t.Fatalf("result %+v", res)
	}
}

func TestOversizedResponseIsRefusedBeforeParsing(t *testing.T) {
	r := newRig(t)
	big := []byte(`{"id":"` + strings.Repeat("A", passkey.MaxResponseBytes) + `"}`)
	if _, err := r.p.FinishLogin(context.Background(), sessA, big); !errors.Is(err, passkey.ErrMalformed) {
		t.Fatalf("login: %v", err)
	}
	if _, err := r.p.FinishRegistration(context.Background(), sessA, "alice", "Key", big); !errors.Is(err, passkey.ErrMalformed) {
		t.Fatalf("registration: %v", err)
	}
}

func TestConcurrentFinishesOfOneAssertionSucceedOnce(t *testing.T) {
	r := newRig(t)
	r.register(t, "alice")
	resp := r.assertion(t)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			_, err := r.p.FinishLogin(context.Background(), sessA, resp)
			switch {
			case err == nil:
				ok.Add(1)
			case !errors.Is(err, passkey.ErrReplay):
				t.Errorf("unexpected error %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d successes, want 1", ok.Load())
	}
}

func TestRegisteringTheSameAuthenticatorTwiceIsExcluded(t *testing.T) {
	r := newRig(t)
	r.register(t, "alice")
	opts, err := r.p.BeginRegistration(context.Background(), sessA, passkey.User{ID: "alice", Name: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.auth.Create(opts.JSON); err == nil {
		t.Fatal("authenticator registered twice: options do not exclude it")
	}
}

func TestExpiredChallengeFromAnotherSessionGetsNoFreshOne(t *testing.T) {
	r := newRig(t)
	r.register(t, "alice")
	resp := r.assertion(t)
	r.clk.Add(passkey.MaxCeremonyTimeout + time.Second)
	_, err := r.p.FinishLogin(context.Background(), sessB, resp)
	var ee *passkey.ChallengeExpiredError
	if !errors.Is(err, passkey.ErrBindingMismatch) || errors.As(err, &ee) {
		t.Fatalf("got %v, want ErrBindingMismatch and no fresh ceremony", err)
	}
}

func TestExpiredKnownUserChallengeRenewsForThatUser(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.register(t, "alice")
	opts, err := r.p.BeginLoginFor(ctx, sessA, "alice")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.auth.Get(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	r.clk.Add(passkey.MaxCeremonyTimeout)
	_, err = r.p.FinishLogin(ctx, sessA, resp)
	var ee *passkey.ChallengeExpiredError
	if !errors.As(err, &ee) || !bytes.Contains(ee.Fresh.JSON, []byte(`"allowCredentials"`)) {
		t.Fatalf("got %v, want a fresh known-user ceremony", err)
	}
	if resp, err = r.auth.Get(ee.Fresh.JSON); err != nil {
		t.Fatal(err)
	}
	if res, err := r.p.FinishLogin(ctx, sessA, resp); err != nil || res.UserID != "alice" {
		t.Fatalf("fresh ceremony: %v", err)
	}
}

// Two authenticators with one key and one counter value, racing: every
// finish reads the credential before any writes (a barrier in Get), and
// the store's compare-and-set still lets exactly one sign-in through.
func TestConcurrentAssertionsWithOneCounterValueSucceedOnce(t *testing.T) {
	const n = 8
	r := newRig(t)
	id := r.register(t, "alice")
	r.auth.StaticCounter = true
	r.auth.SetCounter(id, 5)
	resps := make([][]byte, n)
	for i := range resps {
		resps[i] = r.assertion(t)
	}
	ok := 0
	for _, err := range finishAtOnce(t, r, resps) {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, passkey.ErrClonedAuthenticator):
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d successes, want 1", ok)
	}
}

// finishAtOnce finishes every response of alice's at once, through a
// Passkeys over r's stores whose credential reads all wait for one another
// (every finish reads before any writes), and returns each finish's error.
func finishAtOnce(t *testing.T, r *rig, resps [][]byte) []error {
	t.Helper()
	bs := &barrierStore{Passkeys: r.creds, n: int32(len(resps))}
	bs.wg.Add(len(resps))
	p, err := passkey.New(passkey.Config{
		RPID: rpID, RPDisplayName: "Example", Origins: []string{origin},
		Credentials: bs, Tickets: r.tickets, Now: r.clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, len(resps))
	var wg sync.WaitGroup
	for i, resp := range resps {
		wg.Go(func() {
			res, err := p.FinishLogin(context.Background(), sessA, resp)
			if err == nil && res.UserID != "alice" {
				err = fmt.Errorf("signed in %q", res.UserID)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errs
}

// barrierStore holds the first n Gets until all n have arrived.
type barrierStore struct {
	*memstore.Passkeys
	n     int32
	count atomic.Int32
	wg    sync.WaitGroup
}

func (s *barrierStore) Get(ctx context.Context, id []byte) (passkey.Credential, bool, error) {
	c, found, err := s.Passkeys.Get(ctx, id)
	if s.count.Add(1) <= s.n {
		s.wg.Done()
		s.wg.Wait()
	}
	return c, found, err
}
