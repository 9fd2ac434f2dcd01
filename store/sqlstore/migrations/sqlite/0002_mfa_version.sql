-- MFA enrollments get a version for compare-and-set writes (a write that
-- read the enrollment before it was deleted must not bring it back) and a
-- flag saying a pending key was authorized to replace the active one.
-- Existing rows get random nonzero versions; pending keys started before
-- this migration may not replace an active key (start them again).
ALTER TABLE {T}mfa_enrollments ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {T}mfa_enrollments ADD COLUMN pending_replaces INTEGER NOT NULL DEFAULT 0;
UPDATE {T}mfa_enrollments SET version = random() | 1;
-- Backup codes are now replaced under the enrollment row's lock.
DROP TABLE {T}mfa_backup_sets;
