-- One table for every single-use record that expires (reset and
-- verification links, OAuth state, MFA challenges, passkey ceremonies),
-- namespaced by purpose; each user of it encodes its own record into data.
-- It replaces the three tables that kept one kind each. Their rows are
-- short-lived (minutes) and are dropped, not copied: a login, link or OAuth
-- round trip in flight during the upgrade has to be started again.
CREATE TABLE {T}tickets (
	purpose BLOB NOT NULL,
	key BLOB NOT NULL,
	data BLOB NOT NULL,
	expiry INTEGER NOT NULL,
	PRIMARY KEY (purpose, key)
);
CREATE INDEX {N}tickets_expiry ON {T}tickets (expiry);
DROP TABLE {T}mfa_challenges;
DROP TABLE {T}oauth_states;
DROP TABLE {T}one_time_tokens;
