package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/jwt/jwttest"
	"github.com/authkit-go/authkit/store/redisstore"
)

// TestRefreshStoreClockSkew runs the refresh suite with the application's
// clock (the store's Config.Now and every time the cases pass) 2 minutes
// ahead of and behind the Redis server's: the same as a server clock off by
// ∓2 minutes. Records must live for their lifetime by the server's clock
// (relative expiries), never expire early as an absolute application-clock
// expiry (PXAT) would on a server whose clock is ahead.
func TestRefreshStoreClockSkew(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, skew := range []time.Duration{-2 * time.Minute, 2 * time.Minute} {
			t.Run(fmt.Sprintf("app%+v", skew), func(t *testing.T) {
				t.Parallel()
				now := func() time.Time { return time.Now().Add(skew) }
				jwttest.RunHarness(t, jwttest.Harness{
					New: func(t *testing.T) jwt.RefreshStore {
						return newStore(t, b.client(t), redisstore.Config{Now: now}).RefreshTokens()
					},
					Lose: func(t *testing.T, s jwt.RefreshStore) jwt.RefreshStore {
						deletePrefix(t, b.client(t), s.(*redisstore.RefreshTokens).Prefix())
						return s
					},
					Now: now,
				})
			})
		}
	})
}
