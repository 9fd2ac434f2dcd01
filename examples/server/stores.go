package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/memstore"
)

// stores are the backends of sessions, tokens and counters selected by -store.
type stores struct {
	desc      string
	memory    bool
	sessions  session.Store
	refresh   jwt.RefreshStore
	notBefore jwt.NotBeforeStore
	mfa       mfa.Store
	replay    mfa.ReplayStore
	tickets   authkit.TicketStore
	passkeys  passkey.CredentialStore
	attempts  authkit.AttemptStore
	close     func() error
}

// splitSpec splits "kind:rest" flags such as "sqlite:/tmp/a.db" or
// "postgres:postgres://host/db". A bare URL ("postgres://…", "redis://…")
// names its own kind.
func splitSpec(spec string) (kind, rest string) {
	for _, p := range []struct{ prefix, kind string }{
		{"postgres://", "postgres"}, {"postgresql://", "postgres"}, {"redis://", "redis"}, {"rediss://", "redis"},
	} {
		if strings.HasPrefix(spec, p.prefix) {
			return p.kind, spec
		}
	}
	kind, rest, _ = strings.Cut(spec, ":")
	return kind, rest
}

// defaultPurgeInterval is how often memory mode drops expired records.
const defaultPurgeInterval = time.Minute

// openStores opens the -store backend. In memory mode a goroutine purges
// expired sessions, refresh tokens, tickets and counters every
// purgeEvery (zero means a minute) until the stores are closed, so traffic
// that is never signed in again does not grow memory without bound.
func openStores(ctx context.Context, spec, redisPrefix string, purgeEvery time.Duration, now func() time.Time, log *slog.Logger) (*stores, error) {
	kind, rest := splitSpec(spec)
	switch kind {
	case "", "memory":
		if purgeEvery <= 0 {
			purgeEvery = defaultPurgeInterval
		}
		st, err := memstore.New(memstore.Config{Now: now})
		if err != nil {
			return nil, err
		}
		// The sweeper outlives NewApp's ctx: it runs until close.
		purgeCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = memstore.PurgeEvery(purgeCtx, purgeEvery, func() { st.Purge() })
		}()
		return &stores{
			desc:      "memory",
			memory:    true,
			sessions:  st.Sessions(),
			refresh:   st.RefreshTokens(),
			notBefore: st.NotBefore(),
			mfa:       st.MFA(),
			replay:    st.TOTPReplay(),
			tickets:   st.Tickets(),
			passkeys:  st.Passkeys(),
			attempts:  st.Attempts(),
			close: func() error {
				cancel()
				<-done
				return nil
			},
		}, nil
	case "sqlite", "postgres", "redis":
		if rest == "" {
			return nil, fmt.Errorf("-store %s: missing %s", kind, map[string]string{"sqlite": "PATH", "postgres": "DSN", "redis": "URL"}[kind])
		}
		return openPersistentStores(ctx, kind, rest, redisPrefix, now, log)
	default:
		return nil, fmt.Errorf("-store %q: want memory, sqlite:PATH, postgres:DSN or redis:URL", spec)
	}
}

// openAccounts opens the -users backend. The default is memory when the
// stores are in memory and sqlite:authkit-users.db otherwise.
func openAccounts(ctx context.Context, spec string, memory bool) (accountStore, string, error) {
	if spec == "" {
		if memory {
			a, err := newMemAccounts()
			return a, "memory", err
		}
		spec = "sqlite:authkit-users.db"
	}
	kind, rest := splitSpec(spec)
	switch kind {
	case "memory":
		a, err := newMemAccounts()
		return a, "memory", err
	case "sqlite", "postgres":
		if rest == "" {
			return nil, "", fmt.Errorf("-users %s: missing %s", kind, map[string]string{"sqlite": "PATH", "postgres": "DSN"}[kind])
		}
		st, err := openSQLAccounts(ctx, kind, rest)
		if err != nil {
			return nil, "", err
		}
		return st, kind, nil
	default:
		return nil, "", fmt.Errorf("-users %q: want sqlite:PATH or postgres:DSN", spec)
	}
}
