package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/memstore"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// peerUser is how a host using go-webauthn directly presents a stored
// credential to it.
type peerUser struct{ c passkey.Credential }

func (u peerUser) WebAuthnID() []byte          { return u.c.UserHandle }
func (u peerUser) WebAuthnName() string        { return u.c.UserID }
func (u peerUser) WebAuthnDisplayName() string { return u.c.UserID }
func (u peerUser) WebAuthnCredentials() []webauthn.Credential {
	return []webauthn.Credential{{
		ID: u.c.ID, PublicKey: u.c.PublicKey, AttestationFormat: u.c.AttestationFormat,
		Flags: webauthn.CredentialFlags{
			UserPresent: true, UserVerified: u.c.UserVerified,
			BackupEligible: u.c.BackupEligible, BackupState: u.c.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: u.c.AAGUID, SignCount: u.c.SignCount},
	}}
}

const pkOrigin, pkBinding = "https://login.example.com", "browser-session"

// pkRig holds the three finishes compared: authkit's, go-webauthn used
// directly, and the raw signature check. Each of the first two has its
// own user and authenticator, so their sign counters never interleave.
type pkRig struct {
	ctx   context.Context
	now   func() time.Time
	creds *memstore.Passkeys
	p     *passkey.Passkeys
	wa    *webauthn.WebAuthn
	// authkit's and the peer's authenticators, and the credential id of
	// each.
	authA, authP *passkeytest.Authenticator
	idA, idP     []byte
}

func newPKRig(b *testing.B) *pkRig {
	r := &pkRig{ctx: context.Background(), now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }}
	st, err := memstore.New(memstore.Config{Now: r.now})
	if err != nil {
		b.Fatal(err)
	}
	r.creds = st.Passkeys()
	if r.p, err = passkey.New(passkey.Config{
		RPID: "login.example.com", RPDisplayName: "Example", Origins: []string{pkOrigin},
		Credentials: r.creds, Tickets: st.Tickets(), Now: r.now,
	}); err != nil {
		b.Fatal(err)
	}
	requireRK := true
	if r.wa, err = webauthn.New(&webauthn.Config{
		RPID: "login.example.com", RPDisplayName: "Example", RPOrigins: []string{pkOrigin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: &requireRK,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		},
	}); err != nil {
		b.Fatal(err)
	}
	register := func(user string) (*passkeytest.Authenticator, []byte) {
		auth := passkeytest.New(pkOrigin)
		opts, err := r.p.BeginRegistration(r.ctx, pkBinding, passkey.User{ID: user, Name: user + "@example.com"})
		if err != nil {
			b.Fatal(err)
		}
		resp, id, err := auth.Create(opts.JSON)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.p.FinishRegistration(r.ctx, pkBinding, user, "Laptop", resp); err != nil {
			b.Fatal(err)
		}
		return auth, id
	}
	r.authA, r.idA = register("alice")
	r.authP, r.idP = register("bob")
	return r
}

// authkitAssertion begins an authkit sign-in and signs it.
func (r *pkRig) authkitAssertion(b *testing.B) []byte {
	o, err := r.p.BeginLogin(r.ctx, pkBinding, false)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := r.authA.Get(o.JSON)
	if err != nil {
		b.Fatal(err)
	}
	return resp
}

func (r *pkRig) authkitFinish(b *testing.B, resp []byte) {
	if _, err := r.p.FinishLogin(r.ctx, pkBinding, resp); err != nil {
		b.Fatal(err)
	}
}

// peerAssertion begins a go-webauthn sign-in and signs it; the session
// data is kept as a Go value, as if in the caller's session.
func (r *pkRig) peerAssertion(b *testing.B) ([]byte, *webauthn.SessionData) {
	a, s, err := r.wa.BeginDiscoverableLogin()
	if err != nil {
		b.Fatal(err)
	}
	o, err := json.Marshal(a)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := r.authP.Get(o)
	if err != nil {
		b.Fatal(err)
	}
	return resp, s
}

// peerFinish is go-webauthn's README sign-in finish: parse, validate with
// a handler that reads the credential from the store, then one write of
// the new counter.
func (r *pkRig) peerFinish(b *testing.B, resp []byte, s *webauthn.SessionData) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		b.Fatal(err)
	}
	var stored passkey.Credential
	handler := func(rawID, _ []byte) (webauthn.User, error) {
		c, found, err := r.creds.Get(r.ctx, rawID)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, errors.New("unknown credential")
		}
		stored = c
		return peerUser{c}, nil
	}
	c, err := r.wa.ValidateDiscoverableLogin(handler, *s, parsed)
	if err != nil {
		b.Fatal(err)
	}
	if c.Authenticator.CloneWarning {
		b.Fatal("clone warning")
	}
	ok, err := r.creds.UpdateUse(r.ctx, c.ID, stored.SignCount, passkey.Use{
		SignCount: c.Authenticator.SignCount, LastUsedAt: r.now(), UserVerified: c.Flags.UserVerified,
		BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState,
	})
	if err != nil || !ok {
		b.Fatal("counter not written", err)
	}
}

// rawCheck returns the floor: one credential read from the store and
// ecdsa.VerifyASN1 of one authkit assertion.
func (r *pkRig) rawCheck(b *testing.B) func() {
	var a struct {
		Response struct {
			ClientDataJSON    string `json:"clientDataJSON"`
			AuthenticatorData string `json:"authenticatorData"`
			Signature         string `json:"signature"`
		} `json:"response"`
	}
	if err := json.Unmarshal(r.authkitAssertion(b), &a); err != nil {
		b.Fatal(err)
	}
	dec := func(s string) []byte {
		v, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	cd, ad, sig := dec(a.Response.ClientDataJSON), dec(a.Response.AuthenticatorData), dec(a.Response.Signature)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(ad, cdHash[:]...))
	pub := r.authA.PublicKey(r.idA)
	return func() {
		if _, found, err := r.creds.Get(r.ctx, r.idA); err != nil || !found {
			b.Fatal("credential not found", err)
		}
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkPasskeyFinish compares a discoverable passkey sign-in finish
// (impl=authkit, passkey.FinishLogin: parse, take the challenge, get the
// credential, go-webauthn's ES256 check, counter compare-and-set, memstore
// for both stores) with its floor, impl=raw (ecdsa.VerifyASN1 of the same
// kind of assertion plus one credential read from the same store), and
// with its peer, impl=gowebauthn: go-webauthn used directly the way its
// README shows (ParseCredentialRequestResponseBytes, then
// ValidateDiscoverableLogin with a handler that reads the credential from
// the same store, then one write of the new counter), the ceremony's
// SessionData kept as a Go value as if in the caller's session. Assertions
// are signed before the timer starts.
func BenchmarkPasskeyFinish(b *testing.B) {
	r := newPKRig(b)
	b.Run("impl=authkit", func(b *testing.B) {
		resps := make([][]byte, b.N)
		for i := range resps {
			resps[i] = r.authkitAssertion(b)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			r.authkitFinish(b, resps[i])
		}
	})
	b.Run("impl=gowebauthn", func(b *testing.B) {
		resps := make([][]byte, b.N)
		sessions := make([]*webauthn.SessionData, b.N)
		for i := range resps {
			resps[i], sessions[i] = r.peerAssertion(b)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			r.peerFinish(b, resps[i], sessions[i])
		}
	})
	b.Run("impl=raw", func(b *testing.B) {
		raw := r.rawCheck(b)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			raw()
		}
	})
}

// BenchmarkPasskeyFinishPaired times the three finishes of
// BenchmarkPasskeyFinish one after another in every iteration, in a
// rotating order, and reports the median of each and their ratios: on a
// shared machine the speed drifts by more than the differences between
// separate sub-benchmarks.
func BenchmarkPasskeyFinishPaired(b *testing.B) {
	r := newPKRig(b)
	raw := r.rawCheck(b)
	resA := make([][]byte, b.N)
	resP := make([][]byte, b.N)
	sessions := make([]*webauthn.SessionData, b.N)
	for i := range b.N {
		resA[i] = r.authkitAssertion(b)
		resP[i], sessions[i] = r.peerAssertion(b)
	}
	times := [3][]time.Duration{make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)}
	b.ResetTimer()
	for i := range b.N {
		for k := range 3 {
			impl := (i + k) % 3
			s := time.Now()
			switch impl {
			case 0:
				r.authkitFinish(b, resA[i])
			case 1:
				r.peerFinish(b, resP[i], sessions[i])
			default:
				raw()
			}
			times[impl] = append(times[impl], time.Since(s))
		}
	}
	b.StopTimer()
	a, p, w := float64(medianDuration(times[0])), float64(medianDuration(times[1])), float64(medianDuration(times[2]))
	b.ReportMetric(a, "authkit-ns/op")
	b.ReportMetric(p, "gowebauthn-ns/op")
	b.ReportMetric(w, "raw-ns/op")
	b.ReportMetric(a/w, "authkit/raw")
	b.ReportMetric(p/w, "gowebauthn/raw")
	b.ReportMetric(a/p, "authkit/gowebauthn")
}
