package session_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/session"
)

// TestSignInRecordsMethodsAcrossRequests: the methods of a passkey sign-in
// are stored with the session and read back on the next request, with
// MFATime set because the sign-in was multi-factor.
func TestSignInRecordsMethodsAcrossRequests(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	tok := e.do("/sign-in?u=alice&m=hwk,user,mfa", "").token()
	if *gotErr != nil || tok == "" {
		t.Fatalf("SignIn = %v", *gotErr)
	}
	if got := e.do("/facts", tok).body; got != "alice||hwk,user,mfa|12:00:00|12:00:00" {
		t.Fatalf("facts = %q", got)
	}
}

// TestSignInWithPasswordOnlyHasNoMFATime: "pwd" alone is one factor.
func TestSignInWithPasswordOnlyHasNoMFATime(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	tok := e.do("/sign-in?u=alice&m=pwd", "").token()
	if got := e.do("/facts", tok).body; *gotErr != nil || got != "alice||pwd|12:00:00|-" {
		t.Fatalf("facts = %q (%v)", got, *gotErr)
	}
}

// TestLoginForgetsEarlierMethods: a later Login (methods unknown) must not
// inherit the passkey methods of the sign-in it replaces, and neither may a
// new MFA step.
func TestLoginForgetsEarlierMethods(t *testing.T) {
	e, _ := signInEnv(t, nil)
	tok := e.do("/sign-in?u=alice&m=hwk,user,mfa", "").token()
	e.clk.Add(time.Minute)
	tok = e.do("/login?u=alice", tok).token()
	if got := e.do("/facts", tok).body; got != "alice|||12:01:00|-" {
		t.Fatalf("after Login: %q", got)
	}
	tok = e.do("/sign-in?u=alice&m=hwk,user,mfa", tok).token()
	tok = e.do("/begin-mfa?u=alice", tok).token()
	tok = e.do("/complete-mfa", tok).token()
	if got := e.do("/facts", tok).body; got != "alice|||12:01:00|12:01:00" {
		t.Fatalf("after an MFA step: %q", got)
	}
}

// TestSignInRefusesBadMethods: values the container cannot carry are an
// error, and nothing is signed in.
func TestSignInRefusesBadMethods(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	many := strings.TrimSuffix(strings.Repeat("x,", session.MaxAMR+1), ",")
	for _, m := range []string{"pwd,", "p%20d", strings.Repeat("a", session.MaxAMRLen+1), many, "%C3%A9"} {
		r := e.do("/sign-in?u=alice&m="+m, "")
		if *gotErr == nil || r.token() != "" {
			t.Errorf("SignIn(%q) = %v, token %q", m, *gotErr, r.token())
		}
	}
}

// TestRenewSignInKeepsUserAndLifetime: a step-up re-authentication renews
// the id, dates the sign-in now with the new methods, and keeps the user,
// the values and the absolute expiry; the old token is dead.
func TestRenewSignInKeepsUserAndLifetime(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	m := e.m
	tok := e.do("/login?u=alice", "").token()
	e.do("/put?v=cart", tok)
	before, err := m.ListUser(context.Background(), "alice")
	if err != nil || len(before) != 1 {
		t.Fatal(before, err)
	}
	e.clk.Add(10 * time.Minute)
	renewed := e.do("/renew-sign-in?u=alice&m=swk,user,mfa", tok).token()
	if *gotErr != nil || renewed == "" || idOf(renewed) == idOf(tok) {
		t.Fatalf("RenewSignIn = %v, token %q", *gotErr, renewed)
	}
	if got := e.do("/facts", renewed).body; got != "alice||swk,user,mfa|12:10:00|12:10:00" {
		t.Fatalf("facts = %q", got)
	}
	if got := e.do("/get", renewed).body; got != "cart" {
		t.Fatalf("values = %q", got)
	}
	if got := e.do("/whoami", tok).body; got != "|" {
		t.Fatalf("old token still signed in: %q", got)
	}
	after, err := m.ListUser(context.Background(), "alice")
	if err != nil || len(after) != 1 || !after[0].AbsoluteExpiry.Equal(before[0].AbsoluteExpiry) || !after[0].CreatedAt.Equal(before[0].CreatedAt) {
		t.Fatalf("lifetime changed: %+v -> %+v (%v)", before, after, err)
	}
}

// TestRenewSignInWithWeakerMethodsDropsMFATime: a password-only
// re-authentication after a multi-factor sign-in dates a one-factor
// sign-in: the methods and MFATime describe the newest sign-in only.
func TestRenewSignInWithWeakerMethodsDropsMFATime(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	tok := e.do("/sign-in?u=alice&m=pwd,otp", "").token()
	e.clk.Add(time.Minute)
	tok = e.do("/renew-sign-in?u=alice&m=pwd", tok).token()
	if got := e.do("/facts", tok).body; *gotErr != nil || got != "alice||pwd|12:01:00|-" {
		t.Fatalf("facts = %q (%v)", got, *gotErr)
	}
}

// TestRenewSignInRefusesAnotherOrNoUser: a re-authentication verified for
// bob cannot be recorded on alice's session, nor on an anonymous or
// MFA-pending one.
func TestRenewSignInRefusesAnotherOrNoUser(t *testing.T) {
	e, gotErr := signInEnv(t, nil)
	alice := e.do("/login?u=alice", "").token()
	pending := e.do("/begin-mfa?u=alice", "").token()
	anon := e.do("/put?v=x", "").token()
	for name, c := range map[string]struct{ tok, user string }{
		"another user": {alice, "bob"}, "pending": {pending, "alice"}, "anonymous": {anon, "alice"}, "empty user": {alice, ""},
	} {
		r := e.do("/renew-sign-in?m=pwd&u="+c.user, c.tok)
		if !errors.Is(*gotErr, session.ErrNotSignedIn) || r.token() != "" {
			t.Errorf("%s: RenewSignIn = %v, token %q", name, *gotErr, r.token())
		}
	}
	if got := e.do("/facts", alice).body; got != "alice|||12:00:00|-" {
		t.Fatalf("alice's session changed: %q", got)
	}
	e.do("/renew-sign-in?u=alice", alice)
	if *gotErr == nil {
		t.Fatal("RenewSignIn without methods succeeded")
	}
}

// TestRenewSignInAfterRevokeDoesNotResurrect: a re-authentication that was
// checking the password while "log out everywhere" ran must not leave a
// live session behind (unlike SignIn, which starts a new one).
func TestRenewSignInAfterRevokeDoesNotResurrect(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.do("/login?u=alice", "").token()
	release, loaded := make(chan struct{}), make(chan struct{}, 1)
	out := slowRequest(e, "/slow-renew-sign-in", tok, release, loaded, func(r *http.Request) {
		if err := e.m.RenewSignIn(r.Context(), "alice", []string{"hwk", "user", "mfa"}); !errors.Is(err, session.ErrRevoked) {
			t.Errorf("RenewSignIn after revoke = %v, want ErrRevoked", err)
		}
	})
	<-loaded
	if err := e.m.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	close(release)
	if r := <-out; r.token() != "" {
		t.Fatal("the late RenewSignIn set a token")
	}
	if n := e.mem.Len(); n != 0 {
		t.Fatalf("%d records after revoke", n)
	}
}

// TestRenewSignInReturnsCopies: changing the slice given to RenewSignIn, or
// the one AMR returned, does not change the session.
func TestRenewSignInReturnsCopies(t *testing.T) {
	e := newEnv(t, nil)
	in := []string{"pwd", "otp"}
	var got []string
	e.mux.HandleFunc("/alias", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.SignIn(r.Context(), "alice", in); err != nil {
			t.Error(err)
		}
		in[0] = "hwk"
		s, _ := session.FromContext(r.Context())
		out := s.AMR()
		out[1] = "mfa"
		got = s.AMR()
	})
	e.do("/alias", "")
	if !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Fatalf("AMR = %q", got)
	}
}

// TestManagerFromContextOnlyOwnSessions: a Manager hands out only the
// sessions its own LoadAndSave loaded, never another Manager's.
func TestManagerFromContextOnlyOwnSessions(t *testing.T) {
	e := newEnv(t, nil)
	other := newEnv(t, nil)
	var mine, foreign bool
	e.mux.HandleFunc("/own", func(w http.ResponseWriter, r *http.Request) {
		_, mine = e.m.FromContext(r.Context())
		_, foreign = other.m.FromContext(r.Context())
	})
	e.do("/own", "")
	if !mine || foreign {
		t.Fatalf("own Manager: %v, another Manager: %v", mine, foreign)
	}
	if _, ok := e.m.FromContext(context.Background()); ok {
		t.Fatal("a session from a context without one")
	}
}
