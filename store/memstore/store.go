package memstore

import "time"

// Config configures [New].
type Config struct {
	// Now is the clock of every store (expiry, windows, the refresh-token
	// epoch); nil means time.Now. Tests inject one to expire records
	// without sleeping.
	Now func() time.Time
}

// Store holds one in-memory instance of each store contract, with the
// same accessors as store/redisstore and store/sqlstore. Each accessor
// returns the same value on every call, so everything reached through one
// Store shares its state (RefreshTokens and NotBefore are one value, as
// the per-user not-before lives with the refresh families).
type Store struct {
	sessions *Sessions
	refresh  *RefreshTokens
	mfa      *MFA
	replay   *TOTPReplay
	attempts *Attempts
	tickets  *Tickets
	passkeys *Passkeys
	users    *Users
	roles    *RoleAssignments
}

// New returns a Store whose every contract is empty. It returns an error
// for the same constructor shape as the other backends; no Config is
// invalid today, so the error is always nil.
func New(cfg Config) (*Store, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Store{
		sessions: newSessions(now),
		refresh:  newRefreshTokens(now),
		mfa:      newMFA(),
		replay:   newTOTPReplay(now),
		attempts: newAttempts(now),
		tickets:  newTickets(now),
		passkeys: newPasskeys(),
		users:    newUsers(),
		roles:    newRoleAssignments(),
	}, nil
}

// Sessions returns the [session.Store].
func (s *Store) Sessions() *Sessions { return s.sessions }

// RefreshTokens returns the [jwt.RefreshStore]: refresh families and the
// per-user not-before.
func (s *Store) RefreshTokens() *RefreshTokens { return s.refresh }

// NotBefore returns the [jwt.NotBeforeStore]: the same value as
// [Store.RefreshTokens], for a Verifier that needs only that part.
func (s *Store) NotBefore() *RefreshTokens { return s.refresh }

// MFA returns the [mfa.Store]: enrollments and backup codes.
func (s *Store) MFA() *MFA { return s.mfa }

// TOTPReplay returns the [mfa.ReplayStore].
func (s *Store) TOTPReplay() *TOTPReplay { return s.replay }

// Attempts returns the authkit.AttemptStore, which is also an
// [mfa.AttemptCounter].
func (s *Store) Attempts() *Attempts { return s.attempts }

// Tickets returns the authkit.TicketStore: single-use records of every
// purpose (password reset, email verification, OAuth state, MFA and
// passkey challenges).
func (s *Store) Tickets() *Tickets { return s.tickets }

// Passkeys returns the [passkey.CredentialStore].
func (s *Store) Passkeys() *Passkeys { return s.passkeys }

// Users returns the authkit.UserStore.
func (s *Store) Users() *Users { return s.users }

// RoleAssignments returns the [rbac.Store]; only memstore offers one.
func (s *Store) RoleAssignments() *RoleAssignments { return s.roles }

// Purge drops every expired record of every contract and returns how many
// sessions and tickets it dropped (the other contracts do
// not count). Correctness never depends on it; see [PurgeEvery].
func (s *Store) Purge() int {
	s.refresh.Purge()
	s.replay.Purge()
	s.attempts.Purge()
	return s.sessions.Purge() + s.tickets.Purge()
}
