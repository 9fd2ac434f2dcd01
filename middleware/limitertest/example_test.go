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
			st, err := memstore.New(memstore.Config{}) // your counter here
			if err != nil {
				t.Fatal(err)
			}
			l, err := middleware.NewWindowLimiter(middleware.WindowLimiterConfig{
				Counter: st.Attempts(),
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
