package redisstore_test

import (
	"github.com/redis/go-redis/v9"

	"testing"
	"time"

	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/redisstore"
)

// TestDeleteUserCatchesRotateInFlight forces the interleavings of a Rotate
// (index entry, claim of the old id, create of the new id: three commands
// on two Cluster slots) with "log out everywhere", by writing the state a
// Rotate leaves between its steps the way its scripts do. In each, the
// renewed session is not live after DeleteUser, and a create that comes
// after DeleteUser is refused.
func TestDeleteUserCatchesRotateInFlight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := b.client(t)
		st := newStore(t, c, redisstore.Config{})
		ss := st.Sessions()
		ctx := t.Context()
		p := st.Prefix()
		now := time.Now()
		rec := session.Record{UserID: "alice", SecretHash: []byte{1}, CreatedAt: now, LastSeen: now,
			IdleExpiry: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}
		// claimed writes what the claim step leaves: old is a marker naming
		// next, which DeleteUser's read of the index (taken before the
		// Rotate added next) does not list.
		claimed := func(old, next string) {
			must(t, c.Del(ctx, p+"s:"+old).Err())
			must(t, c.HSet(ctx, p+"s:"+old, "u", "alice", "m", next, "n", "alice").Err())
			must(t, c.PExpire(ctx, p+"s:"+old, time.Hour).Err())
			must(t, c.ZRem(ctx, p+"su:alice", next).Err())
		}

		// 1. Claimed, not created yet: DeleteUser follows the marker and
		// tombstones the new id; the create then fails.
		must(t, ss.Create(ctx, "o1", rec))
		claimed("o1", "n1")
		must(t, ss.DeleteUser(ctx, "alice"))
		if err := ss.Create(ctx, "n1", rec); err == nil {
			t.Error("the pending create of a Rotate succeeded after DeleteUser")
		}
		if _, found, _ := ss.Find(ctx, "n1"); found {
			t.Error("renewed session live after DeleteUser (created late)")
		}

		// 2. Claimed and created, but the new id not in the index DeleteUser
		// read: the marker leads to it.
		must(t, ss.Create(ctx, "o2", rec))
		claimed("o2", "n2")
		must(t, ss.Create(ctx, "n2", rec))
		must(t, c.ZRem(ctx, p+"su:alice", "n2").Err())
		must(t, ss.DeleteUser(ctx, "alice"))
		if _, found, _ := ss.Find(ctx, "n2"); found {
			t.Error("renewed session live after DeleteUser (created before it, unindexed)")
		}

		// 3. A chain: o3 -> n3 -> m3, each claimed while DeleteUser ran.
		must(t, ss.Create(ctx, "o3", rec))
		claimed("o3", "n3")
		must(t, c.HSet(ctx, p+"s:n3", "u", "alice", "m", "m3", "n", "alice").Err())
		must(t, c.PExpire(ctx, p+"s:n3", time.Hour).Err())
		must(t, ss.DeleteUser(ctx, "alice"))
		if err := ss.Create(ctx, "m3", rec); err == nil {
			t.Error("the end of a rotation chain could be created after DeleteUser")
		}

		// 4. Indexed but not created yet (DeleteUser read the index after
		// the Rotate's first step): the id is tombstoned.
		must(t, ss.Create(ctx, "o4", rec))
		claimed("o4", "n4")
		must(t, c.ZAdd(ctx, p+"su:alice", redisZ(now.Add(time.Hour), "n4")).Err())
		must(t, c.Del(ctx, p+"s:o4").Err()) // as if DeleteUser had not seen o4
		must(t, ss.DeleteUser(ctx, "alice"))
		if err := ss.Create(ctx, "n4", rec); err == nil {
			t.Error("an indexed id not created yet could be created after DeleteUser")
		}

		// A marker of another user's login is not followed.
		must(t, ss.Create(ctx, "o5", rec))
		bob := rec
		bob.UserID = "bob"
		if found, err := ss.Rotate(ctx, "o5", "n5", bob); err != nil || !found {
			t.Fatalf("Rotate to bob = %v, %v", found, err)
		}
		must(t, ss.DeleteUser(ctx, "alice"))
		if _, found, _ := ss.Find(ctx, "n5"); !found {
			t.Error("DeleteUser(alice) ended bob's session that alice's session was rotated into")
		}
	})
}

func redisZ(exp time.Time, member string) redis.Z {
	return redis.Z{Score: float64(exp.UnixMilli()), Member: member}
}
