-- motcua schema, version 4 (PostgreSQL): what the Prometheus exporter reads at scrape time.
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
    agency   text    NOT NULL,
    status   integer NOT NULL,
    dossiers bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (agency, status)
);

INSERT INTO metric_open_dossiers (agency, status, dossiers)
SELECT lead_agency, status, COUNT(*) FROM dossiers WHERE status IN (1, 2, 4, 5, 6) GROUP BY lead_agency, status;

CREATE FUNCTION motcua_metric_open_add(a text, s integer, n bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO metric_open_dossiers (agency, status, dossiers) VALUES (a, s, n)
    ON CONFLICT (agency, status) DO UPDATE SET dossiers = metric_open_dossiers.dossiers + excluded.dossiers;
$$;

CREATE FUNCTION motcua_metric_dossiers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN (1, 2, 4, 5, 6) THEN
        IF TG_OP = 'DELETE' OR OLD.status IS DISTINCT FROM NEW.status OR OLD.lead_agency IS DISTINCT FROM NEW.lead_agency THEN
            PERFORM motcua_metric_open_add(OLD.lead_agency, OLD.status, -1);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN (1, 2, 4, 5, 6) THEN
        IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status OR OLD.lead_agency IS DISTINCT FROM NEW.lead_agency THEN
            PERFORM motcua_metric_open_add(NEW.lead_agency, NEW.status, 1);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER metric_dossiers AFTER INSERT OR UPDATE OF status, lead_agency OR DELETE ON dossiers
    FOR EACH ROW EXECUTE FUNCTION motcua_metric_dossiers();

-- Open dossiers past their receipt's appointment, and open dossiers with a second supplement
-- request: the only open dossiers that can be late by the national rule (Decision 766).
CREATE INDEX metric_open_original_due ON dossiers (original_due_at) WHERE status IN (2, 4, 5, 6);
CREATE INDEX metric_open_supplements ON dossiers (supplement_count) WHERE status IN (2, 4, 5, 6) AND supplement_count > 1;

CREATE TABLE metric_agency_days (
    day              date   NOT NULL,
    agency           text   NOT NULL,
    received         bigint NOT NULL DEFAULT 0,
    finished         bigint NOT NULL DEFAULT 0,
    early            bigint NOT NULL DEFAULT 0,
    on_time          bigint NOT NULL DEFAULT 0,
    late             bigint NOT NULL DEFAULT 0,
    national_on_time bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency)
);

CREATE TABLE metric_agency_totals (
    agency           text   NOT NULL,
    channel          text   NOT NULL,
    received         bigint NOT NULL DEFAULT 0,
    finished         bigint NOT NULL DEFAULT 0,
    early            bigint NOT NULL DEFAULT 0,
    on_time          bigint NOT NULL DEFAULT 0,
    late             bigint NOT NULL DEFAULT 0,
    national_on_time bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (agency, channel)
);

INSERT INTO metric_agency_days (day, agency, received, finished, early, on_time, late, national_on_time)
SELECT day, agency, SUM(received), SUM(finished), SUM(early), SUM(on_time), SUM(late), SUM(national_on_time)
FROM daily_counts GROUP BY day, agency;

INSERT INTO metric_agency_totals (agency, channel, received, finished, early, on_time, late, national_on_time)
SELECT agency, channel, SUM(received), SUM(finished), SUM(early), SUM(on_time), SUM(late), SUM(national_on_time)
FROM daily_counts GROUP BY agency, channel;

-- Adds a (signed) daily_counts cell to both summaries.
CREATE FUNCTION motcua_metric_daily_add(c daily_counts, sign bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO metric_agency_days AS t (day, agency, received, finished, early, on_time, late, national_on_time)
    VALUES (c.day, c.agency, sign * c.received, sign * c.finished, sign * c.early, sign * c.on_time, sign * c.late,
            sign * c.national_on_time)
    ON CONFLICT (day, agency) DO UPDATE SET
        received = t.received + excluded.received, finished = t.finished + excluded.finished,
        early = t.early + excluded.early, on_time = t.on_time + excluded.on_time, late = t.late + excluded.late,
        national_on_time = t.national_on_time + excluded.national_on_time;
    INSERT INTO metric_agency_totals AS t (agency, channel, received, finished, early, on_time, late, national_on_time)
    VALUES (c.agency, c.channel, sign * c.received, sign * c.finished, sign * c.early, sign * c.on_time,
            sign * c.late, sign * c.national_on_time)
    ON CONFLICT (agency, channel) DO UPDATE SET
        received = t.received + excluded.received, finished = t.finished + excluded.finished,
        early = t.early + excluded.early, on_time = t.on_time + excluded.on_time, late = t.late + excluded.late,
        national_on_time = t.national_on_time + excluded.national_on_time;
$$;

CREATE FUNCTION motcua_metric_daily() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM motcua_metric_daily_add(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM motcua_metric_daily_add(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER metric_daily AFTER INSERT OR UPDATE OR DELETE ON daily_counts
    FOR EACH ROW EXECUTE FUNCTION motcua_metric_daily();

CREATE TABLE metric_outbox (
    kind     text   NOT NULL,
    status   text   NOT NULL,
    messages bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, status)
);

INSERT INTO metric_outbox (kind, status, messages) SELECT kind, status, COUNT(*) FROM outbox GROUP BY kind, status;

CREATE FUNCTION motcua_metric_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.kind IS NOT DISTINCT FROM NEW.kind AND OLD.status IS NOT DISTINCT FROM NEW.status THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE metric_outbox SET messages = messages - 1 WHERE kind = OLD.kind AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO metric_outbox AS t (kind, status, messages) VALUES (NEW.kind, NEW.status, 1)
        ON CONFLICT (kind, status) DO UPDATE SET messages = t.messages + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER metric_outbox AFTER INSERT OR UPDATE OF kind, status OR DELETE ON outbox
    FOR EACH ROW EXECUTE FUNCTION motcua_metric_outbox();

-- The oldest pending message, by an index walk of one row.
CREATE INDEX metric_outbox_pending_created ON outbox (created_at) WHERE status = 'pending';

CREATE TABLE metric_handoff_queue (
    id           bigserial PRIMARY KEY,
    event_id     bigint    NOT NULL,
    dossier_code text      NOT NULL,
    seq          integer   NOT NULL
);

CREATE FUNCTION motcua_metric_events_queue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metric_handoff_queue (event_id, dossier_code, seq) VALUES (NEW.id, NEW.dossier_code, NEW.seq);
    RETURN NULL;
END;
$$;

CREATE TRIGGER metric_events_queue AFTER INSERT ON dossier_events
    FOR EACH ROW WHEN (NEW.kind IN ('transferred', 'accepted', 'resolved', 'withdrawn', 'stopped'))
    EXECUTE FUNCTION motcua_metric_events_queue();

-- Working-time histograms (handoff delay, dwell) per agency: observations per bucket upper
-- bound in seconds (-1 = +Inf) and their sum, cumulative over the life of the database.
CREATE TABLE metric_working_time (
    metric       text   NOT NULL CHECK (metric IN ('handoff_delay', 'dwell')),
    agency       text   NOT NULL,
    le_seconds   bigint NOT NULL,
    observations bigint NOT NULL DEFAULT 0,
    seconds      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (metric, agency, le_seconds)
);
