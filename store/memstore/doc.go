// Package memstore holds in-memory implementations of every authkit store
// interface: the embedded default for tests, examples and single-process
// deployments.
//
// [New] returns a [Store] whose accessors (Sessions, RefreshTokens,
// NotBefore, MFA, TOTPReplay, Attempts, Tickets, Passkeys, Users, ...) are
// named like those of store/redisstore and store/sqlstore and share the
// Store's state.
//
// Every type here is safe for concurrent use, keeps all state in the value
// (no package-level state) and starts no goroutines. Expired entries are
// dropped lazily when they are touched, and each type also offers an explicit
// Purge method for a host that wants to reclaim memory on its own schedule.
//
// Data lives only as long as the process: use store/redisstore or
// store/sqlstore when several instances must share state or it must survive
// a restart.
package memstore
