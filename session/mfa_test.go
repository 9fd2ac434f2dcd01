package session_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/authkit-go/authkit/session"
)

// TestMFAChallengeFlow: the first factor passed for a user the session
// does not know yet; the session keeps the caller's opaque challenge, is
// not signed in, and CompleteMFAAs binds the user the MFA flow verified.
func TestMFAChallengeFlow(t *testing.T) {
	e := newEnv(t, nil)
	var gotErr error
	e.mux.HandleFunc("/begin-challenge", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.BeginMFAChallenge(r.Context(), r.URL.Query().Get("c")); err != nil {
			t.Error(err)
		}
	})
	e.mux.HandleFunc("/challenge", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		io.WriteString(w, s.MFAChallenge()+"|"+s.UserID()+"|"+s.PendingUserID())
		if s.MFAPending() {
			io.WriteString(w, "|pending")
		}
	})
	e.mux.HandleFunc("/complete-as", func(w http.ResponseWriter, r *http.Request) {
		gotErr = e.m.CompleteMFAAs(r.Context(), r.URL.Query().Get("u"))
	})
	anon := e.do("/put?v=cart", "").token()
	tok := e.do("/begin-challenge?c=opaque-challenge", anon).token()
	if tok == "" || idOf(tok) == idOf(anon) {
		t.Fatal("BeginMFAChallenge did not renew the id")
	}
	if got := e.do("/challenge", tok).body; got != "opaque-challenge|||pending" {
		t.Fatalf("pending state = %q", got)
	}
	// Without a user to bind, CompleteMFA cannot finish.
	if r := e.do("/complete-as", tok); gotErr != session.ErrNotPending || r.token() != "" {
		t.Fatalf("CompleteMFAAs(\"\") = %v", gotErr)
	}
	e.clk.Add(time.Second)
	done := e.do("/complete-as?u=alice", tok).token()
	if gotErr != nil || done == "" || idOf(done) == idOf(tok) {
		t.Fatalf("CompleteMFAAs(alice) = %v, token %q", gotErr, done)
	}
	if got := e.do("/challenge", done).body; got != "|alice|" {
		t.Fatalf("after CompleteMFAAs: %q", got)
	}
	if got := e.do("/get", done).body; got != "cart" {
		t.Fatalf("values lost: %q", got)
	}
	if got := e.do("/whoami", tok).body; got != "|" {
		t.Fatalf("the pending token still works: %q", got)
	}
	infos, err := e.m.ListUser(context.Background(), "alice")
	if err != nil || len(infos) != 1 || infos[0].Pending {
		t.Fatalf("ListUser = %+v, %v", infos, err)
	}
}

// TestCompleteMFAAsRefusesAnotherUser: a step begun for bob cannot be
// completed as alice.
func TestCompleteMFAAsRefusesAnotherUser(t *testing.T) {
	e := newEnv(t, nil)
	var gotErr error
	e.mux.HandleFunc("/complete-as", func(w http.ResponseWriter, r *http.Request) {
		gotErr = e.m.CompleteMFAAs(r.Context(), r.URL.Query().Get("u"))
	})
	tok := e.do("/begin-mfa?u=bob", "").token()
	e.do("/complete-as?u=alice", tok)
	if gotErr != session.ErrNotPending {
		t.Fatalf("CompleteMFAAs(alice) on bob's step = %v", gotErr)
	}
	if got := e.do("/whoami", tok).body; got != "|bob" {
		t.Fatalf("state after a refused completion: %q", got)
	}
	if r := e.do("/complete-as?u=bob", tok); gotErr != nil || r.token() == "" {
		t.Fatalf("CompleteMFAAs(bob) = %v", gotErr)
	}
}

// TestCompleteMFAAfterRevoke: disabling the user while the MFA step is
// pending cannot be undone by completing the step.
func TestCompleteMFAAfterRevoke(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.do("/begin-mfa?u=alice", "").token()
	release, loaded := make(chan struct{}), make(chan struct{}, 1)
	out := slowRequest(e, "/slow-complete", tok, release, loaded, func(r *http.Request) {
		if err := e.m.CompleteMFA(r.Context()); !errors.Is(err, session.ErrRevoked) {
			t.Errorf("CompleteMFA after revoke = %v, want ErrRevoked", err)
		}
	})
	<-loaded
	if err := e.m.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	close(release)
	if r := <-out; r.token() != "" {
		t.Fatal("the late CompleteMFA set a token")
	}
	if n := e.mem.Len(); n != 0 {
		t.Fatalf("%d records after revoke", n)
	}
}
