package memstore

import (
	"context"
	"sync"
	"time"
)

// Attempts is the in-memory authkit.AttemptStore (and mfa.AttemptCounter):
// failure counts per key within a fixed window. The zero value is ready to
// use. It is safe for concurrent use; Incr is atomic (ASVS 15.4.2). Expired
// keys are dropped when touched or by [Attempts.Purge].
type Attempts struct {
	nowFn func() time.Time

	mu   sync.Mutex
	keys map[string]attemptsEntry
}

type attemptsEntry struct {
	n   int
	end time.Time
}

// newAttempts returns an empty Attempts on the clock now (nil means
// time.Now).
func newAttempts(now func() time.Time) *Attempts { return &Attempts{nowFn: now} }

func (a *Attempts) now() time.Time {
	if a.nowFn != nil {
		return a.nowFn()
	}
	return time.Now()
}

// Incr implements authkit.AttemptStore. A window <= 0 is treated as already
// expired: the count is 1 and the key is not kept.
func (a *Attempts) Incr(ctx context.Context, key string, window time.Duration) (int, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.keys[key]
	if !ok || !now.Before(e.end) {
		e = attemptsEntry{end: now.Add(window)}
	}
	e.n++
	if !now.Before(e.end) {
		delete(a.keys, key)
		return e.n, e.end, nil
	}
	if a.keys == nil {
		a.keys = make(map[string]attemptsEntry)
	}
	a.keys[key] = e
	return e.n, e.end, nil
}

// Count implements authkit.AttemptStore.
func (a *Attempts) Count(ctx context.Context, key string) (int, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.keys[key]
	if !ok {
		return 0, time.Time{}, nil
	}
	if !now.Before(e.end) {
		delete(a.keys, key)
		return 0, time.Time{}, nil
	}
	return e.n, e.end, nil
}

// Reset implements authkit.AttemptStore.
func (a *Attempts) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.keys, key)
	return nil
}

// Purge drops every expired key.
func (a *Attempts) Purge() {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, e := range a.keys {
		if !now.Before(e.end) {
			delete(a.keys, k)
		}
	}
}

// Len returns the number of keys held, expired ones not yet purged included.
func (a *Attempts) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.keys)
}
