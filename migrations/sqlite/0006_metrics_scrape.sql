-- motcua schema, version 6 (SQLite): what lets a scrape of /metrics stay within a few
-- milliseconds with a million open dossiers, whatever the history.
--
-- 1. Change counters on the exporter's daily summaries. Every trigger action that touches a
--    metric_agency_days cell (day, agency) adds 1 to its `changes` AND to the `changes` of the
--    metric_agency_totals row (agency, channel) it touches in the same statement, so for every
--    agency
--        sum of metric_agency_totals.changes = sum of metric_agency_days.changes
--    and the changes made to an agency's days before day D are
--        sum of its totals' changes - sum of its cells' changes from day D on.
--    That number only grows. The exporter keeps the window sums of past days in memory with
--    it, and re-reads an agency's past days only when it has grown (a desk keyed in a dossier
--    after the fact, a correction, `motcua recompute`). The counters live in rows the write
--    already updates: no new row is locked by a write.
-- 2. Open dossiers at risk (core's flag, migration 0002) counted beside the open dossiers of
--    each lead agency and status, by the same triggers.
-- 3. Covering partial indexes for the open dossiers a scrape judges at its instant: overdue
--    ones (counted per agency) and the ones that may be late by the national rule (their facts
--    go to core). They are read from the index alone, never from the table; they replace the
--    two narrower indexes of version 4.
-- 4. Versions on the working-time histogram cells (at the end of this file), so a scrape reads
--    only the cells a measuring pass changed.
-- Triggers only count; no SQL here does working-day arithmetic.

ALTER TABLE metric_open_dossiers ADD COLUMN at_risk INTEGER NOT NULL DEFAULT 0;

UPDATE metric_open_dossiers SET at_risk = (
    SELECT COUNT(*) FROM dossiers d
    WHERE d.lead_agency = metric_open_dossiers.agency AND d.status = metric_open_dossiers.status AND d.at_risk = 1
);

DROP TRIGGER metric_dossiers_insert;
DROP TRIGGER metric_dossiers_update_leave;
DROP TRIGGER metric_dossiers_update_enter;
DROP TRIGGER metric_dossiers_delete;

CREATE TRIGGER metric_dossiers_insert AFTER INSERT ON dossiers
WHEN new.status IN (1, 2, 4, 5, 6)
BEGIN
    INSERT INTO metric_open_dossiers (agency, status, dossiers, at_risk) VALUES (new.lead_agency, new.status, 1, new.at_risk)
    ON CONFLICT (agency, status) DO UPDATE SET dossiers = dossiers + 1, at_risk = at_risk + excluded.at_risk;
END;

CREATE TRIGGER metric_dossiers_update_leave AFTER UPDATE OF status, lead_agency, at_risk ON dossiers
WHEN old.status IN (1, 2, 4, 5, 6)
    AND (old.status IS NOT new.status OR old.lead_agency IS NOT new.lead_agency OR old.at_risk IS NOT new.at_risk)
BEGIN
    UPDATE metric_open_dossiers SET dossiers = dossiers - 1, at_risk = at_risk - old.at_risk
    WHERE agency = old.lead_agency AND status = old.status;
END;

CREATE TRIGGER metric_dossiers_update_enter AFTER UPDATE OF status, lead_agency, at_risk ON dossiers
WHEN new.status IN (1, 2, 4, 5, 6)
    AND (old.status IS NOT new.status OR old.lead_agency IS NOT new.lead_agency OR old.at_risk IS NOT new.at_risk)
BEGIN
    INSERT INTO metric_open_dossiers (agency, status, dossiers, at_risk) VALUES (new.lead_agency, new.status, 1, new.at_risk)
    ON CONFLICT (agency, status) DO UPDATE SET dossiers = dossiers + 1, at_risk = at_risk + excluded.at_risk;
END;

CREATE TRIGGER metric_dossiers_delete AFTER DELETE ON dossiers
WHEN old.status IN (1, 2, 4, 5, 6)
BEGIN
    UPDATE metric_open_dossiers SET dossiers = dossiers - 1, at_risk = at_risk - old.at_risk
    WHERE agency = old.lead_agency AND status = old.status;
END;

ALTER TABLE metric_agency_days ADD COLUMN changes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE metric_agency_totals ADD COLUMN changes INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER metric_daily_insert;
DROP TRIGGER metric_daily_update;
DROP TRIGGER metric_daily_rekey;
DROP TRIGGER metric_daily_delete;

CREATE TRIGGER metric_daily_insert AFTER INSERT ON daily_counts
BEGIN
    INSERT INTO metric_agency_days (day, agency, received, finished, early, on_time, late, national_on_time, changes)
    VALUES (new.day, new.agency, new.received, new.finished, new.early, new.on_time, new.late, new.national_on_time, 1)
    ON CONFLICT (day, agency) DO UPDATE SET
        received = received + excluded.received, finished = finished + excluded.finished,
        early = early + excluded.early, on_time = on_time + excluded.on_time, late = late + excluded.late,
        national_on_time = national_on_time + excluded.national_on_time, changes = changes + 1;
    INSERT INTO metric_agency_totals (agency, channel, received, finished, early, on_time, late, national_on_time, changes)
    VALUES (new.agency, new.channel, new.received, new.finished, new.early, new.on_time, new.late, new.national_on_time, 1)
    ON CONFLICT (agency, channel) DO UPDATE SET
        received = received + excluded.received, finished = finished + excluded.finished,
        early = early + excluded.early, on_time = on_time + excluded.on_time, late = late + excluded.late,
        national_on_time = national_on_time + excluded.national_on_time, changes = changes + 1;
END;

-- The usual update (an upsert adding to a cell) keeps the key: add the difference.
CREATE TRIGGER metric_daily_update AFTER UPDATE ON daily_counts
WHEN old.day = new.day AND old.agency = new.agency AND old.channel = new.channel
BEGIN
    UPDATE metric_agency_days SET
        received = received + new.received - old.received, finished = finished + new.finished - old.finished,
        early = early + new.early - old.early, on_time = on_time + new.on_time - old.on_time,
        late = late + new.late - old.late, national_on_time = national_on_time + new.national_on_time - old.national_on_time,
        changes = changes + 1
    WHERE day = new.day AND agency = new.agency;
    UPDATE metric_agency_totals SET
        received = received + new.received - old.received, finished = finished + new.finished - old.finished,
        early = early + new.early - old.early, on_time = on_time + new.on_time - old.on_time,
        late = late + new.late - old.late, national_on_time = national_on_time + new.national_on_time - old.national_on_time,
        changes = changes + 1
    WHERE agency = new.agency AND channel = new.channel;
END;

-- A cell moved to another key: take it out of the old key, add it to the new one.
CREATE TRIGGER metric_daily_rekey AFTER UPDATE ON daily_counts
WHEN NOT (old.day = new.day AND old.agency = new.agency AND old.channel = new.channel)
BEGIN
    UPDATE metric_agency_days SET
        received = received - old.received, finished = finished - old.finished, early = early - old.early,
        on_time = on_time - old.on_time, late = late - old.late, national_on_time = national_on_time - old.national_on_time,
        changes = changes + 1
    WHERE day = old.day AND agency = old.agency;
    UPDATE metric_agency_totals SET
        received = received - old.received, finished = finished - old.finished, early = early - old.early,
        on_time = on_time - old.on_time, late = late - old.late, national_on_time = national_on_time - old.national_on_time,
        changes = changes + 1
    WHERE agency = old.agency AND channel = old.channel;
    INSERT INTO metric_agency_days (day, agency, received, finished, early, on_time, late, national_on_time, changes)
    VALUES (new.day, new.agency, new.received, new.finished, new.early, new.on_time, new.late, new.national_on_time, 1)
    ON CONFLICT (day, agency) DO UPDATE SET
        received = received + excluded.received, finished = finished + excluded.finished,
        early = early + excluded.early, on_time = on_time + excluded.on_time, late = late + excluded.late,
        national_on_time = national_on_time + excluded.national_on_time, changes = changes + 1;
    INSERT INTO metric_agency_totals (agency, channel, received, finished, early, on_time, late, national_on_time, changes)
    VALUES (new.agency, new.channel, new.received, new.finished, new.early, new.on_time, new.late, new.national_on_time, 1)
    ON CONFLICT (agency, channel) DO UPDATE SET
        received = received + excluded.received, finished = finished + excluded.finished,
        early = early + excluded.early, on_time = on_time + excluded.on_time, late = late + excluded.late,
        national_on_time = national_on_time + excluded.national_on_time, changes = changes + 1;
END;

CREATE TRIGGER metric_daily_delete AFTER DELETE ON daily_counts
BEGIN
    UPDATE metric_agency_days SET
        received = received - old.received, finished = finished - old.finished, early = early - old.early,
        on_time = on_time - old.on_time, late = late - old.late, national_on_time = national_on_time - old.national_on_time,
        changes = changes + 1
    WHERE day = old.day AND agency = old.agency;
    UPDATE metric_agency_totals SET
        received = received - old.received, finished = finished - old.finished, early = early - old.early,
        on_time = on_time - old.on_time, late = late - old.late, national_on_time = national_on_time - old.national_on_time,
        changes = changes + 1
    WHERE agency = old.agency AND channel = old.channel;
END;

-- Overdue open dossiers (due_at < now) counted per lead agency, with and without an apology
-- letter, from the index alone.
CREATE INDEX metric_open_overdue ON dossiers (due_at, lead_agency, reschedule_count) WHERE status IN (2, 4, 5, 6);

-- The only open dossiers that can be late by the national rule (Decision 766): past the
-- receipt's appointment, or with a second supplement request. Each index holds every column
-- core's national_on_time_facts needs.
DROP INDEX metric_open_original_due;
DROP INDEX metric_open_supplements;
CREATE INDEX metric_open_national ON dossiers
    (original_due_at, lead_agency, received_at, supplement_count, waiting_kind, waiting_since, waited_seconds_closed)
    WHERE status IN (2, 4, 5, 6);
CREATE INDEX metric_open_supplements ON dossiers
    (supplement_count, original_due_at, lead_agency, received_at, waiting_kind, waiting_since, waited_seconds_closed)
    WHERE status IN (2, 4, 5, 6) AND supplement_count > 1;

-- Versions on the working-time histogram cells: every change to a cell takes the next number
-- from metric_working_time_version and stamps the cell with it, so a scrape reads only the
-- cells changed since the version it last saw; a cell deleted or moved to another key counts
-- a reset instead (the scrape then reads them all). Only measuring passes write these cells.
CREATE TABLE metric_working_time_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    resets  INTEGER NOT NULL
);
INSERT INTO metric_working_time_version (id, version, resets) VALUES (1, 0, 0);

ALTER TABLE metric_working_time ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX metric_working_time_by_version ON metric_working_time (version);

CREATE TRIGGER metric_working_time_insert AFTER INSERT ON metric_working_time
BEGIN
    UPDATE metric_working_time_version SET version = version + 1;
    UPDATE metric_working_time SET version = (SELECT version FROM metric_working_time_version)
    WHERE metric = new.metric AND agency = new.agency AND le_seconds = new.le_seconds;
END;

CREATE TRIGGER metric_working_time_update AFTER UPDATE OF metric, agency, le_seconds, observations, seconds
ON metric_working_time
BEGIN
    UPDATE metric_working_time_version SET version = version + 1,
        resets = resets + (old.metric IS NOT new.metric OR old.agency IS NOT new.agency OR old.le_seconds IS NOT new.le_seconds);
    UPDATE metric_working_time SET version = (SELECT version FROM metric_working_time_version)
    WHERE metric = new.metric AND agency = new.agency AND le_seconds = new.le_seconds;
END;

CREATE TRIGGER metric_working_time_delete AFTER DELETE ON metric_working_time
BEGIN
    UPDATE metric_working_time_version SET resets = resets + 1;
END;
