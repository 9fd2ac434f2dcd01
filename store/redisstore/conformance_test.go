package redisstore_test

import (
	"testing"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/redisstore"
	"github.com/authkit-go/authkit/store/storetest"
)

// TestConformance runs every conformance suite against a single Redis node
// and against a Redis Cluster (through a cluster client, so every script
// must keep to one slot: a cross-slot script fails with CROSSSLOT there).
// Each case gets its own random key prefix; nothing is flushed.
func TestConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := func(t *testing.T) *redisstore.Store { return newStore(t, b.client(t), redisstore.Config{}) }
		t.Run("Stores", func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) storetest.Stores {
				s := st(t)
				return storetest.Stores{
					Sessions:      s.Sessions(),
					RefreshTokens: s.RefreshTokens(),
					MFA:           s.MFA(),
					TOTPReplay:    s.TOTPReplay(),
					Attempts:      s.Attempts(),
					Tickets:       s.Tickets(),
					Passkeys:      s.Passkeys(),
					// A flush: every key of the store's prefix, epochs included.
					LoseRefreshTokens: func(t *testing.T) jwt.RefreshStore {
						deletePrefix(t, b.client(t), s.RefreshTokens().Prefix())
						return s.RefreshTokens()
					},
				}
			})
		})
	})
}
