package sqlstore_test

import (
	"testing"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/sqlstore"
	"github.com/authkit-go/authkit/store/storetest"
)

// TestConformance runs every conformance suite on both dialects. Each case
// gets a fresh store: its own SQLite file, or its own PostgreSQL schema.
func TestConformance(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		// Both dialects and all suites run in parallel: most cases wait on
		// the database or on a short TTL, not on the CPU.
		t.Parallel()
		storetest.Run(t, func(t *testing.T) storetest.Stores {
			s := d.new(t, sqlstore.Config{})
			return storetest.Stores{
				Sessions:      s.Sessions(),
				RefreshTokens: s.RefreshTokens(),
				MFA:           s.MFA(),
				TOTPReplay:    s.TOTPReplay(),
				Attempts:      s.Attempts(),
				Tickets:       s.Tickets(),
				Passkeys:      s.Passkeys(),
				Users:         s.Users(),
				// Every row of the refresh and not-before tables is lost,
				// the epoch included (a truncation, a restore of an empty
				// backup).
				LoseRefreshTokens: func(t *testing.T) jwt.RefreshStore {
					for _, table := range []string{"refresh_tokens", "refresh_families", "not_before", "refresh_epoch"} {
						if _, err := s.DB().ExecContext(t.Context(), "DELETE FROM "+s.Table(table)); err != nil {
							t.Fatal(err)
						}
					}
					return s.RefreshTokens()
				},
			}
		})
	})
}
