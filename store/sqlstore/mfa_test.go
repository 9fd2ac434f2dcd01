package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/authkit-go/authkit/mfa"
)

// seedMFA stores an active enrollment for user with the given backup codes.
func seedMFA(t testing.TB, s mfa.Store, user string, codes ...[]byte) {
	t.Helper()
	e := mfa.Enrollment{Version: 1, Secret: []byte("sealed"), ConfirmedAt: time.Now()}
	if ok, err := s.Put(context.Background(), user, 0, e, codes); err != nil || !ok {
		t.Fatalf("seeding MFA for %q: %v, %v", user, ok, err)
	}
}
