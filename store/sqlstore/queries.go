package sqlstore

// queries holds every statement, rendered once by New for the store's
// table names. Placeholders are $1…$N in both dialects (SQLite reads $NNN
// as a numbered parameter). Statements that differ by dialect are chosen
// here, so the adapters contain no dialect switches.
type queries struct {
	refreshCreate, refreshUse, refreshPeek, refreshRevokeFamily, refreshRevokeUser string
	notBeforeSet, notBeforeGet                                                     string

	mfaGet, mfaCreate, mfaUpdate, mfaDeleteEnrollment, mfaDeleteCodes string
	mfaInsertCode, mfaUseCode                                         string
	replayAdvance                                                     string
	challengeSave, challengeTake                                      string

	stateSave, stateTake string

	attemptIncr, attemptCount, attemptReset string

	oneTimeSave, oneTimeTake string

	userByLogin, userByID, userCreate, userEmailTaken, userLock, userUpdate, userSetHash, userCount string

	purge []string
}

func buildQueries(s *Store) queries {
	greatest := "GREATEST"
	forUpdate := " FOR UPDATE"
	if s.dialect == SQLite {
		greatest = "MAX" // SQLite's multi-argument scalar max()
		forUpdate = ""   // the whole transaction holds the write lock (BEGIN IMMEDIATE)
	}
	r := s.render
	q := queries{
		refreshCreate: r(`INSERT INTO {T}refresh_tokens (id, family_id, user_id, issued_at, expiry, family_expiry, used_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET family_id = excluded.family_id, user_id = excluded.user_id, issued_at = excluded.issued_at,
	expiry = excluded.expiry, family_expiry = excluded.family_expiry, used_at = excluded.used_at`),
		// The winner of a race is decided by this single conditional UPDATE:
		// only one statement can move used_at from NULL to a value.
		refreshUse: r(`UPDATE {T}refresh_tokens AS t SET used_at = $2
WHERE t.id = $1 AND t.used_at IS NULL AND t.expiry > $2
	AND NOT EXISTS (SELECT 1 FROM {T}refresh_revoked AS r WHERE r.family_id = t.family_id)
RETURNING family_id, user_id, issued_at, expiry, family_expiry`),
		refreshPeek: r(`SELECT t.family_id, t.user_id, t.issued_at, t.expiry, t.family_expiry, t.used_at FROM {T}refresh_tokens AS t
WHERE t.id = $1 AND t.expiry > $2
	AND NOT EXISTS (SELECT 1 FROM {T}refresh_revoked AS r WHERE r.family_id = t.family_id)`),
		// The tombstone lives until the family's latest absolute expiry
		// (or $2, now + RevokedFamilyRetention, for an unknown family).
		refreshRevokeFamily: r(`INSERT INTO {T}refresh_revoked AS x (family_id, expiry)
SELECT $1, COALESCE(MAX(t.family_expiry), $2) FROM {T}refresh_tokens AS t WHERE t.family_id = $1
ON CONFLICT (family_id) DO UPDATE SET expiry = ` + greatest + `(x.expiry, excluded.expiry)`),
		refreshRevokeUser: r(`INSERT INTO {T}refresh_revoked AS x (family_id, expiry)
SELECT t.family_id, COALESCE(MAX(t.family_expiry), $2) FROM {T}refresh_tokens AS t WHERE t.user_id = $1 GROUP BY t.family_id
ON CONFLICT (family_id) DO UPDATE SET expiry = ` + greatest + `(x.expiry, excluded.expiry)`),
		notBeforeSet: r(`INSERT INTO {T}not_before AS x (user_id, not_before) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET not_before = excluded.not_before WHERE x.not_before < excluded.not_before`),
		notBeforeGet: r(`SELECT not_before FROM {T}not_before WHERE user_id = $1`),

		mfaGet: r(`SELECT version, secret, confirmed_at, pending, pending_at, pending_replaces FROM {T}mfa_enrollments WHERE user_id = $1`),
		// Compare-and-set writes: create only if absent, update only the
		// expected version (the row lock serializes writers on PostgreSQL).
		mfaCreate: r(`INSERT INTO {T}mfa_enrollments (user_id, version, secret, confirmed_at, pending, pending_at, pending_replaces)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO NOTHING`),
		mfaUpdate: r(`UPDATE {T}mfa_enrollments SET version = $2, secret = $3, confirmed_at = $4, pending = $5, pending_at = $6,
	pending_replaces = $7 WHERE user_id = $1 AND version = $8`),
		mfaDeleteEnrollment: r(`DELETE FROM {T}mfa_enrollments WHERE user_id = $1`),
		mfaDeleteCodes:      r(`DELETE FROM {T}mfa_backup_codes WHERE user_id = $1`),
		mfaInsertCode:       r(`INSERT INTO {T}mfa_backup_codes (user_id, code_mac) VALUES ($1, $2) ON CONFLICT DO NOTHING`),
		mfaUseCode:          r(`DELETE FROM {T}mfa_backup_codes WHERE user_id = $1 AND code_mac = $2`),
		// Inserts, or updates only if the old record expired or the new
		// step is greater; RETURNING yields a row only when it wrote.
		replayAdvance: r(`INSERT INTO {T}totp_replay AS x (user_id, step, expiry) VALUES ($1, $2, $3)
ON CONFLICT (user_id) DO UPDATE SET step = excluded.step, expiry = excluded.expiry
	WHERE x.expiry <= $4 OR x.step < excluded.step
RETURNING step`),
		challengeSave: r(`INSERT INTO {T}mfa_challenges (id, user_id, password_at, expiry, attempts, data) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, password_at = excluded.password_at, expiry = excluded.expiry,
	attempts = excluded.attempts, data = excluded.data`),
		challengeTake: r(`DELETE FROM {T}mfa_challenges WHERE id = $1 RETURNING user_id, password_at, expiry, attempts, data`),

		stateSave: r(`INSERT INTO {T}oauth_states (id, verifier, nonce, redirect_uri, return_to, expiry) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET verifier = excluded.verifier, nonce = excluded.nonce, redirect_uri = excluded.redirect_uri,
	return_to = excluded.return_to, expiry = excluded.expiry`),
		stateTake: r(`DELETE FROM {T}oauth_states WHERE id = $1 RETURNING verifier, nonce, redirect_uri, return_to, expiry`),

		// A fixed window: it starts with the first Incr on an absent or
		// expired row ($2 is now, $3 now + window) and is never extended.
		attemptIncr: r(`INSERT INTO {T}attempts AS x (id, n, window_end) VALUES ($1, 1, $3)
ON CONFLICT (id) DO UPDATE SET
	n = CASE WHEN x.window_end > $2 THEN x.n + 1 ELSE 1 END,
	window_end = CASE WHEN x.window_end > $2 THEN x.window_end ELSE excluded.window_end END
RETURNING n, window_end`),
		attemptCount: r(`SELECT n, window_end FROM {T}attempts WHERE id = $1 AND window_end > $2`),
		attemptReset: r(`DELETE FROM {T}attempts WHERE id = $1`),

		oneTimeSave: r(`INSERT INTO {T}one_time_tokens (id, purpose, user_id, email, expiry) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET purpose = excluded.purpose, user_id = excluded.user_id, email = excluded.email, expiry = excluded.expiry`),
		oneTimeTake: r(`DELETE FROM {T}one_time_tokens WHERE id = $1 RETURNING purpose, user_id, email, expiry`),

		userByLogin:    r(`SELECT ` + userCols + ` FROM {T}users WHERE email = $1`),
		userByID:       r(`SELECT ` + userCols + ` FROM {T}users WHERE id = $1`),
		userCreate:     r(`INSERT INTO {T}users (` + userCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`),
		userEmailTaken: r(`SELECT 1 FROM {T}users WHERE email = $1`),
		userLock:       r(`SELECT ` + userCols + ` FROM {T}users WHERE id = $1` + forUpdate),
		userUpdate:     r(`UPDATE {T}users SET email_verified = $2, password_hash = $3, roles = $4, disabled = $5, created_at = $6, mfa_enabled = $7 WHERE id = $1`),
		userSetHash:    r(`UPDATE {T}users SET password_hash = $2 WHERE id = $1`),
		userCount:      r(`SELECT COUNT(*) FROM {T}users`),
	}
	q.purge = []string{
		r(`DELETE FROM {T}sessions WHERE expiry <= $1`),
		r(`DELETE FROM {T}refresh_tokens WHERE expiry <= $1 OR family_id IN (SELECT family_id FROM {T}refresh_revoked)`),
		r(`DELETE FROM {T}refresh_revoked WHERE expiry <= $1`),
		r(`DELETE FROM {T}totp_replay WHERE expiry <= $1`),
		r(`DELETE FROM {T}mfa_challenges WHERE expiry <= $1`),
		r(`DELETE FROM {T}oauth_states WHERE expiry <= $1`),
		r(`DELETE FROM {T}attempts WHERE window_end <= $1`),
		r(`DELETE FROM {T}one_time_tokens WHERE expiry <= $1`),
	}
	return q
}
