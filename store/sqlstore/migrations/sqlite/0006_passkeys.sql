-- Passkeys (WebAuthn credentials): user state like a users row, kept until
-- removed. The credential id is unique across all users; user_id is the
-- authkit user, user_handle the WebAuthn user.id, name the user's label
-- (bytes: stored exactly as given). transports is a JSON array of strings,
-- sign_count the last signature counter (0 .. 2^32-1).
CREATE TABLE {T}passkeys (
	id BLOB PRIMARY KEY,
	user_id BLOB NOT NULL,
	user_handle BLOB NOT NULL,
	name BLOB NOT NULL,
	public_key BLOB NOT NULL,
	attestation_format TEXT NOT NULL,
	aaguid BLOB NOT NULL,
	transports TEXT NOT NULL,
	sign_count INTEGER NOT NULL,
	user_verified INTEGER NOT NULL,
	backup_eligible INTEGER NOT NULL,
	backup_state INTEGER NOT NULL,
	created_at INTEGER,
	last_used_at INTEGER
);
CREATE INDEX {N}passkeys_user ON {T}passkeys (user_id);
