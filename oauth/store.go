package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Pending is one authorization transaction between [Flow.Begin] and
// [Flow.Callback]: the PKCE verifier (RFC 7636 §4.1), the OpenID nonce
// (OIDC Core §3.1.2.1), the exact redirect URI the request was made with
// (RFC 9700 §4.1) and the validated post-login destination.
//
// It holds the PKCE verifier, a secret: a [TicketStore] must not log it.
type Pending struct {
	Verifier    string
	Nonce       string
	RedirectURI string
	ReturnTo    string
	Expiry      time.Time
}

// StatePurpose is the [TicketStore] purpose of pending transactions.
const StatePurpose = "oauth_state"

// TicketStore keeps single-use records that expire, namespaced by purpose.
// With [Config.Tickets] set, each pending transaction lives server-side in
// it under the purpose [StatePurpose], keyed by the SHA-256 of the state
// parameter, in this package's own encoding; the browser still gets a
// cookie holding the state, so a transaction stays bound to the user agent
// that started it (RFC 9700 §4.7). It is a consumer-side view of the root
// package's TicketStore, which every store adapter offers as Tickets.
//
// Implementations must be safe for concurrent use and must not log the
// records (they hold the PKCE verifier). authkittest.RunTicketStore checks
// implementations.
type TicketStore interface {
	// Put stores data under (purpose, key) until expiry, replacing any
	// record there. A record whose expiry has passed is never returned.
	Put(ctx context.Context, purpose, key string, data []byte, expiry time.Time) error
	// Take returns the record and deletes it in one atomic step: of
	// concurrent Takes at most one finds it. found=false for missing or
	// expired; err only for system failures, and the flow fails closed on
	// it.
	Take(ctx context.Context, purpose, key string) (data []byte, found bool, err error)
}

// pendingVersion is the version of the encoding of a [Pending] in a ticket;
// a record of any other version is refused.
const pendingVersion = 1

// pendingWire is the JSON form of a [Pending] in a ticket.
type pendingWire struct {
	V           int    `json:"v"`
	Verifier    string `json:"pv"`
	Nonce       string `json:"n,omitempty"`
	RedirectURI string `json:"ru"`
	ReturnTo    string `json:"rt,omitempty"`
	Expiry      int64  `json:"x"` // unix nanoseconds
}

func encodePending(p Pending) ([]byte, error) {
	return json.Marshal(pendingWire{V: pendingVersion, Verifier: p.Verifier, Nonce: p.Nonce,
		RedirectURI: p.RedirectURI, ReturnTo: p.ReturnTo, Expiry: p.Expiry.UnixNano()})
}

func decodePending(b []byte) (Pending, error) {
	var w pendingWire
	if err := json.Unmarshal(b, &w); err != nil {
		return Pending{}, fmt.Errorf("oauth: malformed transaction record: %w", err)
	}
	if w.V != pendingVersion {
		return Pending{}, fmt.Errorf("oauth: transaction record of unknown version %d", w.V)
	}
	return Pending{Verifier: w.Verifier, Nonce: w.Nonce, RedirectURI: w.RedirectURI, ReturnTo: w.ReturnTo,
		Expiry: time.Unix(0, w.Expiry)}, nil
}

// stateKey is the ticket key of a state: its SHA-256, so the store never
// holds the state itself.
func stateKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}
