package passkeytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator is a software WebAuthn authenticator plus the part of the
// browser that writes client data: host applications drive their passkey
// flows with it in tests, without a browser. It creates ES256 (P-256)
// credentials with attestation "none" and signs assertions, and each
// exported field bends one thing a real client would do so a test can
// check that the server refuses it.
//
// Create and Get take the options JSON a server's Begin call produced
// ({"publicKey": {...}}) and return the PublicKeyCredential JSON a
// browser's toJSON() would send back. Fields may be changed between calls;
// an Authenticator is safe for concurrent use.
type Authenticator struct {
	// Origin is written into client data ("https://example.com").
	Origin string
	// RPID, when set, replaces the relying party id the options name:
	// the RP id hash in authenticator data is computed from it.
	RPID string
	// Type, when set, replaces the client data type ("webauthn.create" or
	// "webauthn.get").
	Type string
	// UserVerified sets the UV flag (New sets it true).
	UserVerified bool
	// OmitUserPresence clears the UP flag, as no real authenticator does
	// for a ceremony the user took part in.
	OmitUserPresence bool
	// BackupEligible and BackupState set the BE and BS flags: a synced
	// passkey has both.
	BackupEligible, BackupState bool
	// StaticCounter keeps sign counters where they are instead of adding one
	// per assertion; with a zero counter this is what synced passkeys do.
	StaticCounter bool
	// OmitUserHandle leaves userHandle out of assertions, as some phones
	// do in a hybrid (cross-device) sign-in.
	OmitUserHandle bool
	// Select, when set, is the credential id Get uses whatever the options
	// allow (a test of a credential presented for the wrong user).
	Select []byte

	mu    sync.Mutex
	creds []*softCred // creation order
}

type softCred struct {
	id         []byte
	key        *ecdsa.PrivateKey
	rpID       string
	userHandle []byte
	counter    uint32
}

// New returns an authenticator for origin that verifies the user.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, UserVerified: true}
}

type b64 []byte

func (b b64) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

func (b *b64) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	s = trimPad(s)
	v, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func trimPad(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

type descriptor struct {
	Type string `json:"type"`
	ID   b64    `json:"id"`
}

type creationOptions struct {
	PublicKey struct {
		RP struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID b64 `json:"id"`
		} `json:"user"`
		Challenge json.RawMessage `json:"challenge"`
		Exclude   []descriptor    `json:"excludeCredentials"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge json.RawMessage `json:"challenge"`
		RPID      string          `json:"rpId"`
		Allow     []descriptor    `json:"allowCredentials"`
	} `json:"publicKey"`
}

// Flag bits of authenticator data (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// ErrNoCredential is returned by Get when no stored credential fits the
// options (what a browser shows as "no passkeys for this site").
var ErrNoCredential = errors.New("passkeytest: no matching credential")

// ErrExcluded is returned by Create when the authenticator already holds
// a credential in excludeCredentials.
var ErrExcluded = errors.New("passkeytest: authenticator already registered")

func (a *Authenticator) flags() byte {
	f := byte(flagUP)
	if a.OmitUserPresence {
		f = 0
	}
	if a.UserVerified {
		f |= flagUV
	}
	if a.BackupEligible {
		f |= flagBE
	}
	if a.BackupState {
		f |= flagBS
	}
	return f
}

func (a *Authenticator) clientData(typ string, challenge json.RawMessage) ([]byte, error) {
	var ch string
	if err := json.Unmarshal(challenge, &ch); err != nil {
		return nil, fmt.Errorf("passkeytest: challenge: %w", err)
	}
	if a.Type != "" {
		typ = a.Type
	}
	return json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, trimPad(ch), a.Origin, false})
}

type coseKey struct {
	Kty int    `cbor:"1,keyasint"`
	Alg int    `cbor:"3,keyasint"`
	Crv int    `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
	Y   []byte `cbor:"-3,keyasint"`
}

type attestationObject struct {
	Fmt      string         `cbor:"fmt"`
	AttStmt  map[string]any `cbor:"attStmt"`
	AuthData []byte         `cbor:"authData"`
}

// Create makes a new credential for the creation options and returns the
// registration response JSON and the new credential id.
func (a *Authenticator) Create(options []byte) (response, credentialID []byte, err error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, nil, fmt.Errorf("passkeytest: creation options: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	rpID := o.PublicKey.RP.ID
	if a.RPID != "" {
		rpID = a.RPID
	}
	for _, ex := range o.PublicKey.Exclude {
		for _, c := range a.creds {
			if bytes.Equal(c.id, ex.ID) {
				return nil, nil, ErrExcluded
			}
		}
	}
	cd, err := a.clientData("webauthn.create", o.PublicKey.Challenge)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 16)
	if _, err := io.ReadFull(rand.Reader, id); err != nil {
		return nil, nil, err
	}
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, nil, err
	}
	enc, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		return nil, nil, err
	}
	ck, err := enc.Marshal(coseKey{Kty: 2, Alg: -7, Crv: 1, X: pub[1:33], Y: pub[33:]})
	if err != nil {
		return nil, nil, err
	}
	c := &softCred{id: id, key: key, rpID: rpID, userHandle: bytes.Clone(o.PublicKey.User.ID)}
	rpHash := sha256.Sum256([]byte(rpID))
	ad := append([]byte{}, rpHash[:]...)
	ad = append(ad, a.flags()|flagAT)
	ad = binary.BigEndian.AppendUint32(ad, c.counter)
	ad = append(ad, make([]byte, 16)...) // AAGUID: zero, as for "none"
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(id)))
	ad = append(ad, id...)
	ad = append(ad, ck...)
	att, err := enc.Marshal(attestationObject{Fmt: "none", AttStmt: map[string]any{}, AuthData: ad})
	if err != nil {
		return nil, nil, err
	}
	resp, err := json.Marshal(map[string]any{
		"id":                      base64.RawURLEncoding.EncodeToString(id),
		"rawId":                   b64(id),
		"type":                    "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64(cd),
			"attestationObject": b64(att),
			"transports":        []string{"internal"},
		},
	})
	if err != nil {
		return nil, nil, err
	}
	a.creds = append(a.creds, c)
	return resp, bytes.Clone(id), nil
}

// Get signs an assertion for the request options and returns the
// response JSON. It uses Select when set, else the first allowed
// credential it holds, else its newest credential for the RP id.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.pick(o.PublicKey.RPID, o.PublicKey.Allow)
	if c == nil {
		return nil, ErrNoCredential
	}
	rpID := o.PublicKey.RPID
	if a.RPID != "" {
		rpID = a.RPID
	}
	cd, err := a.clientData("webauthn.get", o.PublicKey.Challenge)
	if err != nil {
		return nil, err
	}
	if !a.StaticCounter {
		c.counter++
	}
	rpHash := sha256.Sum256([]byte(rpID))
	ad := append([]byte{}, rpHash[:]...)
	ad = append(ad, a.flags())
	ad = binary.BigEndian.AppendUint32(ad, c.counter)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(bytes.Clone(ad), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	r := map[string]any{
		"clientDataJSON":    b64(cd),
		"authenticatorData": b64(ad),
		"signature":         b64(sig),
	}
	if !a.OmitUserHandle {
		r["userHandle"] = b64(c.userHandle)
	}
	return json.Marshal(map[string]any{
		"id":                      base64.RawURLEncoding.EncodeToString(c.id),
		"rawId":                   b64(c.id),
		"type":                    "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response":                r,
	})
}

func (a *Authenticator) pick(rpID string, allow []descriptor) *softCred {
	if a.Select != nil {
		return a.find(a.Select)
	}
	for _, d := range allow {
		if c := a.find(d.ID); c != nil {
			return c
		}
	}
	if len(allow) > 0 {
		return nil
	}
	for i := len(a.creds) - 1; i >= 0; i-- {
		if a.creds[i].rpID == rpID || a.RPID != "" {
			return a.creds[i]
		}
	}
	return nil
}

func (a *Authenticator) find(id []byte) *softCred {
	for _, c := range a.creds {
		if bytes.Equal(c.id, id) {
			return c
		}
	}
	return nil
}

// SetCounter sets the sign counter of a credential; the next assertion
// reports n+1, or n with StaticCounter. It reports whether the credential
// exists.
func (a *Authenticator) SetCounter(credentialID []byte, n uint32) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.find(credentialID)
	if c == nil {
		return false
	}
	c.counter = n
	return true
}

// PublicKey returns the public key of a credential, or nil.
func (a *Authenticator) PublicKey(credentialID []byte) *ecdsa.PublicKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.find(credentialID); c != nil {
		return &c.key.PublicKey
	}
	return nil
}
