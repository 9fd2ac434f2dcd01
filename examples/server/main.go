// Command server is authkit's runnable example: a JSON API at /auth and /api,
// a browser UI at / and the public signing keys at /.well-known/jwks.json.
//
//	go run ./examples/server
//
// With no flags it keeps everything in memory (a warning says so) and listens
// on http://127.0.0.1:8080. See examples/README.md for the HTTP
// contract and a walk-through.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// parseFlags turns the command line into Options.
func parseFlags(args []string, stderr io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	fs.StringVar(&o.Store, "store", "memory", "sessions, tokens and counters: memory, sqlite:PATH, postgres:DSN or redis:URL")
	fs.StringVar(&o.Users, "users", "", "user table: sqlite:PATH or postgres:DSN (default: memory with -store memory, else sqlite:authkit-users.db)")
	fs.StringVar(&o.AdminEmail, "admin-email", "", "the account signing up with this email gets the admin role")
	fs.StringVar(&o.ImportFile, "import", "", "JSON lines file of users {\"email\",\"password_hash\",\"roles\"} (argon2id or bcrypt hashes) to load at start")
	fs.BoolVar(&o.HIBP, "hibp", false, "check new passwords against Have I Been Pwned (k-anonymity range API; needs network)")
	fs.StringVar(&o.OIDCIssuer, "oidc-issuer", "", "OpenID provider issuer URL for \"sign in with OIDC\"")
	fs.StringVar(&o.OIDCClientID, "oidc-client-id", "", "client id registered at the OpenID provider")
	fs.StringVar(&o.OIDCClientSecret, "oidc-client-secret", "", "client secret registered at the OpenID provider")
	fs.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate file (PEM); with -tls-key serves HTTPS with HSTS")
	fs.StringVar(&o.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&o.RPID, "rp-id", "localhost", "WebAuthn relying party id for passkeys: a domain, never an IP address (open the UI by this name)")
	fs.Func("origin", "origin the UI's passkey ceremonies run from, repeatable (default: scheme://RP-ID:PORT of -addr, e.g. http://localhost:8080)", func(v string) error {
		o.Origins = append(o.Origins, v)
		return nil
	})
	fs.StringVar(&o.KeyDir, "key-dir", "", "directory for the signing keys and server secrets (default: none in memory mode, else ./authkit-keys)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return o, errors.New("-tls-cert and -tls-key go together")
	}
	if o.OIDCIssuer != "" && (o.OIDCClientID == "" || o.OIDCClientSecret == "") {
		return o, errors.New("-oidc-issuer needs -oidc-client-id and -oidc-client-secret")
	}
	return o, nil
}

// run starts the server and blocks until ctx ends or SIGINT/SIGTERM arrives,
// then shuts down gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if opts.TLSCert != "" {
		scheme = "https"
	}
	opts.BaseURL = scheme + "://" + ln.Addr().String()

	app, err := NewApp(ctx, opts)
	if err != nil {
		ln.Close()
		return err
	}
	defer app.Close()

	srv := NewHTTPServer(app.Handler())
	fmt.Fprintf(stdout, "authkit example server listening on %s\n", opts.BaseURL)
	fmt.Fprintf(stdout, "signing key: kid=%s alg=%s\n", app.KeyID(), app.KeyAlg())
	fmt.Fprintf(stdout, "stores: %s; users: %s\n", app.StoreDesc(), app.UsersDesc())
	fmt.Fprintf(stdout, "passkeys: rp id %s, origins %s (open the UI at that origin; WebAuthn refuses IP addresses)\n", app.rpID, strings.Join(app.PasskeyOrigins(), " "))
	if app.InMemory() {
		fmt.Fprintln(stdout, "WARNING: in-memory mode: every account, session and key is lost when the server exits (use -store and -users to keep them)")
	}

	errc := make(chan error, 1)
	go func() {
		if opts.TLSCert != "" {
			errc <- srv.ServeTLS(ln, opts.TLSCert, opts.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// NewHTTPServer wraps h in an http.Server with timeouts that bound slow
// clients (Slowloris) and a header size limit; request bodies are limited per
// route (see maxBody).
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}
