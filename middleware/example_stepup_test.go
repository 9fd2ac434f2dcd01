package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/authkit-go/authkit/middleware"
)

// ExampleStepUp protects "delete account" with a sign-in of at least MFA
// strength made in the last five minutes. A token whose sign-in falls short
// gets the RFC 9470 challenge; a browser session is sent to the
// re-authentication page instead.
func ExampleStepUp() {
	stepUp, err := middleware.NewStepUp(middleware.StepUpConfig{ReauthURL: "/reauth"})
	if err != nil {
		panic(err)
	}
	recent, err := stepUp.Require(middleware.Requirement{ACR: middleware.ACRMFA, MaxAge: 5 * time.Minute})
	if err != nil {
		panic(err)
	}
	// In a server: authn.RequireAuth(recent(deleteAccount)).
	deleteAccount := recent(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "deleted")
	}))

	try := func(p middleware.Principal) {
		r := httptest.NewRequest("POST", "/account/delete", nil)
		r = r.WithContext(middleware.NewContext(r.Context(), p))
		w := httptest.NewRecorder()
		deleteAccount.ServeHTTP(w, r)
		fmt.Println(w.Code)
		for _, h := range []string{"WWW-Authenticate", "Location"} {
			if v := w.Header().Get(h); v != "" {
				fmt.Printf("%s: %s\n", h, v)
			}
		}
		fmt.Print(w.Body.String())
	}
	// Signed in with a password an hour ago, by bearer token.
	try(middleware.Principal{Subject: "u1", Method: "bearer", AuthTime: time.Now().Add(-time.Hour), AMR: []string{"pwd"}})
	// The same sign-in in a browser session.
	try(middleware.Principal{Subject: "u1", Method: "session", AuthTime: time.Now().Add(-time.Hour), AMR: []string{"pwd"}})
	// Just signed in again with password and TOTP.
	try(middleware.Principal{Subject: "u1", Method: "bearer", AuthTime: time.Now(), AMR: []string{"pwd", "otp"}})
	// Output:
	// 401
	// WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="A more recent authentication of the required level is required", acr_values="mfa passkey", max_age=300
	// {"error":"insufficient_user_authentication"}
	// 303
	// Location: /reauth?acr_values=mfa+passkey&max_age=300
	// 200
	// deleted
}

// ExampleIPKey keys per-IP limits: one IPv6 /64 is one client, an
// IPv4-mapped address is its IPv4 address.
func ExampleIPKey() {
	for _, s := range []string{"192.0.2.7", "::ffff:192.0.2.7", "2001:db8:1:2:aaaa::1", "2001:db8:1:2:bbbb::9"} {
		fmt.Println(middleware.IPKey(netip.MustParseAddr(s), middleware.DefaultIPv6KeyPrefix))
	}
	// Output:
	// 192.0.2.7
	// 192.0.2.7
	// 2001:db8:1:2::/64
	// 2001:db8:1:2::/64
}
