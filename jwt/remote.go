package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authkit-go/authkit/internal/safehttp"
	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// RemoteKeySetConfig configures a [RemoteKeySet].
type RemoteKeySetConfig struct {
	// URL of the issuer's JWKS. https is required except for loopback hosts.
	URL string
	// HTTPClient fetches the JWKS; nil means a client with a 30 s timeout.
	// Whichever client is used, a redirect to another host (host and port)
	// or from https to http is refused: the keys must come from the URL's
	// own host. The caller's client is not modified.
	HTTPClient *http.Client
	// MinRefreshInterval bounds how often an unknown kid may force a refetch
	// (and the shortest periodic refresh); zero means 1 minute.
	MinRefreshInterval time.Duration
	// MaxRefreshInterval is the longest periodic refresh interval (the
	// server's Cache-Control is honoured between the two); zero means 1 hour.
	MaxRefreshInterval time.Duration
	// Now is used for the unknown-kid rate limit; nil means time.Now.
	Now func() time.Time
}

// RemoteKeySet is a [KeyProvider] backed by an issuer's JWKS URL, cached with
// jwx's jwk.Cache. Resource servers use it to verify the issuer's tokens, and
// the oauth package to verify ID tokens with [VerifySignature].
//
// NewRemoteKeySet performs no I/O and starts nothing; [RemoteKeySet.Start]
// fetches the set and starts jwx's refresh workers, [RemoteKeySet.Close] stops
// them. Keys are looked up by kid only; header parameters never cause a
// fetch (RFC 8725 §3.10). An unknown kid triggers at most one refetch per
// MinRefreshInterval. When a refetch fails the last good set keeps serving.
// JWKS keys without "alg" are bound by type: EC P-256 → ES256, Ed25519 →
// EdDSA, RSA → RS256. Keys with "use" other than "sig" are ignored.
type RemoteKeySet struct {
	url      string
	hc       *http.Client
	minI     time.Duration
	maxI     time.Duration
	mu       sync.Mutex // guards cache, res, lastForce, rebuild
	cache    *jwk.Cache
	res      atomic.Pointer[httprc.ResourceBase[jwk.Set]]
	state    atomic.Pointer[remoteState]
	lastForc time.Time
	now      func() time.Time
}

type remoteState struct {
	src   jwk.Set
	byKID map[string]*Key
	only  *Key
}

// NewRemoteKeySet validates cfg; it does not fetch anything.
func NewRemoteKeySet(cfg RemoteKeySetConfig) (_ *RemoteKeySet, err error) {
	defer wrapInvalidConfig(&err)
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("jwt: invalid JWKS URL %q", cfg.URL)
	}
	if u.Scheme != "https" {
		host := u.Hostname()
		ip := net.ParseIP(host)
		if u.Scheme != "http" || !(host == "localhost" || (ip != nil && ip.IsLoopback())) {
			return nil, fmt.Errorf("jwt: JWKS URL must be https (http only for loopback): %q", cfg.URL)
		}
	}
	if cfg.MinRefreshInterval < 0 || cfg.MaxRefreshInterval < 0 {
		return nil, errors.New("jwt: negative refresh interval")
	}
	if cfg.MinRefreshInterval == 0 {
		cfg.MinRefreshInterval = time.Minute
	}
	if cfg.MaxRefreshInterval == 0 {
		cfg.MaxRefreshInterval = time.Hour
	}
	if cfg.MaxRefreshInterval < cfg.MinRefreshInterval {
		cfg.MaxRefreshInterval = cfg.MinRefreshInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RemoteKeySet{url: cfg.URL, hc: cfg.HTTPClient, minI: cfg.MinRefreshInterval, maxI: cfg.MaxRefreshInterval, now: cfg.Now}, nil
}

// Start fetches the JWKS (returning an error if the first fetch fails) and
// starts jwx's refresh workers, which run until ctx is cancelled or Close is
// called. Calling Start twice is an error.
func (r *RemoteKeySet) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cache != nil {
		return errors.New("jwt: RemoteKeySet already started")
	}
	want := r.url
	client := httprc.NewClient(httprc.WithWhitelist(httprc.WhitelistFunc(func(u string) bool { return u == want })))
	cache, err := jwk.NewCache(ctx, client)
	if err != nil {
		return fmt.Errorf("jwt: start JWKS cache: %w", err)
	}
	// Register without waiting (jwx would wait for a first successful fetch
	// until ctx ends), then fetch once synchronously so Start reports an
	// unreachable issuer promptly.
	opts := []jwk.RegisterOption{jwk.WithMinInterval(r.minI), jwk.WithMaxInterval(r.maxI), jwk.WithWaitReady(false),
		jwk.WithHTTPClient(safehttp.SameHostRedirects(r.hc, 30*time.Second))}
	if err := cache.Register(ctx, r.url, opts...); err != nil {
		_ = cache.Shutdown(context.Background())
		return fmt.Errorf("jwt: register JWKS: %w", err)
	}
	res, err := cache.LookupResource(ctx, r.url)
	if err == nil && res.Resource() == nil {
		_, err = cache.Refresh(ctx, r.url)
	}
	if err != nil {
		_ = cache.Shutdown(context.Background())
		return fmt.Errorf("jwt: fetch JWKS: %w", err)
	}
	r.cache = cache
	r.res.Store(res)
	r.lastForc = r.now()
	return nil
}

// Close stops the refresh workers. Verification fails afterwards.
func (r *RemoteKeySet) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cache == nil {
		return nil
	}
	r.res.Store(nil)
	c := r.cache
	r.cache = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Shutdown(ctx)
}

// VerifySignature is [VerifySignature] with this key set.
func (r *RemoteKeySet) VerifySignature(ctx context.Context, token string, algs []Algorithm) (Verified, error) {
	return VerifySignature(ctx, r, token, algs)
}

func (r *RemoteKeySet) defaultAlgs() []Algorithm { return []Algorithm{ES256, EdDSA, RS256, PS256} }

func (r *RemoteKeySet) current() *remoteState {
	res := r.res.Load()
	if res == nil {
		return nil
	}
	set := res.Resource()
	st := r.state.Load()
	if st != nil && st.src == set {
		return st
	}
	if set == nil {
		return st
	}
	st = convertSet(set)
	r.state.Store(st)
	return st
}

func (r *RemoteKeySet) lookupKey(ctx context.Context, kid []byte, hasKID bool) (*Key, error) {
	st := r.current()
	if st == nil {
		return nil, errNotStarted
	}
	if k := st.find(kid, hasKID); k != nil {
		return k, nil
	}
	// Unknown kid: refetch at most once per MinRefreshInterval.
	r.mu.Lock()
	cache := r.cache
	if cache == nil || r.now().Sub(r.lastForc) < r.minI {
		r.mu.Unlock()
		return nil, errUnknownKey
	}
	r.lastForc = r.now()
	r.mu.Unlock()
	if _, err := cache.Refresh(ctx, r.url); err != nil {
		return nil, errUnknownKey // last good set stays in place
	}
	if st = r.current(); st != nil {
		if k := st.find(kid, hasKID); k != nil {
			return k, nil
		}
	}
	return nil, errUnknownKey
}

func (st *remoteState) find(kid []byte, hasKID bool) *Key {
	if !hasKID {
		return st.only
	}
	return st.byKID[string(kid)]
}

func convertSet(set jwk.Set) *remoteState {
	st := &remoteState{src: set, byKID: map[string]*Key{}}
	n := 0
	for i := 0; i < set.Len(); i++ {
		jk, ok := set.Key(i)
		if !ok {
			continue
		}
		if use, ok := jk.KeyUsage(); ok && use != "sig" {
			continue
		}
		var raw any
		if err := jwk.Export(jk, &raw); err != nil {
			continue
		}
		switch p := raw.(type) {
		case *ecdsa.PrivateKey:
			raw = &p.PublicKey
		case ed25519.PrivateKey:
			raw = p.Public()
		case *rsa.PrivateKey:
			raw = &p.PublicKey
		}
		var alg Algorithm
		if a, ok := jk.Algorithm(); ok {
			alg = Algorithm(a.String())
		} else {
			switch raw.(type) {
			case *ecdsa.PublicKey:
				alg = ES256
			case ed25519.PublicKey:
				alg = EdDSA
			case *rsa.PublicKey:
				alg = RS256
			}
		}
		kid, _ := jk.KeyID()
		k, err := NewPublicKey(kid, alg, raw)
		if err != nil {
			continue // unsupported or weak keys are ignored
		}
		if !hasKIDMember(jk) {
			k.kid = "" // only usable for kid-less tokens via st.only
		}
		if _, dup := st.byKID[k.kid]; dup {
			continue
		}
		st.byKID[k.kid] = k
		st.only = k
		n++
	}
	if n != 1 {
		st.only = nil
	}
	return st
}

func hasKIDMember(jk jwk.Key) bool {
	_, ok := jk.KeyID()
	return ok
}
