// Package redisstore implements authkit's store interfaces and a rate
// limiter on Redis through github.com/redis/go-redis/v9, so several
// instances of an application share sessions, refresh tokens, MFA state,
// counters and rate limits.
//
// The store takes a redis.UniversalClient: a single node (*redis.Client),
// Sentinel (a failover client) or Redis Cluster (*redis.ClusterClient). It
// needs Redis 6.2 or newer (GETDEL, SET … PXAT, ZADD … GT) and never
// closes the client.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	st, _ := redisstore.New(redisstore.Config{Client: rdb})
//	sessions, _ := session.New(session.Config{Store: st.Sessions()})
//
// # Adapters
//
// One [Store] hands out an adapter per interface, all on the same client
// and key prefix: [Store.Sessions] (session.Store, with a per-user index),
// [Store.RefreshTokens] (jwt.RefreshStore: families, atomic Use,
// revocation tombstones), [Store.NotBefore] (jwt.NotBeforeStore),
// [Store.MFA] (mfa.Store: enrollments and backup codes),
// [Store.TOTPReplay] (mfa.ReplayStore), [Store.Challenges]
// (mfa.ChallengeStore), [Store.OAuthStates] (oauth.StateStore),
// [Store.Attempts] (authkit.AttemptStore and mfa.AttemptCounter),
// [Store.OneTimeTokens] (authkit.OneTimeTokenStore) and [Store.Limiter]
// (middleware.Limiter, GCRA). Each passes the conformance suite of its
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
//	rt:{F}:<id>      hash         refresh token              expires at its Expiry
//	rf:{F}           hash (x, r)  family: latest expiry, revoked tombstone
//	rp:<id>          string       F of token <id>            expires at its Expiry
//	ru:U             zset         U's refresh families, score = FamilyExpiry (ms)
//	nb:U             string       not-before (µs)            NotBeforeRetention after it
//	me:{U}           string       MFA enrollment             no expiry
//	mb:{U}           set          backup-code MACs           no expiry
//	tr:U             string       last TOTP step             expiry given to Advance
//	ch:<key>         string       MFA challenge              its Expiry
//	os:<state>       string       OAuth transaction          its Expiry
//	ot:<hash>        string       one-time token             its Expiry
//	at:<key>         hash (n, e)  attempt counter            its window end
//	rl:<name>:<key>  string       GCRA arrival time (µs)     when the bucket is full again
//
// Every key expires (PEXPIREAT or SET … PXAT) except the MFA enrollment and
// backup codes, which are user state like a row of a users table and stay
// until [MFA.Delete]. Writing a record whose expiry has already passed
// deletes the key instead (Redis rejects a negative PX).
//
// # Atomicity and Redis Cluster
//
// Every "exactly one winner" operation is a single command or Lua script,
// atomic on the server whichever process calls it: refresh-token Use is a
// script that checks the family's tombstone and the expiry and sets
// UsedAt; TOTP replay is a compare-and-set script; backup codes are spent
// with SREM; MFA challenges, OAuth states and one-time tokens with GETDEL;
// the attempt counter, the not-before time and the limiter are scripts.
//
// A script that touches several keys keeps them in one Cluster slot
// through a hash tag: a refresh token and its family share {F}; the MFA
// enrollment and the backup codes share {U}. Nothing else needs a tag.
// Records that are looked up by their own id alone (a session, the
// pointer from a refresh-token id to its family) live in their own slots,
// and the per-user indexes (su:U, ru:U) are updated by separate
// single-key commands:
//
//   - Session Create, Update and Rotate add the id to su:U before they write
//     the record, and Delete removes the record before the entry, so every
//     stored record is indexed, while an entry may outlive its record.
//     Update writes only over a live record; Rotate leaves a marker naming
//     the new id in place of the old record; DeleteUser deletes the listed
//     records of the user, follows markers and tombstones ids a Rotate has
//     not created yet, so no write that read a session before "log out
//     everywhere" can bring it back (see [Sessions]).
//   - Refresh-token Create adds F to ru:U before it writes the token, so
//     RevokeUser (which tombstones every family in ru:U) sees every family
//     created before it started.
//   - Refresh-token Use reads the pointer rp:<id> first (the jwt package
//     derives the id from the token, so the family is not known): two round
//     trips, in exchange for an atomic tombstone check in the family's slot.
//
// Round trips: session Find (a read-only request through the session
// middleware) 1; session Create and Update 1 for an anonymous session, 2
// for a user's, Rotate 3; refresh Use 2, Create 2; every other
// read or atomic operation 1.
//
// # Clocks
//
// Config.Now decides expiry when records are written and read: a record is
// missing as soon as Config.Now says it has expired, even if Redis still
// holds it, and Redis drops it by its own clock. The [Limiter] reads the
// Redis server's clock inside its script instead, so all processes decide on
// one clock.
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
