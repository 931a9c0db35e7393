-- motcua schema, version 11 (SQLite): no json_valid CHECK on the payloads of the event log and
-- the outbox.
--
-- Every payload is written by the write path from a typed value (serde_json), never from text a
-- user typed, and every reader parses it (a payload that does not parse is reported as a corrupt
-- row). The CHECK parsed each payload a second time inside the writer: about 6 % of SQLite's
-- thread in a bulk load. SQLite cannot drop a CHECK in place, so both tables are rebuilt with
-- the same columns, ids, AUTOINCREMENT counters, indexes and triggers. PostgreSQL stores the
-- payloads as jsonb and is unchanged (version 11 is empty there).

CREATE TABLE dossier_events_rebuilt (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_code TEXT    NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    at           TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    by_staff     TEXT,
    payload      TEXT    NOT NULL,
    recorded_at  TEXT    NOT NULL,
    UNIQUE (dossier_code, seq)
);

INSERT INTO dossier_events_rebuilt (id, dossier_code, seq, at, kind, by_staff, payload, recorded_at)
SELECT id, dossier_code, seq, at, kind, by_staff, payload, recorded_at FROM dossier_events ORDER BY id;

-- AUTOINCREMENT never hands out an id again, even one whose row is gone: keep the counter.
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'dossier_events'), 0))
WHERE name = 'dossier_events_rebuilt';

-- Its triggers go with it: the log's append-only rule is created again below.
DROP TABLE dossier_events;
ALTER TABLE dossier_events_rebuilt RENAME TO dossier_events;

CREATE TRIGGER dossier_events_no_update BEFORE UPDATE ON dossier_events
BEGIN
    SELECT RAISE(ABORT, 'dossier_events is append-only: an event is never updated');
END;

CREATE TRIGGER dossier_events_no_delete BEFORE DELETE ON dossier_events
BEGIN
    SELECT RAISE(ABORT, 'dossier_events is append-only: an event is never deleted');
END;

CREATE TABLE outbox_rebuilt (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key        TEXT    NOT NULL UNIQUE,
    kind              TEXT    NOT NULL,
    dossier_code      TEXT,
    recipient         TEXT    NOT NULL,
    payload           TEXT    NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TEXT    NOT NULL,
    locked_by         TEXT,
    locked_until      TEXT,
    created_at        TEXT    NOT NULL,
    sent_at           TEXT,
    last_error        TEXT,
    deadline_revision INTEGER
);

INSERT INTO outbox_rebuilt (id, dedupe_key, kind, dossier_code, recipient, payload, status, attempts,
    next_attempt_at, locked_by, locked_until, created_at, sent_at, last_error, deadline_revision)
SELECT id, dedupe_key, kind, dossier_code, recipient, payload, status, attempts,
    next_attempt_at, locked_by, locked_until, created_at, sent_at, last_error, deadline_revision
FROM outbox ORDER BY id;

-- Skipped dedupe keys use up ids too (migration 0010 counts inserted rows from this counter).
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0))
WHERE name = 'outbox_rebuilt';

DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;

CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_dossier_kind ON outbox (dossier_code, kind, deadline_revision);
CREATE INDEX metric_outbox_pending_created ON outbox (created_at) WHERE status = 'pending';
CREATE INDEX outbox_desk ON outbox (recipient, id) WHERE recipient LIKE 'desk:%';

CREATE TRIGGER metric_outbox_update AFTER UPDATE OF kind, status ON outbox
WHEN old.kind IS NOT new.kind OR old.status IS NOT new.status
BEGIN
    UPDATE metric_outbox SET messages = messages - 1 WHERE kind = old.kind AND status = old.status;
    INSERT INTO metric_outbox (kind, status, messages) VALUES (new.kind, new.status, 1)
    ON CONFLICT (kind, status) DO UPDATE SET messages = messages + 1;
END;

CREATE TRIGGER metric_outbox_delete AFTER DELETE ON outbox
BEGIN
    UPDATE metric_outbox SET messages = messages - 1 WHERE kind = old.kind AND status = old.status;
END;
