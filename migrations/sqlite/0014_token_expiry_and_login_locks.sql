-- motcua schema, version 14 (SQLite): API tokens expire and record their last use.
--
-- A token made before this version expires 90 days after the upgrade (instants in the fixed
-- width UTC text every instant of this schema uses). The column stays nullable because SQLite
-- cannot add a NOT NULL column without a default; motcua always writes it, and a token
-- without one is refused.

ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;

UPDATE api_tokens SET expires_at = strftime('%Y-%m-%dT%H:%M:%f', 'now', '+90 days') || '000Z'
WHERE expires_at IS NULL;

-- An account's tokens: its list, and the revocation of them all by a password reset or a
-- disable.
CREATE INDEX api_tokens_staff ON api_tokens (staff_id);
