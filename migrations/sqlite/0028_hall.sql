-- motcua schema (SQLite): the reception hall. `hall_events` is the hall's append-only log —
-- tickets, bookings and counter sign-ins, each event under its subject (a ticket id, `booking:`
-- and its code, or `counter:` hall and number) — refused UPDATE and DELETE like
-- `dossier_events`. The other tables are projections core computes from it, written in the same
-- transaction: `hall_tickets` (each ticket's state and instants), `hall_bookings`,
-- `hall_counters` (who is signed in where), `hall_numbers` (the last number of each area and
-- day, taken inside the write transaction so numbers never repeat or skip) and `hall_days` (the
-- day's issued count and what the fairness rule remembers). No SQL here counts time.
CREATE TABLE hall_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    hall        TEXT    NOT NULL,
    day         TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    at          TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    by_staff    TEXT,
    payload     TEXT    NOT NULL CHECK (json_valid(payload)),
    recorded_at TEXT    NOT NULL,
    UNIQUE (subject, seq)
);

CREATE INDEX hall_events_hall_id ON hall_events (hall, id);

CREATE TRIGGER hall_events_no_update BEFORE UPDATE ON hall_events
BEGIN
    SELECT RAISE(ABORT, 'hall_events is append-only: an event is never updated');
END;

CREATE TRIGGER hall_events_no_delete BEFORE DELETE ON hall_events
BEGIN
    SELECT RAISE(ABORT, 'hall_events is append-only: an event is never deleted');
END;

CREATE TABLE hall_numbers (
    hall TEXT    NOT NULL,
    day  TEXT    NOT NULL,
    area TEXT    NOT NULL,
    last INTEGER NOT NULL CHECK (last >= 1),
    PRIMARY KEY (hall, day, area)
);

CREATE TABLE hall_days (
    hall                    TEXT    NOT NULL,
    day                     TEXT    NOT NULL,
    issued                  INTEGER NOT NULL DEFAULT 0 CHECK (issued >= 0),
    consecutive_priority    INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_priority >= 0),
    ordinary_since_priority INTEGER CHECK (ordinary_since_priority >= 0),
    PRIMARY KEY (hall, day)
);

CREATE TABLE hall_tickets (
    id              TEXT    PRIMARY KEY NOT NULL,
    hall            TEXT    NOT NULL,
    day             TEXT    NOT NULL,
    issue_area      TEXT    NOT NULL,
    number          INTEGER NOT NULL CHECK (number >= 1),
    label           TEXT    NOT NULL,
    area            TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    priority        TEXT,
    booking         TEXT,
    slot_at         TEXT,
    linked_from     TEXT,
    status          TEXT    NOT NULL
        CHECK (status IN ('waiting', 'called', 'serving', 'done', 'no_show', 'left', 'closed')),
    issued_at       TEXT    NOT NULL,
    waiting_since   TEXT    NOT NULL,
    for_counter     INTEGER,
    counter         INTEGER,
    called_at       TEXT,
    first_called_at TEXT,
    called_by       TEXT,
    recalls         INTEGER NOT NULL DEFAULT 0,
    started_at      TEXT,
    finished_at     TEXT,
    ended_at        TEXT,
    transfers       INTEGER NOT NULL DEFAULT 0,
    redirected_to   TEXT,
    dossiers        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(dossiers)),
    rating          TEXT,
    rating_comment  TEXT,
    wait_seconds    INTEGER,
    service_seconds INTEGER,
    event_count     INTEGER NOT NULL CHECK (event_count >= 1),
    last_event_at   TEXT    NOT NULL,
    UNIQUE (hall, day, issue_area, number)
);

CREATE INDEX hall_tickets_open ON hall_tickets (hall, day, status) WHERE status IN ('waiting', 'called', 'serving');
CREATE INDEX hall_tickets_issued ON hall_tickets (issued_at);
CREATE INDEX hall_tickets_label ON hall_tickets (hall, label, day);

CREATE TABLE hall_bookings (
    code       TEXT PRIMARY KEY NOT NULL,
    hall       TEXT NOT NULL,
    area       TEXT NOT NULL,
    day        TEXT NOT NULL,
    slot       TEXT NOT NULL,
    slot_at    TEXT NOT NULL,
    name       TEXT NOT NULL,
    phone      TEXT,
    priority   TEXT,
    status     TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'checked_in')),
    booked_at  TEXT NOT NULL,
    ticket     TEXT
);

CREATE INDEX hall_bookings_slot ON hall_bookings (hall, area, slot_at, status);

CREATE TABLE hall_counters (
    hall      TEXT    NOT NULL,
    counter   INTEGER NOT NULL,
    staff     TEXT    NOT NULL,
    since     TEXT    NOT NULL,
    PRIMARY KEY (hall, counter)
);
