package sqlstore_test

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// TestRotateAfterEpochResetIsInvalid follows the documented restore
// procedure: after a restore from a backup the operator deletes the
// refresh_epoch row so that nothing issued before the restore is accepted.
// A refresh family the backup still holds (revoked after the backup was
// taken, say) must not rotate afterwards.
func TestRotateAfterEpochResetIsInvalid(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		s := d.new(t, sqlstore.Config{})
		rt := s.RefreshTokens()
		ctx := t.Context()
		now := time.Now()
		user := "u-epoch"
		tok := jwt.RefreshToken{ID: idInShard(jwt.RefreshShard(user)), FamilyID: "f-epoch", UserID: user,
			IssuedAt: now.Add(-time.Minute), Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(24 * time.Hour),
			SignIn: jwt.SignIn{AuthTime: now.Add(-time.Minute), AMR: []string{"pwd"}}}
		created, err := rt.Create(ctx, tok)
		if err != nil || !created {
			t.Fatalf("Create: created=%v err=%v", created, err)
		}
		if _, err := s.DB().ExecContext(ctx, "DELETE FROM "+s.Table("refresh_epoch")); err != nil {
			t.Fatal(err)
		}
		res, err := rt.Rotate(ctx, jwt.Rotation{ID: tok.ID, Now: now, Sealed: []byte("x"),
			Next: jwt.RefreshToken{ID: idInShard(jwt.RefreshShard(user)), IssuedAt: now, Expiry: now.Add(time.Hour)}})
		if err != nil || res.Outcome != jwt.RotateInvalid {
			t.Fatalf("Rotate of a family from before the epoch reset: outcome %d err=%v, want RotateInvalid", res.Outcome, err)
		}
		got, found, err := rt.NotBefore(ctx, user)
		if err != nil || !found || got.Before(now.Add(-time.Second)) {
			t.Fatalf("NotBefore after the reset: %v found=%v err=%v, want ≥ %v", got, found, err, now)
		}
	})
}

func idInShard(shard string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return jwt.RefreshTokenID(jwt.RefreshTokenPrefix + shard + base64.RawURLEncoding.EncodeToString(b[:]))
}
