package session_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/memstore"
)

func ExampleNew() {
	_, err := session.New(session.Config{}) // Store is required
	fmt.Println(err)
	// Output: session: invalid config: Store is nil
}

func ExampleConfig() {
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{
		Store: st.Sessions(),
		// Zero fields are secure defaults: __Host-session cookie,
		// 30 min idle, 12 h absolute, JSON values.
	})
	fmt.Println(m != nil, err)
	// Output: true <nil>
}

func ExampleManager_LoadAndSave() {
	st, _ := memstore.New(memstore.Config{})
	m, _ := session.New(session.Config{Store: st.Sessions()})
	mux := http.NewServeMux()
	mux.HandleFunc("/visit", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		var n int
		s.Get("visits", &n)
		s.Put("visits", n+1)
		fmt.Fprintf(w, "visit %d", n+1)
	})
	h := m.LoadAndSave(mux)

	var cookie *http.Cookie
	for range 3 {
		r := httptest.NewRequest("GET", "/visit", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if cs := w.Result().Cookies(); len(cs) > 0 {
			cookie = cs[0]
		}
		fmt.Println(w.Body.String())
	}
	fmt.Println(cookie.Name, cookie.Secure, cookie.HttpOnly, cookie.SameSite == http.SameSiteLaxMode)
	// Output:
	// visit 1
	// visit 2
	// visit 3
	// __Host-session true true true
}

// Login renews the session id (fixation defence); Renew does it again on
// a privilege change.
func ExampleManager_Login() {
	st, _ := memstore.New(memstore.Config{})
	m, _ := session.New(session.Config{Store: st.Sessions()})
	var before, after string
	h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		s.Put("cart", []string{"book"})
		before = s.Token()
		// ... after checking the password:
		if err := m.Login(r.Context(), "user-42"); err != nil {
			http.Error(w, "error", http.StatusInternalServerError)
			return
		}
		after = s.Token()
		var cart []string
		s.Get("cart", &cart)
		fmt.Println(s.UserID(), cart, !s.AuthTime().IsZero())
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil))
	fmt.Println(before != after, len(after))
	// Output:
	// user-42 [book] true
	// true 66
}

// "Log out everywhere" ends every session of the user in O(their sessions).
func ExampleManager_RevokeUser() {
	st, _ := memstore.New(memstore.Config{})
	store := st.Sessions()
	m, _ := session.New(session.Config{Store: store})
	login := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Login(r.Context(), "user-42")
	}))
	for range 3 { // three devices
		login.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil))
	}
	ctx := context.Background()
	devices, _ := m.ListUser(ctx, "user-42")
	fmt.Println("devices:", len(devices))

	logoutAll := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.RevokeUser(r.Context(), "user-42"); err != nil {
			http.Error(w, "error", http.StatusInternalServerError)
		}
	}))
	w := httptest.NewRecorder()
	logoutAll.ServeHTTP(w, httptest.NewRequest("POST", "/logout-all", nil))
	devices, _ = m.ListUser(ctx, "user-42")
	fmt.Println("devices:", len(devices))
	// Output:
	// devices: 3
	// devices: 0
}

// Logout deletes the record at once and clears the cookie with Max-Age=0.
func ExampleManager_Logout() {
	st, _ := memstore.New(memstore.Config{})
	m, _ := session.New(session.Config{Store: st.Sessions()})
	h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			m.Login(r.Context(), "user-42")
		case "/logout":
			m.Logout(r.Context())
		}
		io.WriteString(w, "ok")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	r := httptest.NewRequest("POST", "/logout", nil)
	r.AddCookie(w.Result().Cookies()[0])
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	sc := w.Header().Get("Set-Cookie")
	fmt.Println(strings.HasPrefix(sc, "__Host-session=;"), strings.Contains(sc, "Max-Age=0"))
	// Output: true true
}

// ExampleManager_BeginMFAChallenge shows the primitives a password + MFA
// flow builds on when its first step returns only an opaque challenge
// (here "challenge-123", as the root package's LoginResult.MFAToken).
func ExampleManager_BeginMFAChallenge() {
	st, _ := memstore.New(memstore.Config{})
	m, _ := session.New(session.Config{Store: st.Sessions()})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// Password verified; the MFA step is pending for a user the
		// session does not name yet.
		if err := m.BeginMFAChallenge(r.Context(), "challenge-123"); err != nil {
			http.Error(w, "error", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /mfa", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		challenge := s.MFAChallenge()
		// The MFA flow verifies the code against challenge and returns
		// the user; here it is "alice".
		userID := map[string]string{"challenge-123": "alice"}[challenge]
		if err := m.CompleteMFAAs(r.Context(), userID); err != nil {
			http.Error(w, "error", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "signed in as %s", s.UserID())
	})
	h := m.LoadAndSave(mux)
	do := func(path, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "https://example.com"+path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	cookie := strings.Split(do("/login", "").Header().Get("Set-Cookie"), ";")[0]
	fmt.Println(do("/mfa", cookie).Body.String())
	// Output: signed in as alice
}
