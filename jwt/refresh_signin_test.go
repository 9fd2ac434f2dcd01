package jwt_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// UpdateSignIn records a re-authentication in the family: the token stays
// the same and rotates as before, its successor carries the new facts
// (a zero AuthTime meaning now), and the caller's AMR slice is not aliased.
func TestRefreshManagerUpdateSignInCarriedToSuccessor(t *testing.T) {
	ctx := context.Background()
	m, clk := newRM(t, jwt.RefreshManagerConfig{})
	tok, first, err := m.Issue(ctx, "u1", pwdOTP)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	amr := []string{"pwd"}
	rec, err := m.UpdateSignIn(ctx, tok, "u1", jwt.SignIn{AMR: amr, ACR: "pwd"})
	if err != nil {
		t.Fatal(err)
	}
	amr[0] = "changed"
	if rec.ID != first.ID || !rec.Expiry.Equal(first.Expiry) || !rec.SignIn.AuthTime.Equal(clk.Now()) {
		t.Fatalf("record %+v, want the token %q with expiry %v and auth time %v", rec, first.ID, first.Expiry, clk.Now())
	}
	_, next, err := m.Refresh(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got := next.SignIn; !got.AuthTime.Equal(clk.Now()) || !slices.Equal(got.AMR, []string{"pwd"}) || got.ACR != "pwd" || got.MFA {
		t.Fatalf("successor's sign-in %+v, want the re-authentication's", got)
	}
}

func TestRefreshManagerUpdateSignInRefusals(t *testing.T) {
	ctx := context.Background()
	m, _ := newRM(t, jwt.RefreshManagerConfig{})
	tok, _, err := m.Issue(ctx, "u1", pwdOTP)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ tok, user string }{
		"malformed":    {"not a refresh token", "u1"},
		"another_user": {tok, "u2"},
		"no_user":      {tok, ""},
	} {
		if _, err := m.UpdateSignIn(ctx, tc.tok, tc.user, jwt.SignIn{AMR: []string{"pwd"}}); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrInvalidToken", name, err)
		}
	}
	if err := m.Revoke(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := m.UpdateSignIn(ctx, tok, "u1", jwt.SignIn{AMR: []string{"pwd"}}); !errors.Is(err, jwt.ErrInvalidToken) {
		t.Fatalf("revoked family: %v, want ErrInvalidToken", err)
	}
}
