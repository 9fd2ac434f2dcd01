package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
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

// crossPut is one cross-process writer of an enrollment read at version 1
// (what seedMFA stores): of all racers exactly one may win.
func crossPut(ctx context.Context, s mfa.Store, user string) (bool, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return false, err
	}
	v := binary.BigEndian.Uint64(b[:]) | 2 // never 0 or 1
	return s.Put(ctx, user, 1, mfa.Enrollment{Version: v, Secret: []byte("sealed")}, nil)
}
