-- authkit sqlstore schema, version 2 (PostgreSQL): refresh families.
-- A family row holds the sign-in facts and the revocation; a token row
-- points to its family and, once rotated, to its successor with the
-- successor sealed for retries. Tokens of the version-1 layout had no
-- family row and could never rotate again: they are dropped.
CREATE TABLE {T}refresh_families (
	family_id BYTEA PRIMARY KEY,
	user_id BYTEA NOT NULL,
	family_expiry BIGINT NOT NULL,
	auth_time BIGINT,
	amr TEXT NOT NULL,
	acr TEXT NOT NULL,
	mfa BIGINT NOT NULL,
	revoked BIGINT NOT NULL
);
CREATE INDEX {N}refresh_families_user ON {T}refresh_families (user_id);
CREATE INDEX {N}refresh_families_expiry ON {T}refresh_families (family_expiry);

DELETE FROM {T}refresh_tokens;
DROP TABLE {T}refresh_revoked;
ALTER TABLE {T}refresh_tokens ADD COLUMN next_id BYTEA;
ALTER TABLE {T}refresh_tokens ADD COLUMN sealed BYTEA;

-- The store epoch: the time from which the store knows it holds every
-- not-before; NotBefore never returns an earlier time.
CREATE TABLE {T}refresh_epoch (
	id BIGINT PRIMARY KEY,
	epoch BIGINT NOT NULL
);

-- The epoch starts at zero: an upgraded database keeps its tokens; a
-- truncated one recreates it with the current time (see RefreshTokens).
INSERT INTO {T}refresh_epoch (id, epoch) VALUES (1, 0);
