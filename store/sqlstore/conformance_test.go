package sqlstore_test

import (
	"sync"
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/jwt/jwttest"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/mfa/mfatest"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/session/sessiontest"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// TestConformance runs every conformance suite on both dialects. Each case
// gets a fresh store: its own SQLite file, or its own PostgreSQL schema.
func TestConformance(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		// Both dialects and all suites run in parallel: most cases wait on
		// the database or on a short TTL, not on the CPU.
		t.Parallel()
		st := func(t *testing.T) *sqlstore.Store { return d.new(t, sqlstore.Config{}) }
		t.Run("Sessions", func(t *testing.T) {
			t.Parallel()
			sessiontest.Run(t, func(t *testing.T) session.Store { return st(t).Sessions() })
		})
		t.Run("RefreshTokens", func(t *testing.T) {
			t.Parallel()
			var stores sync.Map // adapter → its Store
			jwttest.RunHarness(t, jwttest.Harness{
				New: func(t *testing.T) jwt.RefreshStore {
					s := st(t)
					rt := s.RefreshTokens()
					stores.Store(rt, s)
					return rt
				},
				// Every row of the refresh and not-before tables is lost, the
				// epoch included (a truncation, a restore of an empty backup).
				Lose: func(t *testing.T, rt jwt.RefreshStore) jwt.RefreshStore {
					v, _ := stores.Load(rt)
					s := v.(*sqlstore.Store)
					for _, table := range []string{"refresh_tokens", "refresh_families", "not_before", "refresh_epoch"} {
						if _, err := s.DB().ExecContext(t.Context(), "DELETE FROM "+s.Table(table)); err != nil {
							t.Fatal(err)
						}
					}
					return rt
				},
			})
		})
		t.Run("MFA", func(t *testing.T) {
			t.Parallel()
			mfatest.Run(t, func(t *testing.T) mfa.Store { return st(t).MFA() })
		})
		t.Run("TOTPReplay", func(t *testing.T) {
			t.Parallel()
			mfatest.RunReplay(t, func(t *testing.T) mfa.ReplayStore { return st(t).TOTPReplay() })
		})
		t.Run("Attempts", func(t *testing.T) {
			t.Parallel()
			authkittest.RunAttemptStore(t, func(t *testing.T) authkit.AttemptStore { return st(t).Attempts() })
		})
		t.Run("Tickets", func(t *testing.T) {
			t.Parallel()
			authkittest.RunTicketStore(t, func(t *testing.T) authkit.TicketStore { return st(t).Tickets() })
		})
	})
}
