-- Users keep User.MFAEnabled: the login flow refuses a password login whose
-- account has the flag but no MFA enrollment (a lost enrollment never turns
-- the second factor off). Existing accounts start without the flag; the
-- flow sets it at their next login when an enrollment exists.
ALTER TABLE {T}users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE;
