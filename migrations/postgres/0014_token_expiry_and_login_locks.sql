-- motcua schema, version 14 (PostgreSQL): API tokens expire and record their last use, and the
-- wrong-password count of each account name is kept in the database, so that a lock survives
-- a restart of the server and every server process of one database sees it.
--
-- A token made before this version expires 90 days after the upgrade.

ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz, ADD COLUMN last_used_at timestamptz;

UPDATE api_tokens SET expires_at = now() + interval '90 days' WHERE expires_at IS NULL;

ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL;

-- An account's tokens: its list, and the revocation of them all by a password reset or a
-- disable.
CREATE INDEX api_tokens_staff ON api_tokens (staff_id);

-- Wrong passwords per account name (trimmed, lower case), whether an account of that name
-- exists or not. `locked_at` is set when the count reaches the lock; only an administrator's
-- unlock (or a right password before the lock) removes the row.
CREATE TABLE login_failures (
    account         text        PRIMARY KEY,
    failures        integer     NOT NULL CHECK (failures > 0),
    last_failure_at timestamptz NOT NULL,
    locked_at       timestamptz
);
