-- motcua schema (PostgreSQL): the reception hall. `hall_events` is the hall's append-only log —
-- tickets, bookings and counter sign-ins, each event under its subject (a ticket id, `booking:`
-- and its code, or `counter:` hall and number) — refused UPDATE, DELETE and TRUNCATE like
-- `dossier_events`. The other tables are projections core computes from it, written in the same
-- transaction: `hall_tickets` (each ticket's state and instants), `hall_bookings`,
-- `hall_counters` (who is signed in where), `hall_numbers` (the last number of each area and
-- day, taken inside the write transaction so numbers never repeat or skip) and `hall_days` (the
-- day's issued count and what the fairness rule remembers; its row is locked by every write of
-- the hall's day). No SQL here counts time.
CREATE TABLE hall_events (
    id          bigserial   PRIMARY KEY,
    hall        text        NOT NULL,
    day         text        NOT NULL,
    subject     text        NOT NULL,
    seq         integer     NOT NULL CHECK (seq >= 1),
    at          timestamptz NOT NULL,
    kind        text        NOT NULL,
    by_staff    text,
    payload     jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL,
    UNIQUE (subject, seq)
);

CREATE INDEX hall_events_hall_id ON hall_events (hall, id);

CREATE FUNCTION motcua_hall_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hall_events is append-only: % is not allowed', TG_OP;
END;
$$;

CREATE TRIGGER hall_events_no_update_delete
    BEFORE UPDATE OR DELETE ON hall_events
    FOR EACH ROW EXECUTE FUNCTION motcua_hall_events_append_only();

CREATE TRIGGER hall_events_no_truncate
    BEFORE TRUNCATE ON hall_events
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_hall_events_append_only();

CREATE TABLE hall_numbers (
    hall text    NOT NULL,
    day  text    NOT NULL,
    area text    NOT NULL,
    last integer NOT NULL CHECK (last >= 1),
    PRIMARY KEY (hall, day, area)
);

CREATE TABLE hall_days (
    hall                    text    NOT NULL,
    day                     text    NOT NULL,
    issued                  integer NOT NULL DEFAULT 0 CHECK (issued >= 0),
    consecutive_priority    integer NOT NULL DEFAULT 0 CHECK (consecutive_priority >= 0),
    ordinary_since_priority integer CHECK (ordinary_since_priority >= 0),
    PRIMARY KEY (hall, day)
);

CREATE TABLE hall_tickets (
    id              text        PRIMARY KEY,
    hall            text        NOT NULL,
    day             text        NOT NULL,
    issue_area      text        NOT NULL,
    number          integer     NOT NULL CHECK (number >= 1),
    label           text        NOT NULL,
    area            text        NOT NULL,
    channel         text        NOT NULL,
    priority        text,
    booking         text,
    slot_at         timestamptz,
    linked_from     text,
    status          text        NOT NULL
        CHECK (status IN ('waiting', 'called', 'serving', 'done', 'no_show', 'left', 'closed')),
    issued_at       timestamptz NOT NULL,
    waiting_since   timestamptz NOT NULL,
    for_counter     integer,
    counter         integer,
    called_at       timestamptz,
    first_called_at timestamptz,
    called_by       text,
    recalls         integer     NOT NULL DEFAULT 0,
    started_at      timestamptz,
    finished_at     timestamptz,
    ended_at        timestamptz,
    transfers       integer     NOT NULL DEFAULT 0,
    redirected_to   text,
    dossiers        text        NOT NULL DEFAULT '[]',
    rating          text,
    rating_comment  text,
    wait_seconds    bigint,
    service_seconds bigint,
    event_count     integer     NOT NULL CHECK (event_count >= 1),
    last_event_at   timestamptz NOT NULL,
    UNIQUE (hall, day, issue_area, number)
);

CREATE INDEX hall_tickets_open ON hall_tickets (hall, day, status) WHERE status IN ('waiting', 'called', 'serving');
CREATE INDEX hall_tickets_issued ON hall_tickets (issued_at);
CREATE INDEX hall_tickets_label ON hall_tickets (hall, label, day);

CREATE TABLE hall_bookings (
    code       text        PRIMARY KEY,
    hall       text        NOT NULL,
    area       text        NOT NULL,
    day        text        NOT NULL,
    slot       text        NOT NULL,
    slot_at    timestamptz NOT NULL,
    name       text        NOT NULL,
    phone      text,
    priority   text,
    status     text        NOT NULL CHECK (status IN ('booked', 'cancelled', 'checked_in')),
    booked_at  timestamptz NOT NULL,
    ticket     text
);

CREATE INDEX hall_bookings_slot ON hall_bookings (hall, area, slot_at, status);

CREATE TABLE hall_counters (
    hall      text        NOT NULL,
    counter   integer     NOT NULL,
    staff     text        NOT NULL,
    since     timestamptz NOT NULL,
    PRIMARY KEY (hall, counter)
);
