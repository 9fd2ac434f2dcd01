package main

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/middleware"
)

// maxBody bounds every request body (the /auth handlers apply their own,
// smaller limit of 64 KiB).
const maxBody = 1 << 20

// nativePrefix is where the /auth endpoints are served a second time for
// native clients (mobile apps, CLIs, other services): tokens in the JSON
// bodies, the access token sent back as a bearer token, no cookies.
const nativePrefix = "/api/v1/auth"

// routes mounts everything on one ServeMux:
//
//	/auth/...                    the root package's JSON login API (browsers: token cookies)
//	/api/v1/auth/...             the same endpoints for native clients (tokens in the body)
//	GET /auth/oauth/oidc/start   sign in with OIDC (when configured)
//	GET /auth/oauth/oidc/callback
//	GET /api/me                  any signed-in user
//	GET /api/admin/stats         permission admin:stats
//	GET /.well-known/jwks.json   public signing keys
//	POST /auth/signout           the browser UI's sign-out (session and API tokens)
//	/                            the browser UI
func (a *App) routes(authHandler http.Handler) (http.Handler, error) {
	mux := http.NewServeMux()
	if authHandler != nil {
		mux.Handle("/auth/", authHandler)
		mux.Handle(nativePrefix+"/", a.auth.Handler(authkit.WithPrefix(nativePrefix), authkit.WithDelivery(authkit.DeliverBody)))
	}
	if a.oidc != nil {
		oidc := middleware.SecureHeaders(a.sessions.LoadAndSave(a.oidc))
		mux.Handle("GET /auth/oauth/oidc/start", oidc)
		mux.Handle("GET /auth/oauth/oidc/callback", oidc)
	}
	api, err := a.apiRoutes()
	if err != nil {
		return nil, err
	}
	mux.Handle("/api/", api)
	mux.Handle("GET /.well-known/jwks.json", a.keys.JWKSHandler())
	ui, err := a.newUI()
	if err != nil {
		return nil, err
	}
	mux.Handle("/", ui)
	// The UI's sign-out sits under /auth so the refresh cookie comes along.
	mux.Handle("POST "+signOutPath, ui)

	var h http.Handler = mux
	h = http.MaxBytesHandler(h, maxBody)
	if a.tls {
		h = hsts(h)
	}
	return h, nil
}

// hsts adds Strict-Transport-Security (RFC 6797) to every response served
// over TLS. net/http.CrossOriginProtection's Origin check fails open from
// http:// to https:// origins, which HSTS closes.
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		next.ServeHTTP(w, r)
	})
}

// writeJSON writes v as a JSON response, with the Content-Type of every
// JSON answer of the server (errors included).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// userJSON is the public view of an account in API responses.
type userJSON struct {
	ID    string   `json:"id"`
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

// statsJSON is the body of GET /api/admin/stats.
type statsJSON struct {
	Users         int       `json:"users"`
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds int64     `json:"uptime_seconds"`
	Store         string    `json:"store"`
	UsersStore    string    `json:"users_store"`
	SigningKeyID  string    `json:"signing_key_id"`
}

func (a *App) stats(r *http.Request) (statsJSON, error) {
	n, err := a.accounts.CountUsers(r.Context())
	if err != nil {
		return statsJSON{}, err
	}
	return statsJSON{
		Users: n, StartedAt: a.started.UTC(), UptimeSeconds: int64(a.now().Sub(a.started) / time.Second),
		Store: a.st.desc, UsersStore: a.usersDesc, SigningKeyID: a.KeyID(),
	}, nil
}
