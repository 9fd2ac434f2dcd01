package limitertest_test

import (
	"testing"

	"github.com/authkit-go/authkit/middleware"
	"github.com/authkit-go/authkit/middleware/limitertest"
	"github.com/authkit-go/authkit/store/memstore"
)

// A limiter implementation's test runs the suite; newLimiter builds a fresh
// limiter for the policy each case asks for.
func ExampleRun() {
	_ = func(t *testing.T) {
		limitertest.Run(t, func(t *testing.T, cfg limitertest.Config) middleware.Limiter {
			l, err := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{
				Counter: memstore.NewAttempts(memstore.AttemptsConfig{}),
				Limit:   cfg.Limit,
				Window:  cfg.Window,
			})
			if err != nil {
				t.Fatal(err)
			}
			return l
		})
	}
}
