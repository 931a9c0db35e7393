-- motcua schema, version 25 (SQLite): what the scorecard's indicators need of each dossier,
-- projected from its events (core's `Dossier`): the fee of its payment request, how it was
-- paid and when, whether its result was issued electronically, how many of its papers were
-- digitised, when it was first sent to the national portal, and the reason code of its latest
-- delay (supplement request, new appointment, stop or refusal).
--
-- Every column is nullable and stays NULL on the rows already here: NULL is "not recorded"
-- (a dossier from before these events existed), never zero, never a payment method. `motcua
-- recompute` fills them from the log.
ALTER TABLE dossiers ADD COLUMN fee_vnd INTEGER CHECK (fee_vnd >= 0);
ALTER TABLE dossiers ADD COLUMN payment_method TEXT
    CHECK (payment_method IN ('cash', 'bank_transfer', 'online', 'exempt'));
ALTER TABLE dossiers ADD COLUMN paid_at TEXT;
ALTER TABLE dossiers ADD COLUMN electronic_result INTEGER CHECK (electronic_result IN (0, 1));
ALTER TABLE dossiers ADD COLUMN digitised INTEGER CHECK (digitised >= 0);
ALTER TABLE dossiers ADD COLUMN synced_at TEXT;
ALTER TABLE dossiers ADD COLUMN delay_reason TEXT;

-- The payment gateway's integration role (`payment`): through its API token it may only mark a
-- dossier paid (the server decides; the schema only names the roles an account may have).
-- SQLite cannot change a CHECK in place: `staff` is rebuilt as in version 21, its accounts'
-- agencies, sessions, tokens and capabilities kept aside and put back.
CREATE TABLE staff_rebuilt (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    username            TEXT    NOT NULL UNIQUE,
    display_name        TEXT    NOT NULL,
    role                TEXT    NOT NULL CHECK (role IN ('desk', 'agency', 'head', 'chair', 'admin', 'inspector', 'payment')),
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
