package oauthtest_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/oauth/oauthtest"
	"github.com/authkit-go/authkit/store/memstore"
)

// brokenStore is a configurable faulty StateStore.
type brokenStore struct {
	mu          sync.Mutex
	m           map[string]oauth.Pending
	noDelete    bool // Take leaves the entry: replayable state
	nonAtomic   bool // Take reads and deletes under separate locks
	readers     int  // Take calls that have read a value (nonAtomic only)
	ignoreExp   bool // expired entries are returned
	ignoreCtx   bool // cancelled contexts succeed
	noOverwrite bool // Save keeps the first value
	prefixMatch bool // Take matches keys by prefix, like an unescaped glob
}

func (b *brokenStore) Save(ctx context.Context, state string, p oauth.Pending) error {
	if !b.ignoreCtx && ctx.Err() != nil {
		return ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[state]; ok && b.noOverwrite {
		return nil
	}
	b.m[state] = p
	return nil
}

func (b *brokenStore) Take(ctx context.Context, state string) (oauth.Pending, bool, error) {
	if !b.ignoreCtx && ctx.Err() != nil {
		return oauth.Pending{}, false, ctx.Err()
	}
	b.mu.Lock()
	p, ok := b.m[state]
	if !ok && b.prefixMatch {
		for k, v := range b.m {
			if strings.HasPrefix(k, state) {
				p, ok, state = v, true, k
				break
			}
		}
	}
	if b.nonAtomic {
		// Widen the window between read and delete until a second caller
		// has read the same state (bounded), so the broken behaviour shows
		// whenever the suite really takes concurrently, even on a loaded
		// machine where goroutines would otherwise run one after another.
		b.readers++
		for i := 0; i < 500 && b.readers < 2; i++ {
			b.mu.Unlock()
			runtime.Gosched()
			time.Sleep(time.Millisecond)
			b.mu.Lock()
		}
	}
	if !b.noDelete {
		delete(b.m, state)
	}
	b.mu.Unlock()
	if !ok || (!b.ignoreExp && !time.Now().Before(p.Expiry)) {
		return oauth.Pending{}, false, nil
	}
	return p, true, nil
}

func TestTestStateStoreCatchesBrokenStores(t *testing.T) {
	t.Parallel()
	var goodErr error
	goodDone := make(chan struct{})
	go func() {
		defer close(goodDone)
		goodErr = oauthtest.TestStateStore(func() (oauth.StateStore, error) { return memstore.NewOAuthStates(nil), nil })
	}()
	cases := []struct {
		name  string
		store func() *brokenStore
		want  string
	}{
		{"O2_replayable_state", func() *brokenStore { return &brokenStore{noDelete: true} }, "take_once"},
		{"non_atomic_take", func() *brokenStore { return &brokenStore{nonAtomic: true} }, "atomic_take"},
		{"expired_returned", func() *brokenStore { return &brokenStore{ignoreExp: true} }, "expired_is_missing"},
		{"ttl_ignored", func() *brokenStore { return &brokenStore{ignoreExp: true} }, "short_ttl_honoured"},
		{"ctx_ignored", func() *brokenStore { return &brokenStore{ignoreCtx: true} }, "cancelled_context"},
		{"no_overwrite", func() *brokenStore { return &brokenStore{noOverwrite: true} }, "overwrite"},
		{"prefix_match", func() *brokenStore { return &brokenStore{prefixMatch: true} }, "hostile_ids"},
	}
	// The cases run concurrently (not as parallel subtests, which -parallel
	// would serialize on a small machine): each waits ~2.6 s for the TTL case.
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = oauthtest.TestStateStore(func() (oauth.StateStore, error) {
				b := c.store()
				b.m = map[string]oauth.Pending{}
				return b, nil
			})
		}()
	}
	wg.Wait()
	<-goodDone
	if goodErr != nil {
		t.Fatalf("memstore fails the suite: %v", goodErr)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := errs[i]; err == nil || !strings.Contains(err.Error(), "oauthtest: "+c.want+":") {
				t.Fatalf("suite did not flag case %q; got: %v", c.want, err)
			}
		})
	}
}
