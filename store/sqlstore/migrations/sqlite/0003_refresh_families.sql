-- authkit sqlstore schema, version 2 (SQLite): refresh families.
-- A family row holds the sign-in facts and the revocation; a token row
-- points to its family and, once rotated, to its successor with the
-- successor sealed for retries. Tokens of the version-1 layout had no
-- family row and could never rotate again: they are dropped.
CREATE TABLE {T}refresh_families (
	family_id BLOB PRIMARY KEY,
	user_id BLOB NOT NULL,
	family_expiry INTEGER NOT NULL,
	auth_time INTEGER,
	amr TEXT NOT NULL,
	acr TEXT NOT NULL,
	mfa INTEGER NOT NULL,
	revoked INTEGER NOT NULL
);
CREATE INDEX {N}refresh_families_user ON {T}refresh_families (user_id);
CREATE INDEX {N}refresh_families_expiry ON {T}refresh_families (family_expiry);

DELETE FROM {T}refresh_tokens;
DROP TABLE {T}refresh_revoked;
ALTER TABLE {T}refresh_tokens ADD COLUMN next_id BLOB;
ALTER TABLE {T}refresh_tokens ADD COLUMN sealed BLOB;

-- The store epoch: the time from which the store knows it holds every
-- not-before; NotBefore never returns an earlier time.
CREATE TABLE {T}refresh_epoch (
	id INTEGER PRIMARY KEY,
	epoch INTEGER NOT NULL
);

-- The epoch starts at zero: an upgraded database keeps its tokens; a
-- truncated one recreates it with the current time (see RefreshTokens).
INSERT INTO {T}refresh_epoch (id, epoch) VALUES (1, 0);
