-- motcua schema, version 6 (PostgreSQL): what lets a scrape of /metrics stay within a few
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
--    already updates: no new row is locked by a write, and a scrape reads both sides in one
--    snapshot.
-- 2. Open dossiers at risk (core's flag, migration 0002) counted beside the open dossiers of
--    each lead agency and status, by the same trigger.
-- 3. Covering partial indexes for the open dossiers a scrape judges at its instant: overdue
--    ones (counted per agency) and the ones that may be late by the national rule (their facts
--    go to core), read by index-only scans; they replace the two narrower indexes of version 4.
-- 4. Versions on the working-time histogram cells (at the end of this file), so a scrape reads
--    only the cells a measuring pass changed.
-- Triggers only count; no SQL here does working-day arithmetic.

ALTER TABLE metric_open_dossiers ADD COLUMN at_risk bigint NOT NULL DEFAULT 0;

UPDATE metric_open_dossiers m SET at_risk = (
    SELECT COUNT(*) FROM dossiers d WHERE d.lead_agency = m.agency AND d.status = m.status AND d.at_risk
);

CREATE FUNCTION motcua_metric_open_move(a text, s integer, n bigint, r bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO metric_open_dossiers AS t (agency, status, dossiers, at_risk) VALUES (a, s, n, r)
    ON CONFLICT (agency, status) DO UPDATE SET
        dossiers = t.dossiers + excluded.dossiers, at_risk = t.at_risk + excluded.at_risk;
$$;

CREATE OR REPLACE FUNCTION motcua_metric_dossiers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status IS NOT DISTINCT FROM NEW.status
        AND OLD.lead_agency IS NOT DISTINCT FROM NEW.lead_agency AND OLD.at_risk IS NOT DISTINCT FROM NEW.at_risk THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN (1, 2, 4, 5, 6) THEN
        PERFORM motcua_metric_open_move(OLD.lead_agency, OLD.status, -1, CASE WHEN OLD.at_risk THEN -1 ELSE 0 END);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN (1, 2, 4, 5, 6) THEN
        PERFORM motcua_metric_open_move(NEW.lead_agency, NEW.status, 1, CASE WHEN NEW.at_risk THEN 1 ELSE 0 END);
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER metric_dossiers ON dossiers;
CREATE TRIGGER metric_dossiers AFTER INSERT OR UPDATE OF status, lead_agency, at_risk OR DELETE ON dossiers
    FOR EACH ROW EXECUTE FUNCTION motcua_metric_dossiers();
DROP FUNCTION motcua_metric_open_add(text, integer, bigint);

ALTER TABLE metric_agency_days ADD COLUMN changes bigint NOT NULL DEFAULT 0;
ALTER TABLE metric_agency_totals ADD COLUMN changes bigint NOT NULL DEFAULT 0;

-- Adds a (signed) daily_counts cell to both summaries, and counts the change on both.
CREATE OR REPLACE FUNCTION motcua_metric_daily_add(c daily_counts, sign bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO metric_agency_days AS t (day, agency, received, finished, early, on_time, late, national_on_time, changes)
    VALUES (c.day, c.agency, sign * c.received, sign * c.finished, sign * c.early, sign * c.on_time, sign * c.late,
            sign * c.national_on_time, 1)
    ON CONFLICT (day, agency) DO UPDATE SET
        received = t.received + excluded.received, finished = t.finished + excluded.finished,
        early = t.early + excluded.early, on_time = t.on_time + excluded.on_time, late = t.late + excluded.late,
        national_on_time = t.national_on_time + excluded.national_on_time, changes = t.changes + 1;
    INSERT INTO metric_agency_totals AS t (agency, channel, received, finished, early, on_time, late, national_on_time, changes)
    VALUES (c.agency, c.channel, sign * c.received, sign * c.finished, sign * c.early, sign * c.on_time,
            sign * c.late, sign * c.national_on_time, 1)
    ON CONFLICT (agency, channel) DO UPDATE SET
        received = t.received + excluded.received, finished = t.finished + excluded.finished,
        early = t.early + excluded.early, on_time = t.on_time + excluded.on_time, late = t.late + excluded.late,
        national_on_time = t.national_on_time + excluded.national_on_time, changes = t.changes + 1;
$$;

-- Overdue open dossiers (due_at < now) counted per lead agency, with and without an apology
-- letter, from the index alone.
CREATE INDEX metric_open_overdue ON dossiers (due_at) INCLUDE (lead_agency, reschedule_count)
    WHERE status IN (2, 4, 5, 6);

-- The only open dossiers that can be late by the national rule (Decision 766): past the
-- receipt's appointment, or with a second supplement request. Each index holds every column
-- core's national_on_time_facts needs.
DROP INDEX metric_open_original_due;
DROP INDEX metric_open_supplements;
CREATE INDEX metric_open_national ON dossiers (original_due_at)
    INCLUDE (lead_agency, received_at, supplement_count, waiting_kind, waiting_since, waited_seconds_closed)
    WHERE status IN (2, 4, 5, 6);
CREATE INDEX metric_open_supplements ON dossiers (supplement_count)
    INCLUDE (original_due_at, lead_agency, received_at, waiting_kind, waiting_since, waited_seconds_closed)
    WHERE status IN (2, 4, 5, 6) AND supplement_count > 1;

-- Versions on the working-time histogram cells: every change to a cell takes the next number
-- from metric_working_time_version and stamps the cell with it, so a scrape reads only the
-- cells changed since the version it last saw; a cell deleted or moved to another key counts
-- a reset instead (the scrape then reads them all). The version row stays locked until the
-- writer commits, so versions are handed out in commit order: a snapshot that sees version V
-- sees every cell stamped V or less. Only measuring passes write these cells.
CREATE TABLE metric_working_time_version (
    id      integer PRIMARY KEY CHECK (id = 1),
    version bigint  NOT NULL,
    resets  bigint  NOT NULL
);
INSERT INTO metric_working_time_version (id, version, resets) VALUES (1, 0, 0);

ALTER TABLE metric_working_time ADD COLUMN version bigint NOT NULL DEFAULT 0;
CREATE INDEX metric_working_time_by_version ON metric_working_time (version);

CREATE FUNCTION motcua_metric_working_time() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE metric_working_time_version SET resets = resets + 1;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF (OLD.metric, OLD.agency, OLD.le_seconds) IS DISTINCT FROM (NEW.metric, NEW.agency, NEW.le_seconds) THEN
            UPDATE metric_working_time_version SET resets = resets + 1;
        END IF;
    END IF;
    UPDATE metric_working_time_version SET version = version + 1 RETURNING version INTO NEW.version;
    RETURN NEW;
END;
$$;

CREATE TRIGGER metric_working_time BEFORE INSERT OR UPDATE OR DELETE ON metric_working_time
    FOR EACH ROW EXECUTE FUNCTION motcua_metric_working_time();
