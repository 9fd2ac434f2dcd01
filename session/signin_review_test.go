package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/session"
)

// signInEnv adds handlers to a new env: SignIn and RenewSignIn (the
// methods come from the query, "m=hwk,user,mfa"), the MFA steps that take
// a challenge, one that tries to plant methods through the values, and a
// report of the sign-in facts (user|pending user|amr|AuthTime|MFATime).
func signInEnv(t *testing.T, mod func(*session.Config)) (*env, *error) {
	t.Helper()
	e := newEnv(t, mod)
	var gotErr error
	methods := func(r *http.Request) []string {
		if m := r.URL.Query().Get("m"); m != "" {
			return strings.Split(m, ",")
		}
		return nil
	}
	e.mux.HandleFunc("/sign-in", func(w http.ResponseWriter, r *http.Request) {
		gotErr = e.m.SignIn(r.Context(), r.URL.Query().Get("u"), methods(r))
	})
	e.mux.HandleFunc("/renew-sign-in", func(w http.ResponseWriter, r *http.Request) {
		gotErr = e.m.RenewSignIn(r.Context(), r.URL.Query().Get("u"), methods(r))
	})
	e.mux.HandleFunc("/begin-challenge", func(w http.ResponseWriter, r *http.Request) {
		gotErr = e.m.BeginMFAChallenge(r.Context(), "challenge")
	})
	e.mux.HandleFunc("/complete-as", func(w http.ResponseWriter, r *http.Request) {
		gotErr = e.m.CompleteMFAAs(r.Context(), r.URL.Query().Get("u"))
	})
	e.mux.HandleFunc("/plant", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		gotErr = errors.Join(s.Put("amr", []string{"hwk", "user", "mfa"}), s.Put(session.ReservedPrefix+"amr", []string{"hwk"}))
	})
	e.mux.HandleFunc("/facts", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		mfa := "-"
		if !s.MFATime().IsZero() {
			mfa = s.MFATime().UTC().Format(time.TimeOnly)
		}
		io.WriteString(w, s.UserID()+"|"+s.PendingUserID()+"|"+strings.Join(s.AMR(), ",")+"|"+s.AuthTime().UTC().Format(time.TimeOnly)+"|"+mfa)
	})
	return e, &gotErr
}

// TestPasswordSignInAfterPasskeySignInReportsOnlyPassword: a password
// sign-in in a browser that signed in with a passkey earlier must not keep
// "hwk" (which a step-up check reads as the passkey level) nor MFATime.
func TestPasswordSignInAfterPasskeySignInReportsOnlyPassword(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	tok := e.do("/sign-in?u=alice&m=hwk,user,mfa", "").token()
	e.clk.Add(time.Minute)
	tok = e.do("/sign-in?u=alice&m=pwd", tok).token()
	if got := e.do("/facts", tok).body; *gotErr != nil || got != "alice||pwd|12:01:00|-" {
		t.Fatalf("facts = %q (%v)", got, *gotErr)
	}
}

// TestMFAStepsAfterPasskeySignInCarryNoMethods: a second-factor step begun
// after a passkey sign-in (BeginMFAChallenge, then CompleteMFAAs) is a new
// sign-in whose methods are unknown: the passkey's are gone, even though
// CompleteMFAAs sets MFATime.
func TestMFAStepsAfterPasskeySignInCarryNoMethods(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	tok := e.do("/sign-in?u=alice&m=hwk,user,mfa", "").token()
	e.clk.Add(time.Minute)
	tok = e.do("/begin-challenge", tok).token()
	if got := e.do("/facts", tok).body; *gotErr != nil || got != "|||12:01:00|-" {
		t.Fatalf("pending: facts = %q (%v)", got, *gotErr)
	}
	tok = e.do("/complete-as?u=alice", tok).token()
	if got := e.do("/facts", tok).body; *gotErr != nil || got != "alice|||12:01:00|12:01:00" {
		t.Fatalf("completed: facts = %q (%v)", got, *gotErr)
	}
}

// TestSignInOverPendingStepRecordsOnlyGivenMethods: SignIn over a pending
// MFA step (of the same or another user) ends it and records exactly the
// methods given; a "pwd" SignIn gets no MFATime from the pending step.
func TestSignInOverPendingStepRecordsOnlyGivenMethods(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	tok := e.do("/begin-mfa?u=alice", "").token()
	tok = e.do("/sign-in?u=bob&m=pwd", tok).token()
	if got := e.do("/facts", tok).body; *gotErr != nil || got != "bob||pwd|12:00:00|-" {
		t.Fatalf("facts = %q (%v)", got, *gotErr)
	}
	// The step is over: completing it now is refused and changes nothing.
	e.do("/complete-as?u=alice", tok)
	if !errors.Is(*gotErr, session.ErrNotPending) {
		t.Fatalf("CompleteMFAAs after SignIn = %v", *gotErr)
	}
	if got := e.do("/facts", tok).body; got != "bob||pwd|12:00:00|-" {
		t.Fatalf("facts after the late completion = %q", got)
	}
}

// TestRenewKeepsSignInMethodsAndAuthTime: Renew (a role change) is not a
// sign-in: the methods and AuthTime stay those of the last sign-in, so a
// renewal cannot refresh a stale passkey sign-in.
func TestRenewKeepsSignInMethodsAndAuthTime(t *testing.T) {
	e, _ := signInEnv(t, nil)
	tok := e.do("/sign-in?u=alice&m=pwd,otp", "").token()
	e.clk.Add(10 * time.Minute)
	tok = e.do("/renew", tok).token()
	if got := e.do("/facts", tok).body; got != "alice||pwd,otp|12:00:00|12:00:00" {
		t.Fatalf("facts = %q", got)
	}
}

// TestValuesCannotPlantMethods: the reserved key is refused, and a value
// stored under "amr" is just a value: AMR stays the sign-in's (none for
// Login).
func TestValuesCannotPlantMethods(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	tok := e.do("/login?u=alice", "").token()
	e.do("/plant", tok)
	if !errors.Is(*gotErr, session.ErrReservedKey) {
		t.Fatalf("Put under the reserved prefix = %v", *gotErr)
	}
	if got := e.do("/facts", tok).body; got != "alice|||12:00:00|-" {
		t.Fatalf("facts = %q", got)
	}
}

// TestRenewSignInAfterAnotherUserSignedInOnSameCookie: a re-authentication
// of alice in flight while another request on the same cookie signed bob
// in must not record alice's methods on bob's session, nor bring alice's
// back.
func TestRenewSignInAfterAnotherUserSignedInOnSameCookie(t *testing.T) {
	e, _ := signInEnv(t, nil)
	tok := e.do("/sign-in?u=alice&m=pwd", "").token()
	release, loaded := make(chan struct{}), make(chan struct{}, 1)
	var renewErr error
	out := slowRequest(e, "/slow-renew", tok, release, loaded, func(r *http.Request) {
		renewErr = e.m.RenewSignIn(r.Context(), "alice", []string{"hwk", "user", "mfa"})
	})
	<-loaded
	bob := e.do("/sign-in?u=bob&m=pwd", tok).token()
	close(release)
	if r := <-out; !errors.Is(renewErr, session.ErrRevoked) || r.token() != "" {
		t.Fatalf("late RenewSignIn = %v, token %q", renewErr, r.token())
	}
	if got := e.do("/facts", bob).body; got != "bob||pwd|12:00:00|-" {
		t.Fatalf("bob's session = %q", got)
	}
	if live, err := e.m.ListUser(context.Background(), "alice"); err != nil || len(live) != 0 {
		t.Fatalf("alice's sessions = %+v (%v)", live, err)
	}
}

// TestConcurrentRenewSignInLeavesOneLiveID: many re-authentications of the
// same session at once (double submits, several tabs) leave exactly one
// live id, the one the single successful request set; the others are
// refused (ErrRevoked when they loaded the old id before it was renewed,
// ErrNotSignedIn when they loaded after) and set no cookie.
func TestConcurrentRenewSignInLeavesOneLiveID(t *testing.T) {
	e, _ := signInEnv(t, nil)
	tok := e.do("/sign-in?u=alice&m=pwd", "").token()
	const n = 16
	var wg sync.WaitGroup
	var ok, revoked atomic.Int32
	tokens := make(chan string, n)
	e.mux.HandleFunc("/renew-concurrent", func(w http.ResponseWriter, r *http.Request) {
		switch err := e.m.RenewSignIn(r.Context(), "alice", []string{"hwk", "user", "mfa"}); {
		case err == nil:
			ok.Add(1)
		case errors.Is(err, session.ErrRevoked) || errors.Is(err, session.ErrNotSignedIn):
			revoked.Add(1)
		default:
			t.Errorf("RenewSignIn = %v", err)
		}
	})
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			if c := e.do("/renew-concurrent", tok).token(); c != "" {
				tokens <- c
			}
		})
	}
	close(start)
	wg.Wait()
	close(tokens)
	var set []string
	for c := range tokens {
		set = append(set, c)
	}
	live, err := e.m.ListUser(context.Background(), "alice")
	if err != nil || ok.Load() != 1 || revoked.Load() != n-1 || len(set) != 1 || len(live) != 1 || live[0].ID != idOf(set[0]) {
		t.Fatalf("ok %d revoked %d cookies %q live %+v (%v)", ok.Load(), revoked.Load(), set, live, err)
	}
}

// TestRenewSignInRacingLogoutEverywhereLeavesNothing: re-authentications
// racing "log out everywhere" (no ordering imposed) never leave a live
// session: a renewal before the revoke is deleted with the user's
// sessions, one after it finds the old id gone.
func TestRenewSignInRacingLogoutEverywhereLeavesNothing(t *testing.T) {
	for round := range 20 {
		e, _ := signInEnv(t, nil)
		tok := e.do("/sign-in?u=alice&m=pwd", "").token()
		e.mux.HandleFunc("/renew-racing", func(w http.ResponseWriter, r *http.Request) {
			err := e.m.RenewSignIn(r.Context(), "alice", []string{"pwd", "otp"})
			if err != nil && !errors.Is(err, session.ErrRevoked) && !errors.Is(err, session.ErrNotSignedIn) {
				t.Errorf("RenewSignIn = %v", err)
			}
		})
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 8 {
			wg.Go(func() { <-start; e.do("/renew-racing", tok) })
		}
		wg.Go(func() {
			<-start
			if err := e.m.RevokeUser(context.Background(), "alice"); err != nil {
				t.Error(err)
			}
		})
		close(start)
		wg.Wait()
		if live, err := e.m.ListUser(context.Background(), "alice"); err != nil || len(live) != 0 {
			t.Fatalf("round %d: live after log out everywhere: %+v (%v)", round, live, err)
		}
	}
}

// findHook runs hook once, right after the store found id (armed with
// target), before the caller acts on what it found.
type findHook struct {
	session.Store
	target atomic.Pointer[string]
	hook   func()
}

func (f *findHook) Find(ctx context.Context, id string) (session.Record, bool, error) {
	rec, found, err := f.Store.Find(ctx, id)
	if t := f.target.Load(); t != nil && *t == id && f.target.CompareAndSwap(t, nil) {
		f.hook()
	}
	return rec, found, err
}

// TestRevokeDeviceRacingRenewSignInEndsTheDevice: "revoke this device"
// (Manager.Revoke of the id on the devices page) that succeeds must leave
// that device signed out, even when the device re-authenticated (a new id
// through RenewSignIn) between Revoke reading the id and deleting it.
// Otherwise Revoke reports success while the session lives on under the
// renewed id.
func TestRevokeDeviceRacingRenewSignInEndsTheDevice(t *testing.T) {
	hook := &findHook{}
	e, gotErr := signInEnv(t, func(cfg *session.Config) {
		hook.Store = cfg.Store
		cfg.Store = hook
	})
	device := e.do("/sign-in?u=alice&m=pwd", "").token()
	var renewed string
	hook.hook = func() {
		renewed = e.do("/renew-sign-in?u=alice&m=hwk,user,mfa", device).token()
	}
	id := idOf(device)
	hook.target.Store(&id)
	revokeErr := e.m.Revoke(context.Background(), "alice", id)
	if *gotErr != nil || renewed == "" {
		t.Fatalf("the racing renewal did not run: %v", *gotErr)
	}
	live, err := e.m.ListUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if revokeErr == nil && len(live) != 0 {
		t.Fatalf("Revoke(%s) = nil, but the device is still signed in as %s (%s)", id, live[0].ID, e.do("/facts", renewed).body)
	}
	if revokeErr != nil && !errors.Is(revokeErr, session.ErrNotFound) {
		t.Fatalf("Revoke = %v", revokeErr)
	}
}

// TestRenewSignInRefusesOverlongMethods: the limits hold for RenewSignIn
// too, and a refused call leaves the session as it was.
func TestRenewSignInRefusesOverlongMethods(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	tok := e.do("/sign-in?u=alice&m=pwd", "").token()
	many := strings.TrimSuffix(strings.Repeat("hwk,", session.MaxAMR+1), ",")
	for _, m := range []string{many, strings.Repeat("h", session.MaxAMRLen+1), "hwk%00", "hwk,%7F"} {
		r := e.do(fmt.Sprintf("/renew-sign-in?u=alice&m=%s", m), tok)
		if *gotErr == nil || r.token() != "" {
			t.Errorf("RenewSignIn(%q) = %v, token %q", m, *gotErr, r.token())
		}
	}
	if got := e.do("/facts", tok).body; got != "alice||pwd|12:00:00|-" {
		t.Fatalf("facts = %q", got)
	}
}
