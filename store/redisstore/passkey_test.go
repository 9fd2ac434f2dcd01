package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/store/redisstore"
)

var passkeyRace = storetestkit.PasskeyRaceConfig{Rounds: 10, Procs: 3, Goroutines: 4, Slot: 50 * time.Millisecond}

// TestPasskeysCrossProcess races three processes, each with its own client,
// removing all of a user's credentials with keepLast (exactly one is left)
// and updating one credential's sign count from the same previous value
// (exactly one write wins), on a single node and on the Cluster.
func TestPasskeysCrossProcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := newStore(t, b.client(t), redisstore.Config{})
		storetestkit.PasskeyRace(t, st.Passkeys(), passkeyRace, "passkey", childArgsOf(b, st))
	})
}

func passkeyChild(st *redisstore.Store, proc int) int {
	return storetestkit.PasskeyRaceChild(st.Passkeys(), passkeyRace, proc)
}

// TestPasskeysFaultAtEveryCommand fails each command of Add and Remove in
// turn, once before the server runs it and once after (a lost reply), on a
// single node and on the Cluster. Whatever fails, no credential is ever
// stored without an index entry naming its owner (Get and UpdateUse would
// miss it, and its id could be added again for another user), a call that
// reported success did what it said, and a credential is never half there.
func TestPasskeysFaultAtEveryCommand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		f := storetestkit.NewFaults()
		c := hookedClient(t, b, faultHook{f})
		st := newStoreVia(t, c, b.client(t), redisstore.Config{})
		admin := b.client(t)
		clean, err := redisstore.New(redisstore.Config{Client: admin, Prefix: st.Prefix(), Timeout: 30 * time.Second})
		must(t, err)
		ctx := t.Context()
		const user = "fault-user"
		cr := func(id string) passkey.Credential {
			return passkey.Credential{ID: []byte(id), UserID: user, UserHandle: []byte("h"), PublicKey: []byte{1, 2}, SignCount: 3,
				CreatedAt: time.Unix(1700000000, 0)}
		}
		// indexed checks that a stored credential has an index entry
		// naming its owner, and returns whether the credential is stored.
		indexed := func(t *testing.T, id string) bool {
			t.Helper()
			stored, err := admin.HExists(ctx, st.Prefix()+"pk:{"+user+"}", id).Result()
			must(t, err)
			owner, err := admin.Get(ctx, st.Prefix()+"pi:"+id).Result()
			if err != redis.Nil {
				must(t, err)
			}
			if stored && owner != user {
				t.Fatalf("credential %q is stored but its index entry names %q", id, owner)
			}
			got, found, err := clean.Passkeys().Get(ctx, []byte(id))
			must(t, err)
			if found != stored || (found && got.SignCount != 3) {
				t.Fatalf("Get(%q) = found %v (%+v); the hash holds it: %v", id, found, got, stored)
			}
			return stored
		}
		for _, mode := range []string{"before", "after"} {
			t.Run("Add/"+mode, func(t *testing.T) {
				for step := 0; ; step++ {
					id := fmt.Sprintf("add-%s-%d", mode, step)
					f.Arm(step, mode)
					added, err := st.Passkeys().Add(ctx, cr(id))
					seen := f.Seen()
					f.Arm(-1, "")
					stored := indexed(t, id)
					if err == nil && added != stored {
						t.Fatalf("step %d: Add = %v without error, stored %v", step, added, stored)
					}
					if err != nil && stored {
						t.Fatalf("step %d: Add failed (%v) but left the credential stored", step, err)
					}
					if step >= seen {
						if err != nil || !added {
							t.Fatalf("Add without a fault = %v, %v", added, err)
						}
						return
					}
				}
			})
			t.Run("Remove/"+mode, func(t *testing.T) {
				for step := 0; ; step++ {
					id := fmt.Sprintf("rm-%s-%d", mode, step)
					for _, c := range []passkey.Credential{cr(id), cr(id + "-other")} {
						if ok, err := clean.Passkeys().Add(ctx, c); err != nil || !ok {
							t.Fatalf("Add = %v, %v", ok, err)
						}
					}
					f.Arm(step, mode)
					res, err := st.Passkeys().Remove(ctx, user, []byte(id), true)
					seen := f.Seen()
					f.Arm(-1, "")
					stored := indexed(t, id)
					if err == nil && res.Removed == stored {
						t.Fatalf("step %d: Remove = %+v without error, stored %v", step, res, stored)
					}
					if !indexed(t, id+"-other") {
						t.Fatalf("step %d: Remove took the other credential", step)
					}
					if step >= seen {
						if err != nil || !res.Removed {
							t.Fatalf("Remove without a fault = %+v, %v", res, err)
						}
						return
					}
				}
			})
		}
	})
}

// TestPasskeysHaveNoExpiry checks that the credential hash and the id
// index carry no TTL: passkeys are user state, not expiring records.
func TestPasskeysHaveNoExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := newStore(t, b.client(t), redisstore.Config{})
		ctx := t.Context()
		c := passkey.Credential{ID: []byte("ttl"), UserID: "u", UserHandle: []byte("h"), PublicKey: []byte{1}, CreatedAt: time.Now()}
		if ok, err := st.Passkeys().Add(ctx, c); err != nil || !ok {
			t.Fatalf("Add = %v, %v", ok, err)
		}
		if ok, err := st.Passkeys().UpdateUse(ctx, c.ID, 0, passkey.Use{SignCount: 1, LastUsedAt: time.Now()}); err != nil || !ok {
			t.Fatalf("UpdateUse = %v, %v", ok, err)
		}
		for _, k := range []string{st.Prefix() + "pk:{u}", st.Prefix() + "pi:ttl"} {
			if d, err := b.client(t).Do(ctx, "PTTL", k).Int(); err != nil || d != -1 {
				t.Errorf("PTTL %s = %d, %v; want -1 (a key without expiry)", k, d, err)
			}
		}
	})
}

// TestPasskeysCorruptRecordIsAnError checks that a stored value that does
// not decode is an error for every read, never a missing credential.
func TestPasskeysCorruptRecordIsAnError(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := newStore(t, b.client(t), redisstore.Config{})
		ctx := t.Context()
		c := passkey.Credential{ID: []byte("bad"), UserID: "u", UserHandle: []byte("h"), PublicKey: []byte{1}}
		if ok, err := st.Passkeys().Add(ctx, c); err != nil || !ok {
			t.Fatalf("Add = %v, %v", ok, err)
		}
		must(t, b.client(t).HSet(ctx, st.Prefix()+"pk:{u}", "bad", "\x01garbage").Err())
		if _, found, err := st.Passkeys().Get(ctx, c.ID); err == nil {
			t.Errorf("Get of a corrupt record: found=%v, no error", found)
		}
		if _, err := st.Passkeys().List(ctx, "u"); err == nil {
			t.Error("List with a corrupt record: no error")
		}
		if _, err := st.Passkeys().UpdateUse(ctx, c.ID, 0, passkey.Use{SignCount: 1}); err == nil {
			t.Error("UpdateUse of a corrupt record: no error")
		}
	})
}
