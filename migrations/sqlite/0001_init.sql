-- motcua schema, version 1 (SQLite).
--
-- Instants are UTC, stored as fixed-width text 'YYYY-MM-DDTHH:MM:SS.ffffffZ', so that text order
-- is time order. Days (`day`) are local calendar dates at +07:00, stored as 'YYYY-MM-DD'.
-- The event log is the source of truth; `dossiers` and `daily_counts` are derived from it and
-- can be rebuilt with `motcua recompute`. No SQL here does working-day arithmetic.

-- The append-only event log: one row per accepted event of a dossier.
CREATE TABLE dossier_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_code TEXT    NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    at           TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    by_staff     TEXT,
    payload      TEXT    NOT NULL CHECK (json_valid(payload)),
    recorded_at  TEXT    NOT NULL,
    UNIQUE (dossier_code, seq)
);

CREATE TRIGGER dossier_events_no_update BEFORE UPDATE ON dossier_events
BEGIN
    SELECT RAISE(ABORT, 'dossier_events is append-only: an event is never updated');
END;

CREATE TRIGGER dossier_events_no_delete BEFORE DELETE ON dossier_events
BEGIN
    SELECT RAISE(ABORT, 'dossier_events is append-only: an event is never deleted');
END;

-- The projection: the current state of each dossier, as core computes it from the log.
CREATE TABLE dossiers (
    code                  TEXT    PRIMARY KEY NOT NULL,
    procedure             TEXT    NOT NULL,
    receiving_agency      TEXT    NOT NULL,
    lead_agency           TEXT    NOT NULL,
    channel               TEXT    NOT NULL CHECK (channel IN ('in_person', 'online', 'postal')),
    status                INTEGER NOT NULL CHECK (status BETWEEN 1 AND 10),
    holder                TEXT,
    handoff_pending       INTEGER NOT NULL DEFAULT 0 CHECK (handoff_pending IN (0, 1)),
    applicant_name        TEXT    NOT NULL,
    applicant_email       TEXT,
    applicant_phone       TEXT,
    applicant_id_number   TEXT,
    applicant_address     TEXT,
    registered_at         TEXT,
    received_at           TEXT,
    start_at              TEXT,
    due_at                TEXT,
    original_due_at       TEXT,
    rescheduled_to        TEXT,
    finished_at           TEXT,
    returned_at           TEXT,
    outcome               TEXT    CHECK (outcome IN ('approved', 'refused')),
    timeliness            TEXT    CHECK (timeliness IN ('early', 'on_time', 'late')),
    national_on_time      INTEGER CHECK (national_on_time IN (0, 1)),
    supplement_count      INTEGER NOT NULL DEFAULT 0,
    reschedule_count      INTEGER NOT NULL DEFAULT 0,
    deadline_revision     INTEGER NOT NULL DEFAULT 0,
    waiting_kind          TEXT    CHECK (waiting_kind IN ('supplement', 'payment')),
    waiting_since         TEXT,
    waited_seconds_closed INTEGER NOT NULL DEFAULT 0,
    last_event_at         TEXT    NOT NULL,
    event_count           INTEGER NOT NULL CHECK (event_count >= 1)
);

-- Open dossiers (received, processing, waiting for a supplement or a payment) by due date.
CREATE INDEX dossiers_open_due ON dossiers (due_at) WHERE status IN (2, 4, 5, 6);
CREATE INDEX dossiers_open_holder ON dossiers (holder, due_at) WHERE status IN (2, 4, 5, 6);
CREATE INDEX dossiers_finished_at ON dossiers (finished_at);
CREATE INDEX dossiers_received_at ON dossiers (received_at);
CREATE INDEX dossiers_lead_agency ON dossiers (lead_agency);

-- Daily aggregates per lead agency, procedure and channel; `day` is the local date of the
-- receipt (received) or of the finish (finished and its classification).
CREATE TABLE daily_counts (
    day              TEXT    NOT NULL,
    agency           TEXT    NOT NULL,
    procedure        TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    received         INTEGER NOT NULL DEFAULT 0,
    finished         INTEGER NOT NULL DEFAULT 0,
    early            INTEGER NOT NULL DEFAULT 0,
    on_time          INTEGER NOT NULL DEFAULT 0,
    late             INTEGER NOT NULL DEFAULT 0,
    national_on_time INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency, procedure, channel)
) WITHOUT ROWID;

-- The last dossier number handed out per receiving agency and local day (4 digits).
CREATE TABLE dossier_sequences (
    agency   TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    last_seq INTEGER NOT NULL CHECK (last_seq BETWEEN 0 AND 9999),
    PRIMARY KEY (agency, day)
) WITHOUT ROWID;

-- Transactional outbox: messages the worker sends (reminders, escalations, apology letters).
-- `dedupe_key` (kind:dossier:deadline-revision:recipient) makes a rerun add nothing.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    dossier_code    TEXT,
    recipient       TEXT    NOT NULL,
    payload         TEXT    NOT NULL CHECK (json_valid(payload)),
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    locked_by       TEXT,
    locked_until    TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    last_error      TEXT
);

CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_dossier ON outbox (dossier_code);
