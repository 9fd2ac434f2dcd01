package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/jwt"
)

// DefaultPrefix is the key prefix used when Config.Prefix is empty.
const DefaultPrefix = "authkit:"

// DefaultNotBeforeRetention is how long a per-user not-before time is kept
// when Config.NotBeforeRetention is zero: the longest access-token lifetime
// the jwt package allows ([jwt.MaxAccessTokenLifetime]) plus an hour for
// leeway and clock skew. After that every access token issued before the
// not-before time has expired anyway.
const DefaultNotBeforeRetention = jwt.MaxAccessTokenLifetime + time.Hour

// Config configures [New].
type Config struct {
	// Client is the Redis client: a *redis.Client (single node), a
	// failover (Sentinel) client or a *redis.ClusterClient. Required. The
	// store never closes it.
	Client redis.UniversalClient
	// Prefix is prepended to every key (default [DefaultPrefix],
	// "authkit:"), so several applications, or test cases, can share one
	// database. It must not contain '{' or '}', which would change the
	// hash tags that keep related keys in one Redis Cluster slot. Use "-"
	// for no prefix.
	Prefix string
	// Now is the clock that decides expiry when records are written and
	// read (default time.Now). Redis expires keys by its own clock; a
	// record is missing as soon as either clock says it has expired.
	// [jwt.RefreshStore.Rotate] takes its time as an argument instead.
	Now func() time.Time
	// RevokedFamilyRetention is no longer used: a revoked family's record
	// lives until the family's own expiry, and a token whose family record
	// is gone cannot rotate.
	//
	// Deprecated: ignored.
	RevokedFamilyRetention time.Duration
	// NotBeforeRetention is no longer used: not-before records never
	// expire, so no eviction or expiry can revive a revoked token.
	//
	// Deprecated: ignored.
	NotBeforeRetention time.Duration
	// Timeout bounds every call a method makes to Redis (default
	// [DefaultTimeout]): each method runs under a context that ends after
	// Timeout or when the caller's context ends, whichever comes first, so
	// a blackholed server answers a request in about Timeout instead of
	// go-redis's retries × read timeout. The client must honour context
	// deadlines (redis.Options.ContextTimeoutEnabled); see the package
	// documentation.
	Timeout time.Duration
	// UnsafeAllowEvictingPolicy skips the check [New] makes that every
	// master's maxmemory-policy is noeviction. authkit keeps revocation
	// tombstones, not-before times, MFA enrollments, replay records and
	// attempt counters in Redis; any other policy lets Redis drop them
	// under memory pressure (volatile-* policies included: those records
	// carry TTLs), which can revive revoked tokens or reset counters.
	// Set it only when the check cannot run (INFO is disabled) and the
	// policy is known to be noeviction.
	UnsafeAllowEvictingPolicy bool
}

// DefaultTimeout is the default [Config.Timeout].
const DefaultTimeout = 2 * time.Second

// Store holds the shared configuration of the Redis-backed stores. Its
// methods return one adapter per authkit store interface, all on the same
// client. A Store is safe for concurrent use and starts no goroutines.
type Store struct {
	rdb         redis.UniversalClient
	prefix      string
	now         func() time.Time
	retention   time.Duration
	nbRetention time.Duration
	timeout     time.Duration
}

var (
	// ErrInvalidConfig wraps every configuration error from [New].
	ErrInvalidConfig = errors.New("redisstore: invalid config")
	// ErrEvictingPolicy is returned by [New] (together with
	// ErrInvalidConfig) when a Redis master's maxmemory-policy is not
	// noeviction.
	ErrEvictingPolicy = errors.New("redisstore: maxmemory-policy can evict authkit's records")
)

// New validates cfg, checks that every Redis master (and every reachable
// Cluster replica) has maxmemory-policy noeviction (one INFO per node,
// under Config.Timeout; skipped with
// Config.UnsafeAllowEvictingPolicy) and returns a Store. A policy that can
// evict keys gives an error matching both [ErrInvalidConfig] and
// [ErrEvictingPolicy]; a server that cannot be asked gives the client's
// error.
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: Client is nil", ErrInvalidConfig)
	}
	prefix := cfg.Prefix
	switch prefix {
	case "":
		prefix = DefaultPrefix
	case "-":
		prefix = ""
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("%w: Prefix %q contains '{' or '}'", ErrInvalidConfig, prefix)
	}
	if cfg.RevokedFamilyRetention < 0 {
		return nil, fmt.Errorf("%w: RevokedFamilyRetention is negative", ErrInvalidConfig)
	}
	if cfg.NotBeforeRetention < 0 {
		return nil, fmt.Errorf("%w: NotBeforeRetention is negative", ErrInvalidConfig)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: Timeout is negative", ErrInvalidConfig)
	}
	s := &Store{
		rdb:         cfg.Client,
		prefix:      prefix,
		now:         cfg.Now,
		retention:   cfg.RevokedFamilyRetention,
		nbRetention: cfg.NotBeforeRetention,
		timeout:     cfg.Timeout,
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retention == 0 {
		s.retention = jwt.DefaultFamilyLifetime
	}
	if s.nbRetention == 0 {
		s.nbRetention = DefaultNotBeforeRetention
	}
	if !cfg.UnsafeAllowEvictingPolicy {
		ctx, cancel := s.bound(context.Background())
		defer cancel()
		if err := checkEviction(ctx, s.rdb); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkEviction reads maxmemory_policy from INFO memory on every master
// and on every reachable Cluster replica.
func checkEviction(ctx context.Context, rdb redis.UniversalClient) error {
	check := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return fmt.Errorf("redisstore: reading maxmemory-policy from %s (set Config.UnsafeAllowEvictingPolicy if INFO is disabled and the policy is noeviction): %w", c.Options().Addr, err)
		}
		policy := ""
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "maxmemory_policy:"); ok {
				policy = v
			}
		}
		if policy != "noeviction" {
			return fmt.Errorf("%w: %w: %s has maxmemory-policy %q; authkit needs noeviction", ErrInvalidConfig, ErrEvictingPolicy, c.Options().Addr, policy)
		}
		return nil
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		if err := c.ForEachMaster(ctx, check); err != nil {
			return err
		}
		// A replica becomes a master on failover, with its own
		// configuration, so each one that answers must say noeviction
		// too. One that cannot be asked now is skipped: it is not serving.
		return c.ForEachSlave(ctx, func(ctx context.Context, r *redis.Client) error {
			if err := check(ctx, r); errors.Is(err, ErrEvictingPolicy) {
				return err
			}
			return nil
		})
	case *redis.Ring:
		return c.ForEachShard(ctx, check)
	case *redis.Client:
		return check(ctx, c)
	}
	// Another UniversalClient (a wrapper): ask through it.
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return fmt.Errorf("redisstore: reading maxmemory-policy: %w", err)
	}
	if !strings.Contains(info, "maxmemory_policy:noeviction") {
		return fmt.Errorf("%w: %w: maxmemory-policy is not noeviction", ErrInvalidConfig, ErrEvictingPolicy)
	}
	return nil
}

// bound returns ctx limited to Config.Timeout; the caller's own deadline
// stays in force when it is sooner. Every method that talks to Redis
// starts with
//
//	ctx, cancel := x.s.bound(ctx)
//	defer cancel()
//
// so all the commands of one method share one deadline. The helpers below
// (run, runMany, take, setOrDelete) apply it too, which never extends a
// deadline the method already set.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Client returns the client the store was built with.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Prefix returns the effective key prefix.
func (s *Store) Prefix() string { return s.prefix }

// esc makes an opaque id safe inside a key: '%', ':', '{' and '}' are
// percent-encoded, so a component never contains a separator or a brace.
// Keys are therefore unambiguous (no two (kind, id) pairs give one key) and
// the only hash tags in a key are the ones this package puts there. Every
// other byte, NUL and invalid UTF-8 included, is kept as is: Redis keys are
// binary-safe.
func esc(id string) string {
	if !strings.ContainsAny(id, "%:{}") {
		return id
	}
	var b strings.Builder
	b.Grow(len(id) + 8)
	for i := 0; i < len(id); i++ {
		switch c := id[i]; c {
		case '%':
			b.WriteString("%25")
		case ':':
			b.WriteString("%3A")
		case '{':
			b.WriteString("%7B")
		case '}':
			b.WriteString("%7D")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// key returns prefix + kind + ":" + esc(id).
func (s *Store) key(kind, id string) string {
	return s.prefix + kind + ":" + esc(id)
}

// tagged returns prefix + kind + ":{" + esc(tag) + "}", a key in the Redis
// Cluster slot of tag.
func (s *Store) tagged(kind, tag string) string {
	return s.prefix + kind + ":{" + esc(tag) + "}"
}

// wrap prefixes a client error with the operation and keeps the chain, so
// errors.Is(err, context.Canceled) holds for a cancelled ctx.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// ctxErr returns a wrapped ctx.Err() if ctx is done. Methods that may
// finish without a command (nothing to do) call it so a cancelled ctx
// still gives an error.
func ctxErr(op string, ctx context.Context) error {
	return wrap(op, ctx.Err())
}

// ms is t in Unix milliseconds, the unit of sorted-set scores and of
// stored window ends here. Sub-millisecond parts are rounded up, so Redis never drops
// a key before its expiry.
func ms(t time.Time) int64 {
	m := t.UnixMilli()
	if time.UnixMilli(m).Before(t) {
		m++
	}
	return m
}

// us is t in Unix microseconds, the unit of times that Lua scripts compare
// (below 2^53, so exact in Lua's doubles); "" for the zero time.
func us(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

// fromUS parses a time written by us.
func fromUS(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("redisstore: corrupt time %q", v)
	}
	return time.UnixMicro(n), nil
}

// run executes a script: EVALSHA, falling back to EVAL when the node does
// not have it cached yet (go-redis routes both to the node that owns the
// first key, so this works on a Cluster too).
func (s *Store) run(ctx context.Context, sc *redis.Script, keys []string, args ...any) *redis.Cmd {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return sc.Run(ctx, s.rdb, keys, args...)
}

// ttl is the time from now until exp in whole milliseconds, rounded up,
// for a relative expiry (PX, PEXPIRE): Redis counts it on its own clock,
// so a server clock that differs from the application's can neither drop
// a record early nor keep it longer than its lifetime. It is < 1 when exp
// is not after now.
func ttl(now, exp time.Time) int64 {
	d := exp.Sub(now)
	m := d.Milliseconds()
	if time.Duration(m)*time.Millisecond < d {
		m++
	}
	return m
}

// indexPrune removes members from the sorted set KEYS[1] if their score is
// still the one given: ARGV holds member, score pairs. A member that was
// re-added meanwhile has a new score and stays.
var indexPrune = redis.NewScript(`
for i = 1, #ARGV, 2 do
  local sc = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if sc and tonumber(sc) == tonumber(ARGV[i+1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return 1
`)

// setOrDelete stores value under key until exp (SET … PX, relative to
// Config.Now, so Redis counts the lifetime on its own clock), or deletes
// key when exp is not after now (Redis rejects a non-positive PX, and the
// record must be missing afterwards either way).
func (s *Store) setOrDelete(ctx context.Context, op, key string, value []byte, exp time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	px := ttl(s.now(), exp)
	if px < 1 {
		return wrap(op, s.rdb.Del(ctx, key).Err())
	}
	return wrap(op, s.rdb.Set(ctx, key, value, time.Duration(px)*time.Millisecond).Err())
}

// call is one invocation of a script in [Store.runMany].
type call struct {
	keys []string
	args []any
}

// runMany runs sc once per call in one pipeline (on a Cluster, go-redis
// splits it by node and sends the parts in parallel). Calls that fail with
// NOSCRIPT were not executed and are sent again with EVAL. The error is the
// first command error other than redis.Nil.
func (s *Store) runMany(ctx context.Context, sc *redis.Script, calls []call) ([]*redis.Cmd, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	cmds := make([]*redis.Cmd, len(calls))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range calls {
			cmds[i] = sc.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	var retry []int
	for i, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") || errors.Is(c.Err(), redis.ErrNoScript) {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range retry {
				cmds[i] = sc.Eval(ctx, p, calls[i].keys, calls[i].args...)
			}
			return nil
		})
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil && err != redis.Nil {
			return cmds, err
		}
	}
	if err := ctx.Err(); err != nil && len(cmds) == 0 {
		return cmds, err
	}
	return cmds, nil
}

// take atomically reads and deletes key (GETDEL): of concurrent calls at
// most one gets found=true.
func (s *Store) take(ctx context.Context, op, key string) ([]byte, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	b, err := s.rdb.GetDel(ctx, key).Bytes()
	if err == redis.Nil {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(op, err)
	}
	return b, true, nil
}
