-- motcua schema (SQLite): petitions, complaints and denunciations (đơn kiến nghị, phản ánh;
-- khiếu nại; tố cáo) as tracked items. `petition_events` is their append-only log, the same
-- shape as `dossier_events` and refused UPDATE and DELETE the same way; `petitions` is the
-- projection core computes from it (status, the next step and its due instant), for listing
-- and the report. Written in one transaction per command. No SQL here counts days.
CREATE TABLE petition_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    petition_code TEXT    NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq >= 1),
    at            TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    by_staff      TEXT,
    payload       TEXT    NOT NULL CHECK (json_valid(payload)),
    recorded_at   TEXT    NOT NULL,
    UNIQUE (petition_code, seq)
);

CREATE TRIGGER petition_events_no_update BEFORE UPDATE ON petition_events
BEGIN
    SELECT RAISE(ABORT, 'petition_events is append-only: an event is never updated');
END;

CREATE TRIGGER petition_events_no_delete BEFORE DELETE ON petition_events
BEGIN
    SELECT RAISE(ABORT, 'petition_events is append-only: an event is never deleted');
END;

CREATE TABLE petitions (
    code            TEXT    PRIMARY KEY NOT NULL,
    kind            TEXT    NOT NULL,
    rule_set        TEXT    NOT NULL,
    agency          TEXT    NOT NULL,
    dossier_code    TEXT,
    channel         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    applicant_name  TEXT    NOT NULL,
    applicant_email TEXT,
    applicant_phone TEXT,
    text            TEXT    NOT NULL,
    received_at     TEXT    NOT NULL,
    received_day    TEXT    NOT NULL,
    decided_at      TEXT,
    decide_late     INTEGER CHECK (decide_late IN (0, 1)),
    accepted_at     TEXT,
    next_step       TEXT    CHECK (next_step IN ('decide', 'resolve')),
    next_due_at     TEXT,
    resolved_at     TEXT,
    resolve_late    INTEGER CHECK (resolve_late IN (0, 1)),
    answer          TEXT,
    reason          TEXT,
    sent_to         TEXT,
    satisfied       INTEGER CHECK (satisfied IN (0, 1)),
    last_event_at   TEXT    NOT NULL,
    event_count     INTEGER NOT NULL CHECK (event_count >= 1)
);

CREATE INDEX petitions_next_due ON petitions (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX petitions_agency_received ON petitions (agency, received_at);
CREATE INDEX petitions_received ON petitions (received_at);
CREATE INDEX petitions_dossier ON petitions (dossier_code) WHERE dossier_code IS NOT NULL;
