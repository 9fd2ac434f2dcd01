package redisstore_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/internal/storetestkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/redisstore"
)

func TestNewConfig(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled: no eviction check
	defer c.Close()
	tests := []struct {
		name       string
		cfg        redisstore.Config
		wantErr    bool
		wantPrefix string
	}{
		{"nil client", redisstore.Config{}, true, ""},
		{"default prefix", redisstore.Config{Client: c}, false, "authkit:"},
		{"no prefix", redisstore.Config{Client: c, Prefix: "-"}, false, ""},
		{"custom prefix", redisstore.Config{Client: c, Prefix: "app1:"}, false, "app1:"},
		{"open brace", redisstore.Config{Client: c, Prefix: "a{"}, true, ""},
		{"close brace", redisstore.Config{Client: c, Prefix: "a}"}, true, ""},
		{"negative retention", redisstore.Config{Client: c, RevokedFamilyRetention: -1}, true, ""},
		{"negative not-before retention", redisstore.Config{Client: c, NotBeforeRetention: -1}, true, ""},
		{"negative timeout", redisstore.Config{Client: c, Timeout: -1}, true, ""},
	}
	for _, tt := range tests {
		tt.cfg.UnsafeAllowEvictingPolicy = true
		st, err := redisstore.New(tt.cfg)
		if tt.wantErr {
			if !errors.Is(err, redisstore.ErrInvalidConfig) {
				t.Errorf("%s: err = %v, want ErrInvalidConfig", tt.name, err)
			}
			continue
		}
		if err != nil || st.Prefix() != tt.wantPrefix {
			t.Errorf("%s: prefix %q, err %v; want %q", tt.name, st.Prefix(), err, tt.wantPrefix)
		}
	}
}

// scanKeys returns every key under prefix, on every master of a Cluster.
func scanKeys(t *testing.T, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	ctx := t.Context()
	var keys []string
	scan := func(ctx context.Context, n redis.UniversalClient) error {
		ks, err := n.Keys(ctx, prefix+"*").Result()
		keys = append(keys, ks...)
		return err
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		var mu sync.Mutex // ForEachMaster calls f concurrently
		var all [][]string
		err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			ks, err := n.Keys(ctx, prefix+"*").Result()
			mu.Lock()
			all = append(all, ks)
			mu.Unlock()
			return err
		})
		must(t, err)
		for _, ks := range all {
			keys = append(keys, ks...)
		}
	} else {
		must(t, scan(ctx, c))
	}
	sort.Strings(keys)
	return keys
}

// TestKeyLayoutAndTTL exercises every adapter with hostile ids, then checks
// that the keys are exactly the documented layout (ids escaped, hash tags
// where doc.go says) and that every key has a TTL except the MFA
// enrollment and backup codes, so nothing leaks.
func TestKeyLayoutAndTTL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := b.client(t)
		st := newStore(t, c, redisstore.Config{})
		ctx := t.Context()
		now := time.Now()
		const id, user, fam = "i{d}:%*", "u:{x}", "f}{"
		rec := session.Record{UserID: user, IdleExpiry: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}
		must(t, st.Sessions().Create(ctx, id, rec))
		rid := jwt.RefreshTokenID(jwt.RefreshTokenPrefix + jwt.RefreshShard(user) + strings.Repeat("A", 43))
		if ok, err := st.RefreshTokens().Create(ctx, jwt.RefreshToken{ID: rid, FamilyID: fam, UserID: user,
			Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(2 * time.Hour), SignIn: jwt.SignIn{AuthTime: now}}); err != nil || !ok {
			t.Fatalf("refresh Create: %v %v", ok, err)
		}
		must(t, st.NotBefore().SetNotBefore(ctx, user, now))
		storetestkit.SeedMFA(t, st.MFA(), user, []byte("c"))
		if _, err := st.TOTPReplay().Advance(ctx, user, 1, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		must(t, st.Tickets().Put(ctx, user, id, []byte("x"), now.Add(time.Minute)))
		if _, _, err := st.Attempts().Incr(ctx, id, time.Minute); err != nil {
			t.Fatal(err)
		}

		p := st.Prefix()
		const eid, euser, efam = "i%7Bd%7D%3A%25*", "u%3A%7Bx%7D", "f%7D%7B"
		sh := "{" + jwt.RefreshShard(user) + "}"
		want := []string{
			p + "at:" + eid,
			p + "ep:" + sh,
			p + "mb:{" + euser + "}",
			p + "me:{" + euser + "}",
			p + "nb:" + sh + ":" + euser,
			p + "rf:" + sh + ":" + efam,
			p + "rt:" + sh + ":" + rid,
			p + "ru:" + sh + ":" + euser,
			p + "s:" + eid,
			p + "su:" + euser,
			p + "tk:" + euser + ":" + eid,
			p + "tr:" + euser,
		}
		sort.Strings(want)
		got := scanKeys(t, c, p)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("keys:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, k := range got {
			ttl, err := c.PTTL(ctx, k).Result()
			must(t, err)
			permanent := strings.HasPrefix(k, p+"me:") || strings.HasPrefix(k, p+"mb:") ||
				strings.HasPrefix(k, p+"nb:") || strings.HasPrefix(k, p+"ep:")
			if permanent != (ttl < 0) {
				t.Errorf("key %q: PTTL %v (permanent=%v)", k, ttl, permanent)
			}
		}
		// Keys that scripts use together share a slot.
		slot := func(k string) int64 {
			if cc, ok := c.(*redis.ClusterClient); ok {
				n, err := cc.ClusterKeySlot(ctx, k).Result()
				must(t, err)
				return n
			}
			return 0
		}
		if slot(p+"rt:"+sh+":"+rid) != slot(p+"nb:"+sh+":"+euser) || slot(p+"me:{"+euser+"}") != slot(p+"mb:{"+euser+"}") {
			t.Error("keys of one family or user in different slots")
		}
	})
}

// TestSessionIndex checks the per-user index beyond the conformance suite:
// a session rotated to another user leaves the old user's list, a stale
// entry is skipped by ListUser, the index expires with its latest session
// (relative to Redis's clock), and DeleteUser never
// deletes a record that an (injected) stale entry points to but that now
// belongs to someone else.
func TestSessionIndex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := b.client(t)
		st := newStore(t, c, redisstore.Config{})
		ss := st.Sessions()
		ctx := t.Context()
		p := st.Prefix()
		now := time.Now()
		rec := func(user string, d time.Duration) session.Record {
			return session.Record{UserID: user, IdleExpiry: now.Add(d), AbsoluteExpiry: now.Add(time.Hour)}
		}
		must(t, ss.Create(ctx, "s1", rec("alice", 10*time.Minute)))
		must(t, ss.Create(ctx, "s2", rec("alice", 20*time.Minute)))
		ttl, err := c.PTTL(ctx, p+"su:alice").Result()
		must(t, err)
		if ttl < 19*time.Minute || ttl > 20*time.Minute+time.Second {
			t.Errorf("index TTL %v, want the latest session's (20m)", ttl)
		}

		// Rotate s1 to bob's s3: alice's list no longer shows it.
		if found, err := ss.Rotate(ctx, "s1", "s3", rec("bob", 10*time.Minute)); err != nil || !found {
			t.Fatalf("Rotate = %v, %v", found, err)
		}

		// A stale entry: s2's record vanishes behind the store's back (as if
		// Redis had evicted it). ListUser skips it.
		must(t, c.Del(ctx, p+"s:s2").Err())
		m, err := ss.ListUser(ctx, "alice")
		must(t, err)
		if len(m) != 0 {
			t.Errorf("ListUser(alice) = %v, want empty", m)
		}

		// An injected stale entry for bob's session in alice's index:
		// DeleteUser(alice) must not delete it.
		must(t, c.ZAdd(ctx, p+"su:alice", redis.Z{Score: float64(now.Add(time.Hour).UnixMilli()), Member: "s3"}).Err())
		must(t, ss.DeleteUser(ctx, "alice"))
		if _, found, err := ss.Find(ctx, "s3"); err != nil || !found {
			t.Errorf("DeleteUser(alice) deleted bob's session: found=%v err=%v", found, err)
		}
		if n, _ := c.Exists(ctx, p+"su:alice").Result(); n != 0 {
			t.Error("alice's index survives DeleteUser")
		}
	})
}

// TestCorruptRecordFailsClosed stores garbage where a record should be:
// reads report an error, never found=false.
func TestCorruptRecordFailsClosed(t *testing.T) {
	t.Parallel()
	c := singleClient(t)
	st := newStore(t, c, redisstore.Config{})
	ctx := t.Context()
	p := st.Prefix()
	must(t, c.HSet(ctx, p+"s:x", "u", "alice", "d", "\x02garbage").Err())
	must(t, c.Set(ctx, p+"tk:x:x", "\x01\xff", time.Minute).Err())
	must(t, c.Set(ctx, p+"nb:{"+jwt.RefreshShard("x")+"}:x", "soon", time.Minute).Err())
	if _, _, err := st.Sessions().Find(ctx, "x"); err == nil {
		t.Error("Sessions.Find of a corrupt record: err=nil")
	}
	if _, err := st.Sessions().ListUser(ctx, "alice"); err != nil {
		t.Errorf("ListUser without index entries: %v", err)
	}
	if _, _, err := st.Tickets().Take(ctx, "x", "x"); err == nil {
		t.Error("Tickets.Take of a corrupt record: err=nil")
	}
	if _, _, err := st.NotBefore().NotBefore(ctx, "x"); err == nil {
		t.Error("NotBefore of a corrupt record: err=nil")
	}
}

// TestRefreshRecordsLifetime: a family and its tokens expire with their
// lifetimes (relative TTLs), a revoked family keeps its record until then,
// and the not-before and epoch records never expire.
func TestRefreshRecordsLifetime(t *testing.T) {
	t.Parallel()
	c := singleClient(t)
	st := newStore(t, c, redisstore.Config{})
	m, err := jwt.NewRefreshManager(jwt.RefreshManagerConfig{Store: st.RefreshTokens(), Lifetime: time.Hour, FamilyLifetime: 2 * time.Hour})
	must(t, err)
	ctx := t.Context()
	tok, rec, err := m.Issue(ctx, "u", jwt.SignIn{})
	must(t, err)
	must(t, m.Revoke(ctx, tok))
	p, sh := st.Prefix(), "{"+jwt.RefreshShard("u")+"}"
	ttl := func(k string) time.Duration {
		d, err := c.PTTL(ctx, k).Result()
		must(t, err)
		return d
	}
	if d := ttl(p + "rf:" + sh + ":" + rec.FamilyID); d < 2*time.Hour-time.Minute || d > 2*time.Hour {
		t.Errorf("revoked family: TTL %v, want its 2h lifetime", d)
	}
	if d := ttl(p + "rt:" + sh + ":" + rec.ID); d < time.Hour-time.Minute || d > time.Hour {
		t.Errorf("token: TTL %v, want its 1h lifetime", d)
	}
	must(t, m.RevokeUser(ctx, "u"))
	for _, k := range []string{p + "nb:" + sh + ":u", p + "ep:" + sh} {
		if d := ttl(k); d != -1 {
			t.Errorf("%s: PTTL %v, want none (-1)", k, d)
		}
	}
}
