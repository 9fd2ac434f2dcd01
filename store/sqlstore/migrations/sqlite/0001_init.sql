-- authkit sqlstore schema, version 1 (SQLite).
-- {T} is the (schema-qualified) table prefix, {N} the bare prefix for index names.
-- Times are Unix microseconds (INTEGER); NULL is the zero time.
-- Opaque ids are BLOBs so that any Go string is stored literally.

CREATE TABLE {T}sessions (
	id BLOB PRIMARY KEY,
	user_id BLOB,
	secret_hash BLOB NOT NULL,
	data BLOB NOT NULL,
	created_at INTEGER,
	last_seen INTEGER,
	idle_expiry INTEGER,
	absolute_expiry INTEGER,
	expiry INTEGER NOT NULL,
	ip TEXT NOT NULL,
	user_agent TEXT NOT NULL
);
CREATE INDEX {N}sessions_user ON {T}sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX {N}sessions_expiry ON {T}sessions (expiry);

CREATE TABLE {T}refresh_tokens (
	id BLOB PRIMARY KEY,
	family_id BLOB NOT NULL,
	user_id BLOB NOT NULL,
	issued_at INTEGER,
	expiry INTEGER NOT NULL,
	family_expiry INTEGER,
	used_at INTEGER
);
CREATE INDEX {N}refresh_tokens_family ON {T}refresh_tokens (family_id);
CREATE INDEX {N}refresh_tokens_user ON {T}refresh_tokens (user_id);
CREATE INDEX {N}refresh_tokens_expiry ON {T}refresh_tokens (expiry);

CREATE TABLE {T}refresh_revoked (
	family_id BLOB PRIMARY KEY,
	expiry INTEGER NOT NULL
);

CREATE TABLE {T}not_before (
	user_id BLOB PRIMARY KEY,
	not_before INTEGER NOT NULL
);

CREATE TABLE {T}mfa_enrollments (
	user_id BLOB PRIMARY KEY,
	secret BLOB,
	confirmed_at INTEGER,
	pending BLOB,
	pending_at INTEGER
);

CREATE TABLE {T}mfa_backup_sets (
	user_id BLOB PRIMARY KEY,
	replaced_at INTEGER NOT NULL
);

CREATE TABLE {T}mfa_backup_codes (
	user_id BLOB NOT NULL,
	code_mac BLOB NOT NULL,
	PRIMARY KEY (user_id, code_mac)
);

CREATE TABLE {T}totp_replay (
	user_id BLOB PRIMARY KEY,
	step INTEGER NOT NULL,
	expiry INTEGER NOT NULL
);
CREATE INDEX {N}totp_replay_expiry ON {T}totp_replay (expiry);

CREATE TABLE {T}mfa_challenges (
	id BLOB PRIMARY KEY,
	user_id BLOB NOT NULL,
	password_at INTEGER,
	expiry INTEGER NOT NULL,
	attempts INTEGER NOT NULL,
	data BLOB NOT NULL
);
CREATE INDEX {N}mfa_challenges_expiry ON {T}mfa_challenges (expiry);

CREATE TABLE {T}oauth_states (
	id BLOB PRIMARY KEY,
	verifier BLOB NOT NULL,
	nonce BLOB NOT NULL,
	redirect_uri BLOB NOT NULL,
	return_to BLOB NOT NULL,
	expiry INTEGER NOT NULL
);
CREATE INDEX {N}oauth_states_expiry ON {T}oauth_states (expiry);

CREATE TABLE {T}attempts (
	id BLOB PRIMARY KEY,
	n INTEGER NOT NULL,
	window_end INTEGER NOT NULL
);
CREATE INDEX {N}attempts_window_end ON {T}attempts (window_end);

CREATE TABLE {T}one_time_tokens (
	id BLOB PRIMARY KEY,
	purpose BLOB NOT NULL,
	user_id BLOB NOT NULL,
	email BLOB NOT NULL,
	expiry INTEGER NOT NULL
);
CREATE INDEX {N}one_time_tokens_expiry ON {T}one_time_tokens (expiry);

CREATE TABLE {T}users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL,
	email_verified INTEGER NOT NULL,
	password_hash TEXT NOT NULL,
	roles TEXT NOT NULL,
	disabled INTEGER NOT NULL,
	created_at INTEGER
);
CREATE UNIQUE INDEX {N}users_email ON {T}users (email);
