package oauth

import (
	"context"
	"time"
)

// Pending is one authorization transaction between [Flow.Begin] and
// [Flow.Callback]: the PKCE verifier (RFC 7636 §4.1), the OpenID nonce
// (OIDC Core §3.1.2.1), the exact redirect URI the request was made with
// (RFC 9700 §4.1) and the validated post-login destination.
//
// It holds the PKCE verifier, a secret: a [StateStore] must not log it.
type Pending struct {
	Verifier    string
	Nonce       string
	RedirectURI string
	ReturnTo    string
	Expiry      time.Time
}

// StateStore keeps pending transactions server-side, keyed by the state
// parameter, for deployments that prefer server-side state to the default
// encrypted cookie. The browser still gets a cookie holding the state, so a
// transaction stays bound to the user agent that started it (RFC 9700 §4.7).
//
// Implementations must be safe for concurrent use. The conformance suite in
// package oauthtest ([oauthtest.RunStateStore]) checks this contract.
type StateStore interface {
	// Save stores p under state until p.Expiry, replacing any previous
	// value. An expiry in the past stores nothing observable.
	Save(ctx context.Context, state string, p Pending) error

	// Take atomically returns and deletes the transaction stored under
	// state: among concurrent calls for one state, at most one gets
	// found=true. A missing or expired transaction gives found=false and a
	// nil error; err is for system failures only, and the flow fails closed
	// on it.
	Take(ctx context.Context, state string) (p Pending, found bool, err error)
}
