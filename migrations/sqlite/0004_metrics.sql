-- motcua schema, version 4 (SQLite): what the Prometheus exporter reads at scrape time.
--
-- A scrape must not grow with history or with the number of open dossiers, so the figures it
-- needs are kept up to date by triggers, in the same transaction as the write that changes them:
--   metric_open_dossiers   non-terminal dossiers per lead agency and status (from `dossiers`)
--   metric_agency_days     `daily_counts` summed over procedure and channel (per local day and agency)
--   metric_agency_totals   `daily_counts` summed over days and procedures (per agency and channel)
--   metric_outbox          outbox messages per kind and status
--   metric_handoff_queue   events that may complete a handoff or an agency's dwell, waiting for the
--                          exporter to measure them (with core's calendar) into metric_working_time
-- Triggers only count and copy; no SQL here does working-day arithmetic.

CREATE TABLE metric_open_dossiers (
    agency   TEXT    NOT NULL,
    status   INTEGER NOT NULL,
    dossiers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (agency, status)
) WITHOUT ROWID;

INSERT INTO metric_open_dossiers (agency, status, dossiers)
SELECT lead_agency, status, COUNT(*) FROM dossiers WHERE status IN (1, 2, 4, 5, 6) GROUP BY lead_agency, status;

CREATE TRIGGER metric_dossiers_insert AFTER INSERT ON dossiers
WHEN new.status IN (1, 2, 4, 5, 6)
BEGIN
    INSERT INTO metric_open_dossiers (agency, status, dossiers) VALUES (new.lead_agency, new.status, 1)
    ON CONFLICT (agency, status) DO UPDATE SET dossiers = dossiers + 1;
END;

CREATE TRIGGER metric_dossiers_update_leave AFTER UPDATE OF status, lead_agency ON dossiers
WHEN old.status IN (1, 2, 4, 5, 6) AND (old.status IS NOT new.status OR old.lead_agency IS NOT new.lead_agency)
BEGIN
    UPDATE metric_open_dossiers SET dossiers = dossiers - 1 WHERE agency = old.lead_agency AND status = old.status;
END;

CREATE TRIGGER metric_dossiers_update_enter AFTER UPDATE OF status, lead_agency ON dossiers
WHEN new.status IN (1, 2, 4, 5, 6) AND (old.status IS NOT new.status OR old.lead_agency IS NOT new.lead_agency)
BEGIN
    INSERT INTO metric_open_dossiers (agency, status, dossiers) VALUES (new.lead_agency, new.status, 1)
    ON CONFLICT (agency, status) DO UPDATE SET dossiers = dossiers + 1;
END;

CREATE TRIGGER metric_dossiers_delete AFTER DELETE ON dossiers
WHEN old.status IN (1, 2, 4, 5, 6)
BEGIN
    UPDATE metric_open_dossiers SET dossiers = dossiers - 1 WHERE agency = old.lead_agency AND status = old.status;
END;

-- Open dossiers past their receipt's appointment, and open dossiers with a second supplement
-- request: the only open dossiers that can be late by the national rule (Decision 766).
CREATE INDEX metric_open_original_due ON dossiers (original_due_at) WHERE status IN (2, 4, 5, 6);
CREATE INDEX metric_open_supplements ON dossiers (supplement_count) WHERE status IN (2, 4, 5, 6) AND supplement_count > 1;

CREATE TABLE metric_agency_days (
    day              TEXT    NOT NULL,
    agency           TEXT    NOT NULL,
    received         INTEGER NOT NULL DEFAULT 0,
    finished         INTEGER NOT NULL DEFAULT 0,
    early            INTEGER NOT NULL DEFAULT 0,
    on_time          INTEGER NOT NULL DEFAULT 0,
    late             INTEGER NOT NULL DEFAULT 0,
    national_on_time INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency)
) WITHOUT ROWID;

CREATE TABLE metric_agency_totals (
    agency           TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    received         INTEGER NOT NULL DEFAULT 0,
    finished         INTEGER NOT NULL DEFAULT 0,
    early            INTEGER NOT NULL DEFAULT 0,
    on_time          INTEGER NOT NULL DEFAULT 0,
    late             INTEGER NOT NULL DEFAULT 0,
    national_on_time INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (agency, channel)
) WITHOUT ROWID;

INSERT INTO metric_agency_days (day, agency, received, finished, early, on_time, late, national_on_time)
SELECT day, agency, SUM(received), SUM(finished), SUM(early), SUM(on_time), SUM(late), SUM(national_on_time)
FROM daily_counts GROUP BY day, agency;

INSERT INTO metric_agency_totals (agency, channel, received, finished, early, on_time, late, national_on_time)
SELECT agency, channel, SUM(received), SUM(finished), SUM(early), SUM(on_time), SUM(late), SUM(national_on_time)
FROM daily_counts GROUP BY agency, channel;

CREATE TRIGGER metric_daily_insert AFTER INSERT ON daily_counts
BEGIN
    INSERT INTO metric_agency_days (day, agency, received, finished, early, on_time, late, national_on_time)
    VALUES (new.day, new.agency, new.received, new.finished, new.early, new.on_time, new.late, new.national_on_time)
    ON CONFLICT (day, agency) DO UPDATE SET
        received = received + excluded.received, finished = finished + excluded.finished,
        early = early + excluded.early, on_time = on_time + excluded.on_time, late = late + excluded.late,
        national_on_time = national_on_time + excluded.national_on_time;
    INSERT INTO metric_agency_totals (agency, channel, received, finished, early, on_time, late, national_on_time)
    VALUES (new.agency, new.channel, new.received, new.finished, new.early, new.on_time, new.late, new.national_on_time)
    ON CONFLICT (agency, channel) DO UPDATE SET
        received = received + excluded.received, finished = finished + excluded.finished,
        early = early + excluded.early, on_time = on_time + excluded.on_time, late = late + excluded.late,
        national_on_time = national_on_time + excluded.national_on_time;
END;

-- The usual update (an upsert adding to a cell) keeps the key: add the difference.
CREATE TRIGGER metric_daily_update AFTER UPDATE ON daily_counts
WHEN old.day = new.day AND old.agency = new.agency AND old.channel = new.channel
BEGIN
    UPDATE metric_agency_days SET
        received = received + new.received - old.received, finished = finished + new.finished - old.finished,
        early = early + new.early - old.early, on_time = on_time + new.on_time - old.on_time,
        late = late + new.late - old.late, national_on_time = national_on_time + new.national_on_time - old.national_on_time
    WHERE day = new.day AND agency = new.agency;
    UPDATE metric_agency_totals SET
        received = received + new.received - old.received, finished = finished + new.finished - old.finished,
        early = early + new.early - old.early, on_time = on_time + new.on_time - old.on_time,
        late = late + new.late - old.late, national_on_time = national_on_time + new.national_on_time - old.national_on_time
    WHERE agency = new.agency AND channel = new.channel;
END;

-- A cell moved to another key: take it out of the old key, add it to the new one.
CREATE TRIGGER metric_daily_rekey AFTER UPDATE ON daily_counts
WHEN NOT (old.day = new.day AND old.agency = new.agency AND old.channel = new.channel)
BEGIN
    UPDATE metric_agency_days SET
        received = received - old.received, finished = finished - old.finished, early = early - old.early,
        on_time = on_time - old.on_time, late = late - old.late, national_on_time = national_on_time - old.national_on_time
    WHERE day = old.day AND agency = old.agency;
    UPDATE metric_agency_totals SET
        received = received - old.received, finished = finished - old.finished, early = early - old.early,
        on_time = on_time - old.on_time, late = late - old.late, national_on_time = national_on_time - old.national_on_time
    WHERE agency = old.agency AND channel = old.channel;
    INSERT INTO metric_agency_days (day, agency, received, finished, early, on_time, late, national_on_time)
    VALUES (new.day, new.agency, new.received, new.finished, new.early, new.on_time, new.late, new.national_on_time)
    ON CONFLICT (day, agency) DO UPDATE SET
        received = received + excluded.received, finished = finished + excluded.finished,
        early = early + excluded.early, on_time = on_time + excluded.on_time, late = late + excluded.late,
        national_on_time = national_on_time + excluded.national_on_time;
    INSERT INTO metric_agency_totals (agency, channel, received, finished, early, on_time, late, national_on_time)
    VALUES (new.agency, new.channel, new.received, new.finished, new.early, new.on_time, new.late, new.national_on_time)
    ON CONFLICT (agency, channel) DO UPDATE SET
        received = received + excluded.received, finished = finished + excluded.finished,
        early = early + excluded.early, on_time = on_time + excluded.on_time, late = late + excluded.late,
        national_on_time = national_on_time + excluded.national_on_time;
END;

CREATE TRIGGER metric_daily_delete AFTER DELETE ON daily_counts
BEGIN
    UPDATE metric_agency_days SET
        received = received - old.received, finished = finished - old.finished, early = early - old.early,
        on_time = on_time - old.on_time, late = late - old.late, national_on_time = national_on_time - old.national_on_time
    WHERE day = old.day AND agency = old.agency;
    UPDATE metric_agency_totals SET
        received = received - old.received, finished = finished - old.finished, early = early - old.early,
        on_time = on_time - old.on_time, late = late - old.late, national_on_time = national_on_time - old.national_on_time
    WHERE agency = old.agency AND channel = old.channel;
END;

CREATE TABLE metric_outbox (
    kind     TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, status)
) WITHOUT ROWID;

INSERT INTO metric_outbox (kind, status, messages) SELECT kind, status, COUNT(*) FROM outbox GROUP BY kind, status;

CREATE TRIGGER metric_outbox_insert AFTER INSERT ON outbox
BEGIN
    INSERT INTO metric_outbox (kind, status, messages) VALUES (new.kind, new.status, 1)
    ON CONFLICT (kind, status) DO UPDATE SET messages = messages + 1;
END;

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

-- The oldest pending message, by an index walk of one row.
CREATE INDEX metric_outbox_pending_created ON outbox (created_at) WHERE status = 'pending';

CREATE TABLE metric_handoff_queue (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     INTEGER NOT NULL,
    dossier_code TEXT    NOT NULL,
    seq          INTEGER NOT NULL
);

CREATE TRIGGER metric_events_queue AFTER INSERT ON dossier_events
WHEN new.kind IN ('transferred', 'accepted', 'resolved', 'withdrawn', 'stopped')
BEGIN
    INSERT INTO metric_handoff_queue (event_id, dossier_code, seq) VALUES (new.id, new.dossier_code, new.seq);
END;

-- Working-time histograms (handoff delay, dwell) per agency: observations per bucket upper
-- bound in seconds (-1 = +Inf) and their sum, cumulative over the life of the database.
CREATE TABLE metric_working_time (
    metric       TEXT    NOT NULL CHECK (metric IN ('handoff_delay', 'dwell')),
    agency       TEXT    NOT NULL,
    le_seconds   INTEGER NOT NULL,
    observations INTEGER NOT NULL DEFAULT 0,
    seconds      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (metric, agency, le_seconds)
) WITHOUT ROWID;
