package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwt"
)

// newKeySetVerifier returns the id_token signature verifier for p: the jwt
// package's remote JWKS verifier over p.JWKSURL (jwx cache, refresh on an
// unknown kid, rate-limited). oauth fetches and caches no keys itself.
//
// An id_token signed with a kid the cached set lacks (the provider rotated
// its keys) makes the set refetch, at most once a minute.
func newKeySetVerifier(p *Provider, client *http.Client, now func() time.Time) (jwsVerifier, error) {
	rks, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: p.JWKSURL, HTTPClient: client, Now: now})
	if err != nil {
		return nil, fmt.Errorf("%w: provider %q: JWKSURL: %w", ErrInvalidConfig, p.Name, err)
	}
	return remoteVerifier{rks: rks}, nil
}

type remoteVerifier struct{ rks *jwt.RemoteKeySet }

func (r remoteVerifier) Start(ctx context.Context) error { return r.rks.Start(ctx) }
func (r remoteVerifier) Close() error                    { return r.rks.Close() }

func (r remoteVerifier) Verify(ctx context.Context, compact []byte, algs []string) ([]byte, error) {
	ja := make([]jwt.Algorithm, len(algs))
	for i, a := range algs {
		ja[i] = jwt.Algorithm(a)
	}
	v, err := r.rks.VerifySignature(ctx, string(compact), ja)
	if err != nil {
		return nil, err
	}
	// OIDC id_tokens are typ "JWT" or untyped; anything else (at+jwt,
	// refresh+jwt…) is another kind of token substituted for an id_token
	// (RFC 8725 §3.11).
	if v.HasType && !strings.EqualFold(v.Type, "JWT") {
		return nil, errWrongTyp
	}
	return v.Payload, nil
}

var errWrongTyp = errors.New(`typ is neither "JWT" nor absent`)
