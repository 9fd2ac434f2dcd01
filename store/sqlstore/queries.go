package sqlstore

// queries holds every statement, rendered once by New for the store's
// table names. Placeholders are $1…$N in both dialects (SQLite reads $NNN
// as a numbered parameter). Statements that differ by dialect are chosen
// here, so the adapters contain no dialect switches.
type queries struct {
	mfaGet, mfaCreate, mfaUpdate, mfaDeleteEnrollment, mfaDeleteCodes string
	mfaInsertCode, mfaUseCode                                         string
	replayAdvance                                                     string

	attemptIncr, attemptCount, attemptReset string

	ticketPut, ticketDelete, ticketTake string

	userByLogin, userByID, userCreate, userEmailTaken, userLock, userUpdate, userSetHash, userCount string

	purge []string
}

func buildQueries(s *Store) queries {
	forUpdate := " FOR UPDATE"
	if s.dialect == SQLite {
		forUpdate = "" // the whole transaction holds the write lock (BEGIN IMMEDIATE)
	}
	r := s.render
	q := queries{
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
		// A fixed window: it starts with the first Incr on an absent or
		// expired row ($2 is now, $3 now + window) and is never extended.
		attemptIncr: r(`INSERT INTO {T}attempts AS x (id, n, window_end) VALUES ($1, 1, $3)
ON CONFLICT (id) DO UPDATE SET
	n = CASE WHEN x.window_end > $2 THEN x.n + 1 ELSE 1 END,
	window_end = CASE WHEN x.window_end > $2 THEN x.window_end ELSE excluded.window_end END
RETURNING n, window_end`),
		attemptCount: r(`SELECT n, window_end FROM {T}attempts WHERE id = $1 AND window_end > $2`),
		attemptReset: r(`DELETE FROM {T}attempts WHERE id = $1`),

		ticketPut: r(`INSERT INTO {T}tickets (purpose, key, data, expiry) VALUES ($1, $2, $3, $4)
ON CONFLICT (purpose, key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`),
		ticketDelete: r(`DELETE FROM {T}tickets WHERE purpose = $1 AND key = $2`),
		// One statement finds and deletes the row, so of concurrent Takes
		// one gets it; an expired row is deleted too, and only a live one
		// returns data ($3 is now).
		ticketTake: r(`DELETE FROM {T}tickets WHERE purpose = $1 AND key = $2 RETURNING expiry > $3, data`),

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
		r(`DELETE FROM {T}refresh_tokens WHERE expiry <= $1
	OR family_id IN (SELECT family_id FROM {T}refresh_families WHERE revoked = 1 OR family_expiry <= $1)`),
		r(`DELETE FROM {T}refresh_families WHERE family_expiry <= $1`),
		r(`DELETE FROM {T}totp_replay WHERE expiry <= $1`),
		r(`DELETE FROM {T}attempts WHERE window_end <= $1`),
		r(`DELETE FROM {T}tickets WHERE expiry <= $1`),
	}
	return q
}
