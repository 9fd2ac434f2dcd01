package redisstore_test

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/redisstore"
)

// TestRotateAfterShardEpochLostIsInvalid: only one shard's epoch record
// is lost (the cluster node holding it lost it, or an operator deleted it
// after a restore). The families of that shard must not rotate again,
// and those of other shards are untouched.
func TestRotateAfterShardEpochLostIsInvalid(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := b.client(t)
		rt := newStore(t, c, redisstore.Config{}).RefreshTokens()
		ctx := t.Context()
		now := time.Now()
		mk := func(user string) jwt.RefreshToken {
			tok := jwt.RefreshToken{ID: shardID(jwt.RefreshShard(user)), FamilyID: "f-" + user, UserID: user,
				IssuedAt: now, Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(24 * time.Hour),
				SignIn: jwt.SignIn{AuthTime: now.Add(-time.Minute), AMR: []string{"pwd"}}}
			if created, err := rt.Create(ctx, tok); err != nil || !created {
				t.Fatalf("Create: created=%v err=%v", created, err)
			}
			return tok
		}
		lost, kept := mk("u-lost"), mk("u-kept")
		if jwt.RefreshShard(lost.UserID) == jwt.RefreshShard(kept.UserID) {
			t.Fatal("test users share a shard")
		}
		if err := c.Del(ctx, rt.Prefix()+"ep:{"+jwt.RefreshShard(lost.UserID)+"}").Err(); err != nil {
			t.Fatal(err)
		}
		rot := func(tok jwt.RefreshToken) jwt.RotateOutcome {
			res, err := rt.Rotate(ctx, jwt.Rotation{ID: tok.ID, Now: now, Sealed: []byte("x"),
				Next: jwt.RefreshToken{ID: shardID(jwt.RefreshShard(tok.UserID)), IssuedAt: now, Expiry: now.Add(time.Hour)}})
			if err != nil {
				t.Fatal(err)
			}
			return res.Outcome
		}
		if got := rot(lost); got != jwt.RotateInvalid {
			t.Errorf("family of the shard that lost its epoch: outcome %d, want RotateInvalid", got)
		}
		if got := rot(kept); got != jwt.Rotated {
			t.Errorf("family of another shard: outcome %d, want Rotated", got)
		}
	})
}

func shardID(shard string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return jwt.RefreshTokenID(jwt.RefreshTokenPrefix + shard + base64.RawURLEncoding.EncodeToString(b[:]))
}
