package passkey_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
)

// Discoverable sign-ins of many users finish at once (run with -race):
// each resolves to its own user and credential, nothing of one finish
// leaks into another.
func TestConcurrentDiscoverableSignInsEachResolveToTheirOwner(t *testing.T) {
	const users, rounds = 8, 4
	r := newRig(t)
	ctx := context.Background()
	devs := make([]*passkeytest.Authenticator, users)
	ids := make([][]byte, users)
	for u := range users {
		devs[u] = passkeytest.New(origin)
		ids[u] = registerOn(t, r.p, devs[u], sessA, fmt.Sprint("user-", u)).ID
	}
	type job struct {
		user int
		resp []byte
	}
	var jobs []job
	for u := range users {
		for range rounds {
			opts, err := r.p.BeginLogin(ctx, fmt.Sprint("browser-", u), u%2 == 0)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := devs[u].Get(opts.JSON)
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, job{u, resp})
		}
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			res, err := r.p.FinishLogin(ctx, fmt.Sprint("browser-", j.user), j.resp)
			switch {
			case err != nil:
				// Counters of one authenticator finished out of order
				// may be refused as clones; never another user.
				if !errors.Is(err, passkey.ErrClonedAuthenticator) {
					t.Errorf("user %d: %v", j.user, err)
				}
			case res.UserID != fmt.Sprint("user-", j.user) || !bytes.Equal(res.Credential.ID, ids[j.user]):
				t.Errorf("user %d signed in as %q with %x", j.user, res.UserID, res.Credential.ID)
			}
		})
	}
	wg.Wait()
}

// Synced passkeys report counter 0 forever: assertions finished at once,
// all reading the credential before any writes, all sign in and the
// counter stays 0; device-bound keys without a counter likewise.
func TestConcurrentZeroCounterSignInsAllSucceed(t *testing.T) {
	for _, synced := range []bool{true, false} {
		t.Run(fmt.Sprint("synced=", synced), func(t *testing.T) {
			const n = 8
			r := newRig(t)
			r.auth.BackupEligible, r.auth.BackupState = synced, synced
			r.auth.StaticCounter = true
			id := r.register(t, "alice")
			resps := make([][]byte, n)
			for i := range resps {
				resps[i] = r.assertion(t)
			}
			for i, err := range finishAtOnce(t, r, resps) {
				if err != nil {
					t.Errorf("zero counter sign-in %d: %v", i, err)
				}
			}
			if c, _, _ := r.creds.Get(context.Background(), id); c.SignCount != 0 || c.BackupEligible != synced {
				t.Fatalf("stored count %d BE %v, want 0 and %v", c.SignCount, c.BackupEligible, synced)
			}
		})
	}
}

// One assertion finished at once on two instances sharing the stores
// signs in once; every other finish is a replay, and the synced
// credential's 0/0 counter acceptance does not open a second success.
func TestOneAssertionOnTwoInstancesSignsInOnce(t *testing.T) {
	r := newRig(t)
	r.auth.BackupEligible, r.auth.BackupState, r.auth.StaticCounter = true, true, true
	r.register(t, "alice")
	ps := []*passkey.Passkeys{r.p, r.sibling(t, nil)}
	for _, knownUser := range []bool{false, true} {
		var resp []byte
		if knownUser {
			opts, err := r.p.BeginLoginFor(context.Background(), sessA, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if resp, err = r.auth.Get(opts.JSON); err != nil {
				t.Fatal(err)
			}
		} else {
			resp = r.assertion(t)
		}
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				_, err := ps[i%2].FinishLogin(context.Background(), sessA, resp)
				switch {
				case err == nil:
					ok.Add(1)
				case !errors.Is(err, passkey.ErrReplay):
					t.Errorf("unexpected error %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("knownUser=%v: %d successes, want 1", knownUser, ok.Load())
		}
	}
}
