// Package redisstore implements authkit's store interfaces on Redis through
// github.com/redis/go-redis/v9, so several instances of an application
// share sessions, refresh tokens, MFA state, counters and rate limits (a
// middleware.WindowLimiter counts on [Store.Attempts]).
//
// The store takes a redis.UniversalClient: a single node (*redis.Client),
// Sentinel (a failover client) or Redis Cluster (*redis.ClusterClient). It
// needs Redis 6.2 or newer (GETDEL, ZADD … GT) and never closes the
// client.
//
//	rdb := redis.NewClient(&redis.Options{
//		Addr:                  "127.0.0.1:6379",
//		ContextTimeoutEnabled: true, // let Config.Timeout cut a blackholed call
//		MaxRetries:            1,
//	})
//	st, err := redisstore.New(redisstore.Config{Client: rdb})
//	sessions, _ := session.New(session.Config{Store: st.Sessions()})
//
// # Redis settings authkit needs
//
// Redis holds security records here: refresh-family tombstones, not-before
// times ("log out everywhere"), MFA enrollments, TOTP replay records,
// attempt counters. Losing one can revive a revoked token, turn a used code
// valid again or reset a lockout, so:
//
//   - maxmemory-policy must be noeviction on every master and every
//     replica (a replica becomes a master on failover). Every other
//     policy, volatile-* included (most of these records carry TTLs), lets
//     Redis drop them under memory pressure, and an attacker can create
//     that pressure (failed logins create counters). [New] asks each master
//     and each reachable Cluster replica (INFO memory) and refuses to start
//     otherwise with [ErrEvictingPolicy];
//     Config.UnsafeAllowEvictingPolicy skips the check, for servers where
//     INFO is disabled and the policy is known. With noeviction a full
//     Redis answers writes with an error, on which authkit fails closed.
//     The check runs once: it cannot see a policy changed later (CONFIG
//     SET, a node added to the Cluster) nor Sentinel's replicas, so keep
//     noeviction in every node's configuration file.
//   - Persistence (appendonly yes with appendfsync everysec, or RDB
//     snapshots plus replicas) so a restart does not forget revocations;
//     data written since the last fsync or snapshot can still be lost, and
//     a restore from an older backup brings back what was revoked after it.
//
// # Deadlines
//
// Every method runs its Redis calls under Config.Timeout (default 2 s),
// never longer than the caller's context, so a blackholed server costs a
// request about that long instead of go-redis's MaxRetries × ReadTimeout
// (20 s with the defaults). go-redis applies a context's deadline to
// socket reads only with ContextTimeoutEnabled: true; set it, keep
// MaxRetries low (1 or 2: a retried script can only err on the safe side,
// see Failures) and ReadTimeout no longer than Config.Timeout.
// # Adapters
//
// One [Store] hands out an adapter per interface, all on the same client
// and key prefix: [Store.Sessions] (session.Store, with a per-user index),
// [Store.RefreshTokens] (jwt.RefreshStore: families, atomic retry-safe
// Rotate, revocation, the per-user not-before; [Store.NotBefore] is the
// same adapter),
// [Store.MFA] (mfa.Store: enrollments and backup codes),
// [Store.TOTPReplay] (mfa.ReplayStore), [Store.Tickets]
// (authkit.TicketStore: MFA challenges, OAuth states, reset and
// verification tokens, passkey ceremonies),
// [Store.Attempts] (authkit.AttemptStore and mfa.AttemptCounter) and
// [Store.Passkeys] (passkey.CredentialStore). Each passes the conformance suite of its
// interface against a single node and against a 3-master Cluster.
//
// # Key layout
//
// Every key starts with Config.Prefix ("authkit:" by default). Ids are
// opaque: in a key, '%', ':', '{' and '}' are percent-encoded, so no id can
// forge a separator or a hash tag, and every other byte (NUL, invalid
// UTF-8, '*', quotes) is kept literally. With U a user id, F a refresh
// family id and the other names the ids the interfaces take:
//
//	s:<id>           hash (u, d)  session record             expires with the record
//	su:U             zset         U's session ids, score = expiry (ms); expires with the latest
//	rt:{S}:<id>      hash         refresh token              PX until its Expiry
//	rf:{S}:F         hash         family, sign-in facts, revoked flag  PX until FamilyExpiry
//	ru:{S}:U         zset         U's family keys, score = FamilyExpiry
//	nb:{S}:U         string       not-before (µs)            no expiry
//	ep:{S}           hash (s, a)  the shard's store epoch    no expiry
//	me:{U}           string       MFA enrollment             no expiry
//	mb:{U}           set          backup-code MACs           no expiry
//	pk:{U}           hash         U's passkeys, field = credential id  no expiry
//	pi:<id>          string       owner (U) of a credential id         no expiry
//	tr:U             string       last TOTP step             expiry given to Advance
//	tk:<purpose>:<key> string     ticket (expiry, data)      PX until its expiry
//	at:<key>         hash (n, e)  attempt counter            its window end
//
// A middleware.WindowLimiter on [Store.Attempts] keeps its counts under
// at:, its key prefix ("rl:" by default) percent-encoded like any key.
//
// Every key expires except the MFA enrollment and backup codes and the
// passkeys with their id index, which are user state like a row of a users
// table and stay until [MFA.Delete] or [Passkeys.Remove], and
// the not-before and epoch records (S is the user's shard,
// jwt.RefreshShard; see [RefreshTokens]), whose loss must never revive a
// revoked token. Writing a record whose expiry has already passed deletes
// the key instead (Redis rejects a non-positive PX).
//
// # Atomicity and Redis Cluster
//
// Every "exactly one winner" operation is a single command or Lua script,
// atomic on the server whichever process calls it: refresh rotation is one
// script that checks the family, the not-before and the epoch, marks the
// token used and stores its successor; TOTP replay is a compare-and-set
// script; backup codes are spent with SREM; tickets with GETDEL;
// the attempt counter and the not-before time are scripts; a
// passkey's sign count and name are compare-and-set scripts on the user's
// hash, and removing a passkey under keepLast counts and deletes in one
// script.
//
// A script that touches several keys keeps them in one Cluster slot
// through a hash tag: every refresh record of a user shares {S}; the MFA
// enrollment and the backup codes share {U}, and so do a user's passkeys.
// Nothing else needs a tag.
// Records that are looked up by their own id alone (a session, a passkey's
// id index entry) live in
// their own slots, and the per-user session index su:U is updated by
// separate single-key commands:
//
//   - Session Create, Update and Rotate add the id to su:U before they write
//     the record, and Delete removes the record before the entry, so every
//     stored record is indexed, while an entry may outlive its record.
//     Update writes only over a live record; Rotate leaves a marker naming
//     the new id in place of the old record; DeleteUser deletes the listed
//     records of the user, follows markers and tombstones ids a Rotate has
//     not created yet, so no write that read a session before "log out
//     everywhere" can bring it back (see [Sessions]).
//   - Passkey Add reserves the credential id in pi:<id> with SET NX (which
//     makes it unique across all users) before it writes the credential
//     into pk:{U}, and Remove deletes the credential before the index
//     entry, so every stored passkey is indexed, while an entry may
//     outlive its credential and then keeps the id reserved (see
//     [Passkeys]).
//
// Round trips: session Find (a read-only request through the session
// middleware) 1; session Create and Update 1 for an anonymous session, 2
// for a user's, Rotate 3; refresh Rotate 1, Create 1; every other
// read or atomic operation 1; passkey List 1, Get 2, Add 2, Remove 2,
// UpdateUse 3 (index, read, compare-and-set).
//
// # Clocks
//
// Config.Now decides expiry when records are written and read: a record is
// missing as soon as Config.Now says it has expired, even if Redis still
// holds it. Redis is told how long a record has left (SET … PX, PEXPIRE),
// never an absolute time of the application's clock, so it counts the
// lifetime on its own clock: a server clock ahead of the application's
// cannot drop a record (or an attempt counter) early, and one behind cannot
// keep it longer. The attempt counter's script also gives a counter that
// lost its TTL a new one, so no counter lives without an expiry.
//
// # Failures
//
// Every method returns the client's error (wrapped with %w, so
// errors.Is(err, context.Canceled) holds for a cancelled ctx) when Redis
// cannot be reached or answers with an error; a read never reports
// found=false for an error, and a corrupt stored value is an error too, so
// callers such as session.Manager fail closed. go-redis reconnects by
// itself: when the server comes back the store works again without a
// restart. go-redis retries a command after a network error (MaxRetries);
// for the atomic operations a retried command can only err on the safe side
// (a refresh token seen as already used, a backup code or a step as spent,
// one extra failure counted).
package redisstore
