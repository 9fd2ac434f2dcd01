package jwt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// KeySetConfig configures a [KeySet].
type KeySetConfig struct {
	// Keys are the initial keys. Verification-only keys (NewPublicKey) may be
	// included, e.g. a retired key of this issuer; every key except HS256
	// keys is published by JWKS and JWKSHandler.
	Keys []*Key
	// Active is the kid of the signing key; empty means the first key that
	// can sign. A KeySet without a signing key can only verify.
	Active string
	// InsecureAllowHS256 admits HS256 keys. A shared secret lets every
	// verifier mint tokens (RFC 8725 §3.5); prefer ES256 or EdDSA.
	InsecureAllowHS256 bool
	// JWKSMaxAge is the Cache-Control max-age of [KeySet.JWKSHandler];
	// zero means 5 minutes. Keep old keys published for at least this long
	// plus the access-token lifetime after rotating.
	JWKSMaxAge time.Duration
}

// KeySet holds signing and verification keys by kid, one algorithm per key.
// It is safe for concurrent use; Add, Remove, SetActive and Rotate publish a
// new immutable snapshot atomically, so verification never takes a lock.
type KeySet struct {
	mu     sync.Mutex // serializes writers
	state  atomic.Pointer[keyState]
	allow  bool
	maxAge time.Duration
}

type keyState struct {
	byKID  map[string]*Key
	order  []*Key
	active *Key
	jwks   []byte
}

// NewKeySet validates cfg and returns a KeySet.
func NewKeySet(cfg KeySetConfig) (_ *KeySet, err error) {
	defer wrapInvalidConfig(&err)
	if cfg.JWKSMaxAge < 0 {
		return nil, fmt.Errorf("jwt: negative JWKSMaxAge")
	}
	if cfg.JWKSMaxAge == 0 {
		cfg.JWKSMaxAge = 5 * time.Minute
	}
	s := &KeySet{allow: cfg.InsecureAllowHS256, maxAge: cfg.JWKSMaxAge}
	st := &keyState{byKID: map[string]*Key{}}
	for _, k := range cfg.Keys {
		if err := s.check(st, k); err != nil {
			return nil, err
		}
		st.byKID[k.kid] = k
		st.order = append(st.order, k)
	}
	if cfg.Active != "" {
		k, ok := st.byKID[cfg.Active]
		if !ok || !k.CanSign() {
			return nil, fmt.Errorf("%w: %q", ErrNoSigningKey, cfg.Active)
		}
		st.active = k
	} else {
		for _, k := range st.order {
			if k.CanSign() {
				st.active = k
				break
			}
		}
	}
	if err := st.build(); err != nil {
		return nil, err
	}
	s.state.Store(st)
	return s, nil
}

func (s *KeySet) check(st *keyState, k *Key) error {
	if k == nil {
		return fmt.Errorf("jwt: nil key")
	}
	if k.alg == HS256 && !s.allow {
		return ErrHS256NotAllowed
	}
	if _, dup := st.byKID[k.kid]; dup {
		return fmt.Errorf("jwt: duplicate kid %q", k.kid)
	}
	return nil
}

func (st *keyState) build() error {
	set := jwk.NewSet()
	for _, k := range st.order {
		if k.jwkPub == nil {
			continue // HS256: never published
		}
		if err := set.AddKey(k.jwkPub); err != nil {
			return fmt.Errorf("jwt: build JWKS: %w", err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("jwt: build JWKS: %w", err)
	}
	st.jwks = b
	return nil
}

func (s *KeySet) update(fn func(st *keyState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.state.Load()
	st := &keyState{byKID: make(map[string]*Key, len(old.byKID)+1), order: append([]*Key(nil), old.order...), active: old.active}
	for k, v := range old.byKID {
		st.byKID[k] = v
	}
	if err := fn(st); err != nil {
		return err
	}
	if err := st.build(); err != nil {
		return err
	}
	s.state.Store(st)
	return nil
}

// Add adds a key (it verifies at once; it signs only after SetActive).
func (s *KeySet) Add(k *Key) error {
	return s.update(func(st *keyState) error {
		if err := s.check(st, k); err != nil {
			return err
		}
		st.byKID[k.kid] = k
		st.order = append(st.order, k)
		return nil
	})
}

// SetActive makes the key with kid the signing key.
func (s *KeySet) SetActive(kid string) error {
	return s.update(func(st *keyState) error {
		k, ok := st.byKID[kid]
		if !ok || !k.CanSign() {
			return fmt.Errorf("%w: %q", ErrNoSigningKey, kid)
		}
		st.active = k
		return nil
	})
}

// Remove removes a key; tokens it signed stop verifying. The active key
// cannot be removed.
func (s *KeySet) Remove(kid string) error {
	return s.update(func(st *keyState) error {
		k, ok := st.byKID[kid]
		if !ok {
			return nil
		}
		if k == st.active {
			return fmt.Errorf("jwt: cannot remove the active key %q", kid)
		}
		delete(st.byKID, kid)
		for i, o := range st.order {
			if o == k {
				st.order = append(st.order[:i], st.order[i+1:]...)
				break
			}
		}
		return nil
	})
}

// Rotate generates a new key with the active key's algorithm (ES256 if there
// is none), adds it and makes it active. Old keys keep verifying (and stay in
// the JWKS) until removed with [KeySet.Remove].
func (s *KeySet) Rotate(random io.Reader) (*Key, error) {
	alg := ES256
	if a := s.state.Load().active; a != nil {
		alg = a.alg
	}
	k, err := GenerateKey(alg, random)
	if err != nil {
		return nil, err
	}
	err = s.update(func(st *keyState) error {
		if err := s.check(st, k); err != nil {
			return err
		}
		st.byKID[k.kid] = k
		st.order = append(st.order, k)
		st.active = k
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Active returns the signing key, or nil.
func (s *KeySet) Active() *Key { return s.state.Load().active }

// Key returns the key with the given kid.
func (s *KeySet) Key(kid string) (*Key, bool) {
	k, ok := s.state.Load().byKID[kid]
	return k, ok
}

// Keys returns all keys in insertion order.
func (s *KeySet) Keys() []*Key { return append([]*Key(nil), s.state.Load().order...) }

// JWKS returns the public JWK Set document (RFC 7517 §5): public keys only,
// never HS256 secrets or private members.
func (s *KeySet) JWKS() []byte { return append([]byte(nil), s.state.Load().jwks...) }

// JWKSHandler serves the public JWK Set (e.g. at /.well-known/jwks.json) with
// Content-Type application/jwk-set+json and Cache-Control public, max-age.
func (s *KeySet) JWKSHandler() http.Handler {
	cc := "public, max-age=" + strconv.Itoa(int(s.maxAge/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		b := s.state.Load().jwks
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", cc)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(b)
	})
}

// lookupKey implements KeyProvider.
func (s *KeySet) lookupKey(_ context.Context, kid []byte, hasKID bool) (*Key, error) {
	st := s.state.Load()
	if !hasKID {
		if len(st.order) == 1 {
			return st.order[0], nil
		}
		return nil, errUnknownKey
	}
	if k, ok := st.byKID[string(kid)]; ok {
		return k, nil
	}
	return nil, errUnknownKey
}

func (s *KeySet) defaultAlgs() []Algorithm {
	algs := []Algorithm{ES256, EdDSA, RS256, PS256}
	if s.allow {
		algs = append(algs, HS256)
	}
	return algs
}

// Sign signs payload with the active key and header typ (empty: none).
// It is the low-level signing call; access tokens use [Issuer].
func (s *KeySet) Sign(payload []byte, typ string) (string, error) {
	k := s.Active()
	if k == nil {
		return "", ErrNoSigningKey
	}
	return k.sign(payload, typ)
}

// signWith builds the compact JWS hdr "." b64(payload) "." b64(sig) in one
// buffer; hdr is the key's precomputed base64url protected header.
func signWith(k *Key, hdr string, payload []byte) (string, error) {
	buf := make([]byte, 0, len(hdr)+2+b64.EncodedLen(len(payload))+b64.EncodedLen(k.sigSize()))
	buf = append(buf, hdr...)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, payload)
	var sb [64]byte
	sig, err := k.rawSign(sb[:0], buf)
	if err != nil {
		return "", fmt.Errorf("jwt: sign: %w", err)
	}
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf), nil
}
