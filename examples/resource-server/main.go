// Command resource-server is a separate API that trusts the example server's
// access tokens only through the server's published keys: it fetches
// /.well-known/jwks.json with jwt.RemoteKeySet (cached, refreshed on an
// unknown kid at most once a minute) and never shares a secret with the
// issuer. It has one route for any signed-in user, one that needs a
// permission, and two step-up routes (RFC 9470): /vault needs a sign-in with
// a second factor (acr_values), /reports/export one from the last five
// minutes (max_age).
//
//	go run ./examples/server &
//	go run ./examples/resource-server -issuer http://127.0.0.1:8080
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/reports
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/rbac"
)

// Config configures the resource server.
type Config struct {
	// Issuer is the example server's origin: the tokens' "iss".
	Issuer string
	// JWKSURL defaults to Issuer + "/.well-known/jwks.json".
	JWKSURL string
	// Audience the tokens must carry.
	Audience string
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "resource-server:", err)
		os.Exit(1)
	}
}

// run starts the resource server and blocks until ctx ends or SIGINT/SIGTERM
// arrives, then shuts down gracefully. Start-up failures are returned.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("resource-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address (port 0 picks a free one)")
	fs.StringVar(&cfg.Issuer, "issuer", "http://127.0.0.1:8080", "the authkit example server (token issuer)")
	fs.StringVar(&cfg.JWKSURL, "jwks", "", "JWKS URL (default ISSUER/.well-known/jwks.json)")
	fs.StringVar(&cfg.Audience, "audience", "authkit-example", "required token audience")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg = cfg.withDefaults()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, closeFn, err := NewHandler(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "resource server on http://%s trusting %s (issuer %s, audience %s)\n", ln.Addr(), cfg.JWKSURL, cfg.Issuer, cfg.Audience)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// withDefaults fills JWKSURL from Issuer.
func (c Config) withDefaults() Config {
	if c.JWKSURL == "" {
		c.JWKSURL = strings.TrimSuffix(c.Issuer, "/") + "/.well-known/jwks.json"
	}
	return c
}

// policy is this API's own authorization policy over the roles the issuer
// puts in its tokens: viewers read their profile, admins also read reports.
func policy() (*rbac.Authorizer, error) {
	p, err := rbac.New(rbac.Config{Roles: []rbac.Role{
		{Name: "viewer", Permissions: []string{"profile:read"}},
		{Name: "admin", Inherits: []string{"viewer"}, Permissions: []string{"reports:read"}},
	}})
	if err != nil {
		return nil, err
	}
	return rbac.NewAuthorizer(p)
}

// NewHandler fetches the issuer's JWKS (failing if it cannot) and returns
// the API. closeFn stops the key refresher.
func NewHandler(ctx context.Context, cfg Config) (h http.Handler, closeFn func(), err error) {
	cfg = cfg.withDefaults()
	keys, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: cfg.JWKSURL})
	if err != nil {
		return nil, nil, err
	}
	if err := keys.Start(ctx); err != nil {
		return nil, nil, fmt.Errorf("fetching %s: %w", cfg.JWKSURL, err)
	}
	verifier, err := jwt.NewVerifier(jwt.VerifierConfig{
		Keys: keys, Issuer: cfg.Issuer, Audience: []string{cfg.Audience}, Leeway: 30 * time.Second,
	})
	if err != nil {
		keys.Close()
		return nil, nil, err
	}
	authz, err := policy()
	if err != nil {
		keys.Close()
		return nil, nil, err
	}
	h, err = routes(verifier, authz)
	if err != nil {
		keys.Close()
		return nil, nil, err
	}
	return h, func() { keys.Close() }, nil
}
