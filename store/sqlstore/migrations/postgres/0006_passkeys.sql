-- Passkeys (WebAuthn credentials): user state like a users row, kept until
-- removed. The credential id is unique across all users; user_id is the
-- authkit user, user_handle the WebAuthn user.id, name the user's label
-- (bytes: stored exactly as given). transports is a JSON array of strings,
-- sign_count the last signature counter (0 .. 2^32-1).
CREATE TABLE {T}passkeys (
	id BYTEA PRIMARY KEY,
	user_id BYTEA NOT NULL,
	user_handle BYTEA NOT NULL,
	name BYTEA NOT NULL,
	public_key BYTEA NOT NULL,
	attestation_format TEXT NOT NULL,
	aaguid BYTEA NOT NULL,
	transports TEXT NOT NULL,
	sign_count BIGINT NOT NULL,
	user_verified BOOLEAN NOT NULL,
	backup_eligible BOOLEAN NOT NULL,
	backup_state BOOLEAN NOT NULL,
	created_at BIGINT,
	last_used_at BIGINT
);
CREATE INDEX {N}passkeys_user ON {T}passkeys (user_id);
