package sqlstore_test

import (
	"testing"

	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/middleware/limitertest"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// TestWindowLimiterOnAttempts runs the limiter suite against
// middleware.WindowLimiter counting on Store.Attempts, on PostgreSQL and
// SQLite: the rate limiter a host shares across instances. Each limiter
// gets its own key prefix in one store per dialect.
func TestWindowLimiterOnAttempts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		st := d.new(t, sqlstore.Config{})
		limitertest.Run(t, func(t *testing.T, cfg limitertest.Config) middleware.Limiter {
			l, err := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{
				Counter: st.Attempts(), Limit: cfg.Limit, Window: cfg.Window, Prefix: randName("rl") + ":",
			})
			must(t, err)
			return l
		})
	})
}
