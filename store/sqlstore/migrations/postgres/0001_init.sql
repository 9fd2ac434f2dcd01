-- authkit sqlstore schema, version 1 (PostgreSQL).
-- {T} is the (schema-qualified) table prefix, {N} the bare prefix for index names.
-- Times are Unix microseconds (BIGINT); NULL is the zero time.
-- Opaque ids are BYTEA so that any Go string is stored literally.

CREATE TABLE {T}sessions (
	id BYTEA PRIMARY KEY,
	user_id BYTEA,
	secret_hash BYTEA NOT NULL,
	data BYTEA NOT NULL,
	created_at BIGINT,
	last_seen BIGINT,
	idle_expiry BIGINT,
	absolute_expiry BIGINT,
	expiry BIGINT NOT NULL,
	ip TEXT NOT NULL,
	user_agent TEXT NOT NULL
);
CREATE INDEX {N}sessions_user ON {T}sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX {N}sessions_expiry ON {T}sessions (expiry);

CREATE TABLE {T}refresh_tokens (
	id BYTEA PRIMARY KEY,
	family_id BYTEA NOT NULL,
	user_id BYTEA NOT NULL,
	issued_at BIGINT,
	expiry BIGINT NOT NULL,
	family_expiry BIGINT,
	used_at BIGINT
);
CREATE INDEX {N}refresh_tokens_family ON {T}refresh_tokens (family_id);
CREATE INDEX {N}refresh_tokens_user ON {T}refresh_tokens (user_id);
CREATE INDEX {N}refresh_tokens_expiry ON {T}refresh_tokens (expiry);

CREATE TABLE {T}refresh_revoked (
	family_id BYTEA PRIMARY KEY,
	expiry BIGINT NOT NULL
);

CREATE TABLE {T}not_before (
	user_id BYTEA PRIMARY KEY,
	not_before BIGINT NOT NULL
);

CREATE TABLE {T}mfa_enrollments (
	user_id BYTEA PRIMARY KEY,
	secret BYTEA,
	confirmed_at BIGINT,
	pending BYTEA,
	pending_at BIGINT
);

CREATE TABLE {T}mfa_backup_sets (
	user_id BYTEA PRIMARY KEY,
	replaced_at BIGINT NOT NULL
);

CREATE TABLE {T}mfa_backup_codes (
	user_id BYTEA NOT NULL,
	code_mac BYTEA NOT NULL,
	PRIMARY KEY (user_id, code_mac)
);

CREATE TABLE {T}totp_replay (
	user_id BYTEA PRIMARY KEY,
	step BIGINT NOT NULL,
	expiry BIGINT NOT NULL
);
CREATE INDEX {N}totp_replay_expiry ON {T}totp_replay (expiry);

CREATE TABLE {T}mfa_challenges (
	id BYTEA PRIMARY KEY,
	user_id BYTEA NOT NULL,
	password_at BIGINT,
	expiry BIGINT NOT NULL,
	attempts BIGINT NOT NULL,
	data BYTEA NOT NULL
);
CREATE INDEX {N}mfa_challenges_expiry ON {T}mfa_challenges (expiry);

CREATE TABLE {T}oauth_states (
	id BYTEA PRIMARY KEY,
	verifier BYTEA NOT NULL,
	nonce BYTEA NOT NULL,
	redirect_uri BYTEA NOT NULL,
	return_to BYTEA NOT NULL,
	expiry BIGINT NOT NULL
);
CREATE INDEX {N}oauth_states_expiry ON {T}oauth_states (expiry);

CREATE TABLE {T}attempts (
	id BYTEA PRIMARY KEY,
	n BIGINT NOT NULL,
	window_end BIGINT NOT NULL
);
CREATE INDEX {N}attempts_window_end ON {T}attempts (window_end);

CREATE TABLE {T}one_time_tokens (
	id BYTEA PRIMARY KEY,
	purpose BYTEA NOT NULL,
	user_id BYTEA NOT NULL,
	email BYTEA NOT NULL,
	expiry BIGINT NOT NULL
);
CREATE INDEX {N}one_time_tokens_expiry ON {T}one_time_tokens (expiry);

CREATE TABLE {T}users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL,
	email_verified BOOLEAN NOT NULL,
	password_hash TEXT NOT NULL,
	roles TEXT NOT NULL,
	disabled BOOLEAN NOT NULL,
	created_at BIGINT
);
CREATE UNIQUE INDEX {N}users_email ON {T}users (email);
