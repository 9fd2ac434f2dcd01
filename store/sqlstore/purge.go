package sqlstore

import "context"

// Purge deletes every row that has expired by Config.Now (sessions,
// refresh tokens and the tokens of revoked families, expired revocation
// tombstones, TOTP replay records, attempt windows, and tickets such as
// MFA challenges, OAuth states, reset and verification tokens and passkey
// ceremonies) and returns how many rows it removed. Expired
// rows are already invisible to reads, so Purge only reclaims space; the
// store never runs it on its own. Call it from a job the host controls,
// e.g. every few minutes. Users, enrollments, backup codes and not-before
// times do not expire and are never purged.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	now := s.nowMicros()
	var total int64
	for _, q := range s.q.purge {
		res, err := s.db.ExecContext(ctx, q, now)
		if err != nil {
			return total, wrap("purge", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap("purge", err)
		}
		total += n
	}
	return total, nil
}
