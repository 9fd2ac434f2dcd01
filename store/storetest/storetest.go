// Package storetest checks a whole store backend in one call: [Run] takes
// a factory that returns the backend's implementation of each store
// contract and runs every contract's conformance suite on it (sessiontest,
// jwttest, mfatest, authkittest, passkeytest). store/memstore,
// store/redisstore and store/sqlstore run it from their tests; an
// application with a backend of its own runs it the same way.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Stores {
//			st := newIsolatedStore(t) // its own key prefix, schema or file
//			return storetest.Stores{Sessions: st.Sessions(), Users: st.Users()}
//		})
//	}
package storetest

import (
	"sync"
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/jwt/jwttest"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/mfa/mfatest"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/session/sessiontest"
)

// Stores is one backend's implementation of each store contract, all over
// the same isolated state. A nil field is a contract the backend does not
// offer: [Run] skips its suite and says so in the test log.
type Stores struct {
	Sessions      session.Store
	RefreshTokens jwt.RefreshStore // refresh families and the per-user not-before
	MFA           mfa.Store
	TOTPReplay    mfa.ReplayStore
	Attempts      authkit.AttemptStore
	Tickets       authkit.TicketStore // single-use records of every purpose
	Passkeys      passkey.CredentialStore
	Users         authkit.UserStore

	// LoseRefreshTokens, if set, makes RefreshTokens lose every record it
	// keeps, its epoch included, as a flush, an eviction of everything or
	// a restart would, and returns the store to use afterwards
	// (RefreshTokens itself, or a new one over the same backend). It
	// enables jwttest's data-loss case. The RefreshTokens values must be
	// comparable (pointers, as every adapter's are): Run finds a store's
	// LoseRefreshTokens by it.
	LoseRefreshTokens func(t *testing.T) jwt.RefreshStore

	// NoMFAFlag declares that Users does not keep User.MFAEnabled; see
	// authkittest.UserStoreHarness.
	NoMFAFlag bool
}

// Factory returns a new, empty, isolated set of stores (its own key
// prefix, schema, database or process state) and registers its cleanup
// with t.Cleanup. [Run] calls it once per case, and once more to learn
// which contracts the backend offers.
type Factory func(t *testing.T) Stores

// contract is one suite of [Run].
type contract struct {
	name    string
	offered func(Stores) bool
	run     func(t *testing.T, f Factory, probe Stores)
}

var contracts = []contract{
	{"Sessions", func(s Stores) bool { return s.Sessions != nil }, func(t *testing.T, f Factory, _ Stores) {
		sessiontest.Run(t, func(t *testing.T) session.Store { return f(t).Sessions })
	}},
	{"RefreshTokens", func(s Stores) bool { return s.RefreshTokens != nil }, func(t *testing.T, f Factory, probe Stores) {
		var lose sync.Map // RefreshTokens → its Stores.LoseRefreshTokens
		h := jwttest.Harness{New: func(t *testing.T) jwt.RefreshStore {
			st := f(t)
			if st.LoseRefreshTokens != nil {
				lose.Store(st.RefreshTokens, st.LoseRefreshTokens)
			}
			return st.RefreshTokens
		}}
		if probe.LoseRefreshTokens != nil {
			h.Lose = func(t *testing.T, s jwt.RefreshStore) jwt.RefreshStore {
				v, ok := lose.Load(s)
				if !ok {
					t.Fatal("storetest: the factory returned no LoseRefreshTokens for this store")
				}
				return v.(func(*testing.T) jwt.RefreshStore)(t)
			}
		}
		jwttest.RunHarness(t, h)
	}},
	{"MFA", func(s Stores) bool { return s.MFA != nil }, func(t *testing.T, f Factory, _ Stores) {
		mfatest.Run(t, func(t *testing.T) mfa.Store { return f(t).MFA })
	}},
	{"TOTPReplay", func(s Stores) bool { return s.TOTPReplay != nil }, func(t *testing.T, f Factory, _ Stores) {
		mfatest.RunReplay(t, func(t *testing.T) mfa.ReplayStore { return f(t).TOTPReplay })
	}},
	{"Attempts", func(s Stores) bool { return s.Attempts != nil }, func(t *testing.T, f Factory, _ Stores) {
		authkittest.RunAttemptStore(t, func(t *testing.T) authkit.AttemptStore { return f(t).Attempts })
	}},
	{"Tickets", func(s Stores) bool { return s.Tickets != nil }, func(t *testing.T, f Factory, _ Stores) {
		authkittest.RunTicketStore(t, func(t *testing.T) authkit.TicketStore { return f(t).Tickets })
	}},
	{"Passkeys", func(s Stores) bool { return s.Passkeys != nil }, func(t *testing.T, f Factory, _ Stores) {
		passkeytest.Run(t, func(t *testing.T) passkey.CredentialStore { return f(t).Passkeys })
	}},
	{"Users", func(s Stores) bool { return s.Users != nil }, func(t *testing.T, f Factory, probe Stores) {
		authkittest.RunUserStoreHarness(t, authkittest.UserStoreHarness{
			New:       func(t *testing.T) authkit.UserStore { return f(t).Users },
			NoMFAFlag: probe.NoMFAFlag,
		})
	}},
}

// Run runs the conformance suite of every contract that the backend
// offers, each in a parallel subtest named for the contract (Sessions,
// RefreshTokens, MFA, TOTPReplay, Attempts, Tickets, Passkeys and Users),
// and logs the contracts it leaves out because their field is nil.
func Run(t *testing.T, factory Factory) {
	t.Helper()
	probe := factory(t)
	for _, c := range contracts {
		if !c.offered(probe) {
			t.Logf("storetest: the backend does not offer %s (nil field): its suite is skipped", c.name)
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, factory, probe)
		})
	}
}
