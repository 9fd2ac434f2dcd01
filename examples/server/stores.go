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
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/memstore"
)

// stores are the backends of sessions, tokens and counters selected by -store.
type stores struct {
	desc       string
	memory     bool
	sessions   session.Store
	refresh    jwt.RefreshStore
	notBefore  jwt.NotBeforeStore
	mfa        mfa.Store
	replay     mfa.ReplayStore
	challenges mfa.ChallengeStore
	attempts   authkit.AttemptStore
	close      func() error
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

// openStores opens the -store backend.
func openStores(ctx context.Context, spec, redisPrefix string, now func() time.Time, log *slog.Logger) (*stores, error) {
	kind, rest := splitSpec(spec)
	switch kind {
	case "", "memory":
		return &stores{
			desc:       "memory",
			memory:     true,
			sessions:   memstore.NewSessions(now),
			refresh:    memstore.NewRefreshTokens(now),
			notBefore:  memstore.NewNotBefore(now),
			mfa:        memstore.NewMFA(),
			replay:     memstore.NewTOTPReplay(now),
			challenges: memstore.NewMFAChallenges(now),
			attempts:   memstore.NewAttempts(memstore.AttemptsConfig{Now: now}),
			close:      func() error { return nil },
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
			return newMemAccounts(), "memory", nil
		}
		spec = "sqlite:authkit-users.db"
	}
	kind, rest := splitSpec(spec)
	switch kind {
	case "memory":
		return newMemAccounts(), "memory", nil
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
