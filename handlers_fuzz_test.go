package authkit_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/password"
)

// FuzzJSONBody sends arbitrary bodies to the JSON endpoints: the handler
// never panics or answers 5xx, and a body that is not one JSON object is
// 400 invalid_request (or 413 when too large).
func FuzzJSONBody(f *testing.F) {
	for _, s := range []string{`{"email":"a@b.c"}`, `null`, `[]`, `{}{}`, `{"email":1}`, ` {"token":"x"} `, "\xff", `{"a":`, `{"refresh_token":"akrt_x"}`} {
		f.Add([]byte(s), uint8(0))
	}
	key, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		f.Fatal(err)
	}
	keys, _ := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	hasher, _ := password.New(password.Config{Params: cheapParams, InsecureAllowWeakParams: true})
	st := memtest.New(f, nil)
	auth, err := authkit.New(authkit.Config{
		Users: st.Users(), Keys: keys, Hasher: hasher, TokenIssuer: "https://auth.test",
		RefreshStore: st.RefreshTokens(), NotBefore: st.NotBefore(),
		Attempts: st.Attempts(),
		Tickets:  st.Tickets(), Mailer: &mailbox{},
		Audit:        authkit.NewAuditor(authkit.AuditConfig{DisableLog: true}),
		MaxBodyBytes: 1024,
	})
	if err != nil {
		f.Fatal(err)
	}
	h := auth.Handler(authkit.WithDelivery(authkit.DeliverCookiesAndBody))
	paths := []string{"/auth/signup", "/auth/login", "/auth/password/forgot", "/auth/password/reset", "/auth/email/verify", "/auth/refresh", "/auth/logout"}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		path := paths[int(which)%len(paths)]
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		var v any
		isObject := json.Unmarshal(body, &v) == nil && func() bool { _, ok := v.(map[string]any); return ok }()
		if !isObject && len(body) > 0 && rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s %q: %d %s, want 400", path, body, rec.Code, rec.Body)
		}
	})
}
