package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/session"
)

// TestSessionSignedInBySkewedServerFailsClosed: a passkey sign-in dated by
// a server whose clock runs ahead (beyond the leeway) does not count as
// recent on a server with the right clock, however strong its methods;
// within the leeway it does.
func TestSessionSignedInBySkewedServerFailsClosed(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := memtest.New(t, func() time.Time { return now }).Sessions()
	right, err := session.New(session.Config{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	a := mustAuthenticator(t, middleware.AuthenticatorConfig{Sessions: right, Order: []middleware.Source{middleware.SourceSession}})
	s := mustStepUp(t, middleware.StepUpConfig{Now: func() time.Time { return now }, ReauthURL: "/reauth"})
	recent := right.LoadAndSave(a.RequireAuth(mustRequire(t, s, middleware.Requirement{ACR: middleware.ACRPasskey, MaxAge: 5 * time.Minute})(ok204)))
	for _, tt := range []struct {
		name   string
		ahead  time.Duration
		status int
	}{
		{"ahead_beyond_leeway", 10 * time.Minute, http.StatusSeeOther},
		{"ahead_within_leeway", 20 * time.Second, http.StatusNoContent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			skewed, err := session.New(session.Config{Store: st, Now: func() time.Time { return now.Add(tt.ahead) }})
			if err != nil {
				t.Fatal(err)
			}
			c := sessionCookie(t, skewed, func(ctx context.Context) error {
				return skewed.SignIn(ctx, "u1", []string{"hwk", "user", "mfa"})
			})
			r := httptest.NewRequest("POST", "/account/delete", nil)
			r.AddCookie(c)
			w := httptest.NewRecorder()
			recent.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
		})
	}
}

// TestSessionWithoutRecordedMethodsIsNotPasskeyLevel: a session signed in
// with Login (no methods recorded) after CompleteMFA is reported as
// password plus mfa, never as the passkey level.
func TestSessionWithoutRecordedMethodsIsNotPasskeyLevel(t *testing.T) {
	m := newSessionManager(t, memtest.New(t, nil).Sessions())
	a := mustAuthenticator(t, middleware.AuthenticatorConfig{Sessions: m, Order: []middleware.Source{middleware.SourceSession}})
	s := mustStepUp(t, middleware.StepUpConfig{Now: time.Now, ReauthURL: "/reauth"})
	strong := m.LoadAndSave(a.RequireAuth(mustRequire(t, s, middleware.Requirement{ACR: middleware.ACRPasskey})(ok204)))
	c := sessionCookie(t, m, func(ctx context.Context) error {
		if err := m.SignIn(ctx, "u1", []string{"hwk", "user", "mfa"}); err != nil {
			return err
		}
		if err := m.BeginMFA(ctx, "u1"); err != nil {
			return err
		}
		return m.CompleteMFA(ctx)
	})
	var got middleware.Principal
	probe := m.LoadAndSave(a.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = middleware.FromContext(r.Context())
	})))
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	probe.ServeHTTP(httptest.NewRecorder(), r)
	if len(got.AMR) != 2 || got.AMR[0] != "pwd" || got.AMR[1] != "mfa" || !got.MFA {
		t.Fatalf("principal amr %q mfa %v", got.AMR, got.MFA)
	}
	r = httptest.NewRequest("POST", "/account/delete", nil)
	r.AddCookie(c)
	w := httptest.NewRecorder()
	strong.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("passkey route: %d", w.Code)
	}
}
