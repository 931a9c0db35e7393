-- motcua schema, version 14 (SQLite): API tokens expire and record their last use, and the
-- wrong-password count of each account name is kept in the database, so that a lock survives
-- a restart of the server and every server process of one database sees it.
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

-- Wrong passwords per account name (trimmed, lower case), whether an account of that name
-- exists or not. `locked_at` is set when the count reaches the lock; only an administrator's
-- unlock (or a right password before the lock) removes the row.
CREATE TABLE login_failures (
    account         TEXT    PRIMARY KEY NOT NULL,
    failures        INTEGER NOT NULL CHECK (failures > 0),
    last_failure_at TEXT    NOT NULL,
    locked_at       TEXT
) WITHOUT ROWID;
