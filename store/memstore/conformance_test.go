package memstore_test

import (
	"testing"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/storetest"
)

// TestConformance runs every contract's suite on memstore, each case on a
// Store of its own. Losing refresh-token data is a process restart: a new
// Store, whose epoch is its creation time.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		st := memtest.New(t, nil)
		return storetest.Stores{
			Sessions:      st.Sessions(),
			RefreshTokens: st.RefreshTokens(),
			MFA:           st.MFA(),
			TOTPReplay:    st.TOTPReplay(),
			Attempts:      st.Attempts(),
			Tickets:       st.Tickets(),
			Passkeys:      st.Passkeys(),
			Users:         st.Users(),
			LoseRefreshTokens: func(t *testing.T) jwt.RefreshStore {
				return memtest.New(t, nil).RefreshTokens()
			},
		}
	})
}
