-- motcua schema, version 1 (PostgreSQL).
--
-- Instants are timestamptz (UTC). Days (`day`) are local calendar dates at +07:00.
-- The event log is the source of truth; `dossiers` and `daily_counts` are derived from it and
-- can be rebuilt with `motcua recompute`. No SQL here does working-day arithmetic.

-- The append-only event log: one row per accepted event of a dossier.
CREATE TABLE dossier_events (
    id           bigserial   PRIMARY KEY,
    dossier_code text        NOT NULL,
    seq          integer     NOT NULL CHECK (seq >= 1),
    at           timestamptz NOT NULL,
    kind         text        NOT NULL,
    by_staff     text,
    payload      jsonb       NOT NULL,
    recorded_at  timestamptz NOT NULL,
    UNIQUE (dossier_code, seq)
);

CREATE FUNCTION motcua_dossier_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'dossier_events is append-only: % is not allowed', TG_OP
        USING HINT = 'events are never changed; rebuild projections with motcua recompute';
END;
$$;

CREATE TRIGGER dossier_events_no_update_delete
    BEFORE UPDATE OR DELETE ON dossier_events
    FOR EACH ROW EXECUTE FUNCTION motcua_dossier_events_append_only();

CREATE TRIGGER dossier_events_no_truncate
    BEFORE TRUNCATE ON dossier_events
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_dossier_events_append_only();

-- The projection: the current state of each dossier, as core computes it from the log.
CREATE TABLE dossiers (
    code                  text        PRIMARY KEY,
    procedure             text        NOT NULL,
    receiving_agency      text        NOT NULL,
    lead_agency           text        NOT NULL,
    channel               text        NOT NULL CHECK (channel IN ('in_person', 'online', 'postal')),
    status                integer     NOT NULL CHECK (status BETWEEN 1 AND 10),
    holder                text,
    handoff_pending       boolean     NOT NULL DEFAULT false,
    applicant_name        text        NOT NULL,
    applicant_email       text,
    applicant_phone       text,
    applicant_id_number   text,
    applicant_address     text,
    registered_at         timestamptz,
    received_at           timestamptz,
    start_at              timestamptz,
    due_at                timestamptz,
    original_due_at       timestamptz,
    rescheduled_to        timestamptz,
    finished_at           timestamptz,
    returned_at           timestamptz,
    outcome               text        CHECK (outcome IN ('approved', 'refused')),
    timeliness            text        CHECK (timeliness IN ('early', 'on_time', 'late')),
    national_on_time      boolean,
    supplement_count      integer     NOT NULL DEFAULT 0,
    reschedule_count      integer     NOT NULL DEFAULT 0,
    deadline_revision     integer     NOT NULL DEFAULT 0,
    waiting_kind          text        CHECK (waiting_kind IN ('supplement', 'payment')),
    waiting_since         timestamptz,
    waited_seconds_closed bigint      NOT NULL DEFAULT 0,
    last_event_at         timestamptz NOT NULL,
    event_count           integer     NOT NULL CHECK (event_count >= 1)
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
    day              date   NOT NULL,
    agency           text   NOT NULL,
    procedure        text   NOT NULL,
    channel          text   NOT NULL,
    received         bigint NOT NULL DEFAULT 0,
    finished         bigint NOT NULL DEFAULT 0,
    early            bigint NOT NULL DEFAULT 0,
    on_time          bigint NOT NULL DEFAULT 0,
    late             bigint NOT NULL DEFAULT 0,
    national_on_time bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency, procedure, channel)
);

-- The last dossier number handed out per receiving agency and local day (4 digits).
CREATE TABLE dossier_sequences (
    agency   text    NOT NULL,
    day      date    NOT NULL,
    last_seq integer NOT NULL CHECK (last_seq BETWEEN 0 AND 9999),
    PRIMARY KEY (agency, day)
);

-- Transactional outbox: messages the worker sends (reminders, escalations, apology letters).
-- `dedupe_key` (kind:dossier:deadline-revision:recipient) makes a rerun add nothing.
CREATE TABLE outbox (
    id              bigserial   PRIMARY KEY,
    dedupe_key      text        NOT NULL UNIQUE,
    kind            text        NOT NULL,
    dossier_code    text,
    recipient       text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    locked_by       text,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    last_error      text
);

CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_dossier ON outbox (dossier_code);
