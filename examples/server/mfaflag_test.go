package main

import (
	"net/http"
	"path/filepath"
	"testing"
)

// An MFA enrollment deleted behind the server's back (a store restored from
// an old backup, an evicted key) must not turn the second factor off: the
// user record keeps MFAEnabled, and the next password login is refused
// instead of signing in on the password alone. Over the in-memory users and
// the example's own SQL table.
func TestLostMFAEnrollmentFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Options)
	}{
		{"memory", nil},
		{"sqlite", func(o *Options) {
			dir := t.TempDir()
			o.Users = "sqlite:" + filepath.Join(dir, "users.db")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, tc.mutate)
			a := newAPI(t, ts)
			u := a.signup("mia@example.com", pw1)
			a.loginOK("mia@example.com", pw1)
			enrollMFA(t, a)
			rec, found, err := ts.app.accounts.UserByID(t.Context(), u.ID)
			if err != nil || !found || !rec.MFAEnabled {
				t.Fatalf("after confirm: MFAEnabled=%v found=%v err=%v", rec.MFAEnabled, found, err)
			}
			if err := ts.app.st.mfa.Delete(t.Context(), u.ID); err != nil {
				t.Fatal(err)
			}

			// API: no tokens, no MFA token either.
			resp, body := newAPI(t, ts).login("mia@example.com", pw1)
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("password login after the enrollment was lost: 200 %s", body)
			}
			wantNoCookies(t, resp)

			// UI: no signed-in session.
			c := newClient(t)
			resp, body = uiLogin(t, ts, c, "mia@example.com", pw1)
			wantStatus(t, resp, body, http.StatusForbidden)
			resp, body = get(t, c, ts.url+"/account")
			wantRedirect(t, resp, body, "/login")
		})
	}
}
