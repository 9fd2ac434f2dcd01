package redisstore_test

import (
	"testing"

	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/middleware/limitertest"
	"github.com/authkit-go/authkit/store/redisstore"
)

// TestWindowLimiterOnAttempts runs the limiter suite against
// middleware.WindowLimiter counting on Store.Attempts, on a single node and
// on the Cluster: the rate limiter a host shares across instances.
func TestWindowLimiterOnAttempts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		limitertest.Run(t, func(t *testing.T, cfg limitertest.Config) middleware.Limiter {
			st := newStore(t, b.client(t), redisstore.Config{})
			l, err := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{Counter: st.Attempts(), Limit: cfg.Limit, Window: cfg.Window})
			must(t, err)
			return l
		})
	})
}
