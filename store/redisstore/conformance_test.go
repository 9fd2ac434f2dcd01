package redisstore_test

import (
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/mfa/mfatest"
	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/middleware/limitertest"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/oauth/oauthtest"
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
					// A flush: every key of the store's prefix, epochs included.
					LoseRefreshTokens: func(t *testing.T) jwt.RefreshStore {
						deletePrefix(t, b.client(t), s.RefreshTokens().Prefix())
						return s.RefreshTokens()
					},
				}
			})
		})
		t.Run("Challenges", func(t *testing.T) {
			t.Parallel()
			mfatest.RunChallenge(t, func(t *testing.T) mfa.ChallengeStore { return st(t).Challenges() })
		})
		t.Run("OAuthStates", func(t *testing.T) {
			t.Parallel()
			oauthtest.RunStateStore(t, func(t *testing.T) oauth.StateStore { return st(t).OAuthStates() })
		})
		t.Run("OneTimeTokens", func(t *testing.T) {
			t.Parallel()
			authkittest.RunOneTimeTokenStore(t, func(t *testing.T) authkit.OneTimeTokenStore { return st(t).OneTimeTokens() })
		})
		t.Run("Limiter", func(t *testing.T) {
			t.Parallel()
			limitertest.Run(t, func(t *testing.T, cfg limitertest.Config) middleware.Limiter {
				l, err := st(t).Limiter(redisstore.LimiterConfig{Name: "test", Limit: cfg.Limit, Per: cfg.Per})
				must(t, err)
				return l
			})
		})
	})
}
