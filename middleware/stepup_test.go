package middleware_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/middleware"
)

var stepUpNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func mustStepUp(t *testing.T, cfg middleware.StepUpConfig) *middleware.StepUp {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return stepUpNow }
	}
	s, err := middleware.NewStepUp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustRequire(t *testing.T, s *middleware.StepUp, req middleware.Requirement) func(http.Handler) http.Handler {
	t.Helper()
	mw, err := s.Require(req)
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

// serveAs runs h for a request whose Principal is p.
func serveAs(h http.Handler, p middleware.Principal) (*httptest.ResponseRecorder, bool) {
	reached := false
	r := httptest.NewRequest("POST", "/account/delete", nil)
	r = r.WithContext(middleware.NewContext(r.Context(), p))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code == 204 {
		reached = true
	}
	return w, reached
}

var ok204 = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })

const bodyStepUp = `{"error":"insufficient_user_authentication"}` + "\n"

func TestStepUpChallenges(t *testing.T) {
	s := mustStepUp(t, middleware.StepUpConfig{})
	ago := func(d time.Duration) time.Time { return stepUpNow.Add(-d) }
	pwd, mfa, passkey := []string{"pwd"}, []string{"pwd", "otp"}, []string{"hwk", "user", "mfa"}
	for _, tt := range []struct {
		name      string
		req       middleware.Requirement
		authTime  time.Time
		amr       []string
		acr       string
		challenge string // "" means allowed
	}{
		{"fresh_enough", middleware.Requirement{MaxAge: 5 * time.Minute}, ago(4 * time.Minute), pwd, "", ""},
		{"stale_token", middleware.Requirement{MaxAge: 5 * time.Minute}, ago(10 * time.Minute), pwd, "",
			`Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=300`},
		{"undated_sign_in_is_stale", middleware.Requirement{MaxAge: time.Hour}, time.Time{}, pwd, "",
			`Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=3600`},
		{"too_weak_acr", middleware.Requirement{ACR: middleware.ACRMFA}, ago(time.Minute), pwd, "",
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="mfa passkey"`},
		{"unknown_amr_is_weakest", middleware.Requirement{ACR: middleware.ACRPassword}, ago(time.Minute), []string{"face"}, "",
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="pwd mfa passkey"`},
		{"mfa_meets_mfa", middleware.Requirement{ACR: middleware.ACRMFA}, ago(time.Hour), mfa, "", ""},
		{"passkey_meets_mfa", middleware.Requirement{ACR: middleware.ACRMFA}, ago(time.Hour), passkey, "", ""},
		{"token_acr_claim_wins_over_amr", middleware.Requirement{ACR: middleware.ACRPasskey}, ago(time.Minute), pwd, middleware.ACRPasskey, ""},
		{"token_acr_outside_levels_is_weakest", middleware.Requirement{ACR: middleware.ACRPassword}, ago(time.Minute), mfa, "urn:other:gold",
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="pwd mfa passkey"`},
		{"token_acr_other_case_is_weakest", middleware.Requirement{ACR: middleware.ACRMFA}, ago(time.Minute), pwd, "Passkey",
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="mfa passkey"`},
		// A stale strong sign-in does not satisfy a strength that comes
		// with a max_age: its acr falls back.
		{"stale_strong_sign_in_falls_back", middleware.Requirement{ACR: middleware.ACRMFA, MaxAge: 5 * time.Minute}, ago(10 * time.Minute), passkey, "",
			`Bearer error="insufficient_user_authentication", error_description="A more recent authentication of the required level is required", acr_values="mfa passkey", max_age=300`},
		{"fresh_weak_with_both", middleware.Requirement{ACR: middleware.ACRMFA, MaxAge: 5 * time.Minute}, ago(time.Minute), pwd, "",
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="mfa passkey", max_age=300`},
		{"max_age_rounds_down", middleware.Requirement{MaxAge: 90*time.Second + 900*time.Millisecond}, ago(3 * time.Minute), pwd, "",
			`Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=90`},
		{"max_age_zero_always_reauthenticates", middleware.Requirement{MaxAge: middleware.AlwaysReauthenticate}, ago(time.Minute), passkey, "",
			`Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=0`},
		{"max_age_zero_sign_in_just_now", middleware.Requirement{MaxAge: middleware.AlwaysReauthenticate}, stepUpNow, pwd, "", ""},
		// Clock skew: the default leeway is 30 s either way.
		{"skew_auth_time_slightly_in_future", middleware.Requirement{MaxAge: time.Minute}, stepUpNow.Add(20 * time.Second), pwd, "", ""},
		{"skew_auth_time_far_in_future", middleware.Requirement{MaxAge: time.Minute}, stepUpNow.Add(2 * time.Minute), pwd, "",
			`Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=60`},
		{"skew_within_leeway_past_max_age", middleware.Requirement{MaxAge: time.Minute}, ago(time.Minute + 29*time.Second), pwd, "", ""},
		{"skew_beyond_leeway_past_max_age", middleware.Requirement{MaxAge: time.Minute}, ago(time.Minute + 31*time.Second), pwd, "",
			`Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=60`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var audited []error
			s := mustStepUp(t, middleware.StepUpConfig{OnDeny: func(r *http.Request, err error) { audited = append(audited, err) }})
			h := mustRequire(t, s, tt.req)(ok204)
			for _, method := range []string{"bearer", "cookie"} {
				audited = nil
				w, reached := serveAs(h, middleware.Principal{Subject: "u1", Method: method, AuthTime: tt.authTime, AMR: tt.amr, ACR: tt.acr})
				if tt.challenge == "" {
					if !reached || len(audited) != 0 {
						t.Fatalf("%s: status %d, want allowed (%v)", method, w.Code, audited)
					}
					continue
				}
				if reached || w.Code != 401 || w.Body.String() != bodyStepUp {
					t.Fatalf("%s: status %d body %q", method, w.Code, w.Body.String())
				}
				if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
					t.Fatalf("%s: WWW-Authenticate\n got %s\nwant %s", method, got, tt.challenge)
				}
				if len(audited) != 1 || !errors.Is(audited[0], middleware.ErrInsufficientAuthentication) {
					t.Fatalf("%s: audited %v", method, audited)
				}
			}
		})
	}
	_ = s
}

// TestStepUpRefreshedTokenKeepsSignIn: a token refreshed long after the
// sign-in is freshly issued, but carries the original auth_time and acr;
// the step-up decision follows the sign-in, not the token's iat. The
// Principal comes from a real verified token through the Authenticator.
func TestStepUpRefreshedTokenKeepsSignIn(t *testing.T) {
	f := newKeyFixture(t)
	a := mustAuthenticator(t, middleware.AuthenticatorConfig{Verifier: f.verifier(t, nil)})
	signIn := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	refreshed := f.token(t, jwt.AccessTokenRequest{Subject: "u1", AMR: []string{"pwd", "otp"}, AuthTime: signIn})
	s := mustStepUp(t, middleware.StepUpConfig{Now: time.Now})
	for _, tt := range []struct {
		req    middleware.Requirement
		status int
	}{
		{middleware.Requirement{MaxAge: 5 * time.Minute}, 401},
		{middleware.Requirement{ACR: middleware.ACRMFA}, 204},
		{middleware.Requirement{ACR: middleware.ACRMFA, MaxAge: 5 * time.Minute}, 401},
		{middleware.Requirement{ACR: middleware.ACRMFA, MaxAge: 15 * time.Minute}, 204},
	} {
		h := a.RequireAuth(mustRequire(t, s, tt.req)(ok204))
		for _, cookie := range []bool{false, true} {
			r := httptest.NewRequest("POST", "/", nil)
			if cookie {
				r.AddCookie(&http.Cookie{Name: middleware.AccessCookie, Value: refreshed})
			} else {
				r.Header.Set("Authorization", "Bearer "+refreshed)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("%+v cookie=%v: status %d, want %d (%s)", tt.req, cookie, w.Code, tt.status, w.Header().Get("WWW-Authenticate"))
			}
		}
	}
}

// TestStepUpSession: a session request is redirected to the host's
// re-authentication page with the requirement, or gets the same challenge
// when no page is configured.
func TestStepUpSession(t *testing.T) {
	p := middleware.Principal{Subject: "u1", Method: "session", AuthTime: stepUpNow.Add(-time.Hour), AMR: []string{"pwd"}}
	req := middleware.Requirement{ACR: middleware.ACRMFA, MaxAge: 10 * time.Minute}

	s := mustStepUp(t, middleware.StepUpConfig{ReauthURL: "/reauth?lang=en"})
	w, reached := serveAs(mustRequire(t, s, req)(ok204), p)
	if reached || w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/reauth?acr_values=mfa+passkey&lang=en&max_age=600" {
		t.Fatalf("status %d Location %q", w.Code, w.Header().Get("Location"))
	}
	// A token request on the same StepUp still gets the challenge.
	p.Method = "bearer"
	if w, _ := serveAs(mustRequire(t, s, req)(ok204), p); w.Code != 401 || w.Header().Get("Location") != "" {
		t.Fatalf("bearer: status %d", w.Code)
	}

	p.Method = "session"
	s = mustStepUp(t, middleware.StepUpConfig{})
	w, _ = serveAs(mustRequire(t, s, req)(ok204), p)
	if w.Code != 401 || w.Body.String() != bodyStepUp ||
		w.Header().Get("WWW-Authenticate") != `Bearer error="insufficient_user_authentication", error_description="A more recent authentication of the required level is required", acr_values="mfa passkey", max_age=600` {
		t.Fatalf("session without ReauthURL: %d %q %q", w.Code, w.Body.String(), w.Header().Get("WWW-Authenticate"))
	}

	// A custom Deny gets the *StepUpError.
	s = mustStepUp(t, middleware.StepUpConfig{Deny: func(w http.ResponseWriter, r *http.Request, err error) {
		e, ok := errors.AsType[*middleware.StepUpError](err)
		if !ok || !e.Session || !e.Stale || !e.Weak {
			t.Errorf("Deny got %v", err)
		}
		w.WriteHeader(http.StatusTeapot)
	}})
	if w, _ := serveAs(mustRequire(t, s, req)(ok204), p); w.Code != http.StatusTeapot {
		t.Fatalf("custom Deny: status %d", w.Code)
	}
}

func TestStepUpWithoutPrincipalIs401(t *testing.T) {
	s := mustStepUp(t, middleware.StepUpConfig{})
	w := httptest.NewRecorder()
	mustRequire(t, s, middleware.Requirement{MaxAge: time.Minute})(ok204).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 401 || w.Body.String() != bodyUnauthenticated {
		t.Fatalf("status %d body %q", w.Code, w.Body.String())
	}
}

func TestStepUpCustomLevelsAndMapping(t *testing.T) {
	s := mustStepUp(t, middleware.StepUpConfig{
		Levels: []string{"urn:acme:silver", "urn:acme:gold"},
		ACRFromAMR: func(amr []string) string {
			if len(amr) > 1 {
				return "urn:acme:gold"
			}
			return "urn:acme:silver"
		},
	})
	h := mustRequire(t, s, middleware.Requirement{ACR: "urn:acme:gold"})(ok204)
	if _, reached := serveAs(h, middleware.Principal{Method: "bearer", AMR: []string{"pwd", "otp"}}); !reached {
		t.Fatal("gold sign-in refused")
	}
	w, _ := serveAs(h, middleware.Principal{Method: "bearer", AMR: []string{"pwd"}})
	if got := w.Header().Get("WWW-Authenticate"); got != `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:acme:gold"` {
		t.Fatalf("WWW-Authenticate %s", got)
	}
}

func TestDefaultACRFromAMR(t *testing.T) {
	for _, tt := range []struct {
		amr  []string
		want string
	}{
		{nil, ""},
		{[]string{"pwd"}, middleware.ACRPassword},
		{[]string{"pwd", "otp"}, middleware.ACRMFA},
		{[]string{"pwd", "mfa"}, middleware.ACRMFA},
		{[]string{"otp"}, middleware.ACRMFA},
		{[]string{"swk", "user", "mfa"}, middleware.ACRPasskey},
		{[]string{"hwk", "mfa"}, middleware.ACRPasskey},
		{[]string{"pwd", "hwk", "user", "mfa"}, middleware.ACRPasskey},
		// A passkey that did not count as multi-factor is one factor.
		{[]string{"swk", "user"}, middleware.ACRPassword},
		{[]string{"hwk"}, middleware.ACRPassword},
		{[]string{"pwd", "hwk"}, middleware.ACRMFA},
		{[]string{"face"}, ""},
	} {
		if got := middleware.DefaultACRFromAMR(tt.amr); got != tt.want {
			t.Errorf("DefaultACRFromAMR(%q) = %q, want %q", tt.amr, got, tt.want)
		}
	}
}

func TestStepUpInvalidConfig(t *testing.T) {
	for _, cfg := range []middleware.StepUpConfig{
		{Levels: []string{"a b"}},
		{Levels: []string{`a"b`}},
		{Levels: []string{"a", "a"}},
		{Levels: []string{""}},
		{Leeway: -time.Second},
		{Leeway: 2 * time.Minute},
		{ReauthURL: "reauth"},
		{ReauthURL: "javascript:alert(1)"},
		{ReauthURL: "/reauth#x"},
	} {
		if _, err := middleware.NewStepUp(cfg); !errors.Is(err, middleware.ErrInvalidConfig) {
			t.Errorf("NewStepUp(%+v) = %v", cfg, err)
		}
	}
	s := mustStepUp(t, middleware.StepUpConfig{})
	for _, req := range []middleware.Requirement{
		{},
		{ACR: "gold"},
		{MaxAge: -2 * time.Second},
	} {
		if _, err := s.Require(req); !errors.Is(err, middleware.ErrInvalidConfig) {
			t.Errorf("Require(%+v) = %v", req, err)
		}
	}
}

// TestStepUpThroughSessions: a real session (password sign-in, then MFA;
// a passkey sign-in; a password re-authentication after it) reaches
// StepUp through the Authenticator with its auth time and the amr the
// session recorded, so a passkey-level route accepts only the passkey
// session.
func TestStepUpThroughSessions(t *testing.T) {
	m := newSessionManager(t, memtest.New(t, nil).Sessions())
	a := mustAuthenticator(t, middleware.AuthenticatorConfig{Sessions: m, Order: []middleware.Source{middleware.SourceSession}})
	s := mustStepUp(t, middleware.StepUpConfig{Now: time.Now, ReauthURL: "/reauth"})
	h := m.LoadAndSave(a.RequireAuth(mustRequire(t, s, middleware.Requirement{ACR: middleware.ACRMFA, MaxAge: 10 * time.Minute})(ok204)))
	strong := m.LoadAndSave(a.RequireAuth(mustRequire(t, s, middleware.Requirement{ACR: middleware.ACRPasskey})(ok204)))
	passkey := sessionCookie(t, m, func(ctx context.Context) error { return m.SignIn(ctx, "u1", []string{"hwk", "user", "mfa"}) })
	weakened := sessionCookie(t, m, func(ctx context.Context) error {
		if err := m.SignIn(ctx, "u1", []string{"hwk", "user", "mfa"}); err != nil {
			return err
		}
		return m.RenewSignIn(ctx, "u1", []string{"pwd"})
	})
	pwdOnly := sessionCookie(t, m, func(ctx context.Context) error { return m.Login(ctx, "u1") })
	withMFA := sessionCookie(t, m, func(ctx context.Context) error {
		if err := m.BeginMFA(ctx, "u1"); err != nil {
			return err
		}
		return m.CompleteMFA(ctx)
	})
	for _, tt := range []struct {
		name     string
		c        *http.Cookie
		status   int
		location string
		h        http.Handler
	}{
		{"password_session_redirected", pwdOnly, http.StatusSeeOther, "/reauth?acr_values=mfa+passkey&max_age=600", h},
		{"mfa_session_passes", withMFA, 204, "", h},
		{"passkey_session_passes", passkey, 204, "", h},
		{"passkey_session_meets_passkey_level", passkey, 204, "", strong},
		{"mfa_session_below_passkey_level", withMFA, http.StatusSeeOther, "/reauth?acr_values=passkey", strong},
		{"password_reauth_after_passkey_is_password_level", weakened, http.StatusSeeOther, "/reauth?acr_values=mfa+passkey&max_age=600", h},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/account/delete", nil)
			r.AddCookie(tt.c)
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("Location") != tt.location {
				t.Fatalf("status %d Location %q", w.Code, w.Header().Get("Location"))
			}
		})
	}
}

// TestStepUpCheckUnknownACRFailsClosed: the pure check never lets a
// requirement it cannot rank pass.
func TestStepUpCheckUnknownACRFailsClosed(t *testing.T) {
	s := mustStepUp(t, middleware.StepUpConfig{})
	p := middleware.Principal{Method: "bearer", AuthTime: stepUpNow, AMR: []string{"hwk", "user", "mfa"}}
	err := s.Check(p, middleware.Requirement{ACR: "platinum"})
	e, ok := errors.AsType[*middleware.StepUpError](err)
	if !ok || !e.Weak || e.Challenge() != `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="platinum"` {
		t.Fatalf("Check with an unknown acr: %v", err)
	}
	// An acr that cannot travel in a quoted-string is met by nothing and
	// never reaches the header (no injection into WWW-Authenticate).
	err = s.Check(p, middleware.Requirement{ACR: "x\", error=\"invalid_token\"\r\nSet-Cookie: a=b"})
	e, ok = errors.AsType[*middleware.StepUpError](err)
	if !ok || !e.Weak || e.Challenge() != `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required"` {
		t.Fatalf("Check with a quoting acr: %v", err)
	}
	if err := s.Check(p, middleware.Requirement{ACR: middleware.ACRPasskey}); err != nil {
		t.Fatalf("passkey sign-in: %v", err)
	}
}

// TestIssuedACRClaimReachesThePrincipal: a real token's acr claim (RFC 9068
// §2.2.1) is the Principal's ACR and meets a requirement its amr alone
// would not.
func TestIssuedACRClaimReachesThePrincipal(t *testing.T) {
	f := newKeyFixture(t)
	a := mustAuthenticator(t, middleware.AuthenticatorConfig{Verifier: f.verifier(t, nil)})
	tok := f.token(t, jwt.AccessTokenRequest{Subject: "u1", AMR: []string{"pwd"}, ACR: middleware.ACRPasskey,
		AuthTime: time.Now().Add(-time.Minute).Truncate(time.Second)})
	var got middleware.Principal
	s := mustStepUp(t, middleware.StepUpConfig{Now: time.Now})
	h := a.RequireAuth(mustRequire(t, s, middleware.Requirement{ACR: middleware.ACRPasskey})(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			got, _ = middleware.FromContext(r.Context())
			w.WriteHeader(http.StatusNoContent)
		})))
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent || got.ACR != middleware.ACRPasskey {
		t.Fatalf("status %d, principal ACR %q; want 204 and %q", w.Code, got.ACR, middleware.ACRPasskey)
	}
}

// A huge MaxAge (a hostile or mistaken max_age) never overflows into
// "every sign-in is stale": a sign-in made just now meets it.
func TestStepUpHugeMaxAgeDoesNotOverflow(t *testing.T) {
	s := mustStepUp(t, middleware.StepUpConfig{Now: func() time.Time { return stepUpNow }})
	p := middleware.Principal{Subject: "u1", AuthTime: stepUpNow.Add(-time.Second), AMR: []string{"pwd"}}
	if err := s.Check(p, middleware.Requirement{MaxAge: time.Duration(math.MaxInt64)}); err != nil {
		t.Fatalf("fresh sign-in against the largest MaxAge: %v", err)
	}
}
