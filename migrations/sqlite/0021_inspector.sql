-- motcua schema, version 21 (SQLite): the inspector role (thanh tra).
--
-- An inspector reads everything in its scope (the whole city with no agency of its own, else
-- the agencies it is given) and changes nothing; the server decides what each role may do, the
-- schema only which role names an account may have. SQLite cannot change a CHECK in place, so
-- `staff` is rebuilt with the same columns, ids and AUTOINCREMENT counter. Dropping the old
-- table deletes the rows that refer to it (ON DELETE CASCADE, with foreign keys on), so the
-- accounts' agencies, sessions, tokens and capabilities are kept aside first and put back.
-- PostgreSQL changes the CHECK in place.

CREATE TABLE staff_rebuilt (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    username            TEXT    NOT NULL UNIQUE,
    display_name        TEXT    NOT NULL,
    role                TEXT    NOT NULL CHECK (role IN ('desk', 'agency', 'head', 'chair', 'admin', 'inspector')),
    password_hash       TEXT    NOT NULL,
    disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at          TEXT    NOT NULL,
    password_changed_at TEXT    NOT NULL
);

INSERT INTO staff_rebuilt (id, username, display_name, role, password_hash, disabled, created_at, password_changed_at)
SELECT id, username, display_name, role, password_hash, disabled, created_at, password_changed_at FROM staff ORDER BY id;

-- AUTOINCREMENT never hands out an id again, even one whose row is gone: keep the counter.
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'staff'), 0))
WHERE name = 'staff_rebuilt';

CREATE TABLE kept_staff_agencies AS SELECT * FROM staff_agencies;
CREATE TABLE kept_sessions AS SELECT * FROM sessions;
CREATE TABLE kept_api_tokens AS SELECT * FROM api_tokens;
CREATE TABLE kept_staff_capabilities AS SELECT * FROM staff_capabilities;

DROP TABLE staff;
ALTER TABLE staff_rebuilt RENAME TO staff;

INSERT INTO staff_agencies SELECT * FROM kept_staff_agencies;
INSERT INTO sessions SELECT * FROM kept_sessions;
INSERT INTO api_tokens SELECT * FROM kept_api_tokens;
INSERT INTO staff_capabilities SELECT * FROM kept_staff_capabilities;

DROP TABLE kept_staff_agencies;
DROP TABLE kept_sessions;
DROP TABLE kept_api_tokens;
DROP TABLE kept_staff_capabilities;
