package redisstore_test

import (
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/jwt/jwttest"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/mfa/mfatest"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/session/sessiontest"
	"github.com/authkit-go/authkit/store/redisstore"
)

// TestConformance runs every conformance suite against a single Redis node
// and against a Redis Cluster (through a cluster client, so every script
// must keep to one slot: a cross-slot script fails with CROSSSLOT there).
// Each case gets its own random key prefix; nothing is flushed.
func TestConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := func(t *testing.T) *redisstore.Store { return newStore(t, b.client(t), redisstore.Config{}) }
		suites := []struct {
			name string
			run  func(t *testing.T)
		}{
			{"Sessions", func(t *testing.T) {
				sessiontest.Run(t, func(t *testing.T) session.Store { return st(t).Sessions() })
			}},
			{"RefreshTokens", func(t *testing.T) {
				jwttest.RunHarness(t, jwttest.Harness{
					New: func(t *testing.T) jwt.RefreshStore { return st(t).RefreshTokens() },
					// A flush: every key of the store's prefix, epochs included.
					Lose: func(t *testing.T, s jwt.RefreshStore) jwt.RefreshStore {
						deletePrefix(t, b.client(t), s.(*redisstore.RefreshTokens).Prefix())
						return s
					},
				})
			}},
			{"MFA", func(t *testing.T) {
				mfatest.Run(t, func(t *testing.T) mfa.Store { return st(t).MFA() })
			}},
			{"TOTPReplay", func(t *testing.T) {
				mfatest.RunReplay(t, func(t *testing.T) mfa.ReplayStore { return st(t).TOTPReplay() })
			}},
			{"Attempts", func(t *testing.T) {
				authkittest.RunAttemptStore(t, func(t *testing.T) authkit.AttemptStore { return st(t).Attempts() })
			}},
			{"Tickets", func(t *testing.T) {
				authkittest.RunTicketStore(t, func(t *testing.T) authkit.TicketStore { return st(t).Tickets() })
			}},
		}
		for _, s := range suites {
			t.Run(s.name, func(t *testing.T) {
				t.Parallel()
				s.run(t)
			})
		}
	})
}
