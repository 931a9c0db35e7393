-- motcua schema (PostgreSQL): petitions, complaints and denunciations (đơn kiến nghị, phản
-- ánh; khiếu nại; tố cáo) as tracked items. `petition_events` is their append-only log, the
-- same shape as `dossier_events` and refused UPDATE, DELETE and TRUNCATE the same way;
-- `petitions` is the projection core computes from it (status, the next step and its due
-- instant), for listing and the report. Written in one transaction per command. No SQL here
-- counts days.
CREATE TABLE petition_events (
    id            bigserial   PRIMARY KEY,
    petition_code text        NOT NULL,
    seq           integer     NOT NULL CHECK (seq >= 1),
    at            timestamptz NOT NULL,
    kind          text        NOT NULL,
    by_staff      text,
    payload       jsonb       NOT NULL,
    recorded_at   timestamptz NOT NULL,
    UNIQUE (petition_code, seq)
);

CREATE FUNCTION motcua_petition_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'petition_events is append-only: % is not allowed', TG_OP;
END;
$$;

CREATE TRIGGER petition_events_no_update_delete
    BEFORE UPDATE OR DELETE ON petition_events
    FOR EACH ROW EXECUTE FUNCTION motcua_petition_events_append_only();

CREATE TRIGGER petition_events_no_truncate
    BEFORE TRUNCATE ON petition_events
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_petition_events_append_only();

CREATE TABLE petitions (
    code            text        PRIMARY KEY,
    kind            text        NOT NULL,
    rule_set        text        NOT NULL,
    agency          text        NOT NULL,
    dossier_code    text,
    channel         text        NOT NULL,
    status          text        NOT NULL,
    applicant_name  text        NOT NULL,
    applicant_email text,
    applicant_phone text,
    text            text        NOT NULL,
    received_at     timestamptz NOT NULL,
    received_day    text        NOT NULL,
    decided_at      timestamptz,
    decide_late     boolean,
    accepted_at     timestamptz,
    next_step       text        CHECK (next_step IN ('decide', 'resolve')),
    next_due_at     timestamptz,
    resolved_at     timestamptz,
    resolve_late    boolean,
    answer          text,
    reason          text,
    sent_to         text,
    satisfied       boolean,
    last_event_at   timestamptz NOT NULL,
    event_count     integer     NOT NULL CHECK (event_count >= 1)
);

CREATE INDEX petitions_next_due ON petitions (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX petitions_agency_received ON petitions (agency, received_at);
CREATE INDEX petitions_received ON petitions (received_at);
CREATE INDEX petitions_dossier ON petitions (dossier_code) WHERE dossier_code IS NOT NULL;
