-- motcua schema, version 14 (PostgreSQL): API tokens expire and record their last use.
--
-- A token made before this version expires 90 days after the upgrade.

ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz, ADD COLUMN last_used_at timestamptz;

UPDATE api_tokens SET expires_at = now() + interval '90 days' WHERE expires_at IS NULL;

ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL;

-- An account's tokens: its list, and the revocation of them all by a password reset or a
-- disable.
CREATE INDEX api_tokens_staff ON api_tokens (staff_id);
