-- motcua schema, version 17 (SQLite): the inspector's watch list (Directive 34-CT/TU), kept by
-- the write path in the transaction of each write, as the metric_* counters are
-- (crates/store/src/write/watch.rs; core's watchlist module says what is counted).
--
-- One row per occurrence of an avoidance signal on a dossier: its kind, which one of the
-- dossier's (the visit of a bounce or a silent holder, the handoff of a slow handoff, 0 for the
-- others), the first instant it held, the agency and the officer held to it ('' = unknown).
-- The writer replaces a dossier's rows when its occurrences change; an open dossier's rows
-- include those it will reach if nothing happens (a due instant, a budget running out), dated
-- in the future, so a read as of an instant keeps `at <= as_of`. Keyed by the instant, so that
-- a period is one range.
CREATE TABLE watch_occurrences (
    at           TEXT    NOT NULL,
    dossier_code TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    idx          INTEGER NOT NULL,
    agency       TEXT    NOT NULL,
    officer      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (at, dossier_code, kind, idx)
) WITHOUT ROWID;

CREATE UNIQUE INDEX watch_occurrences_dossier ON watch_occurrences (dossier_code, kind, idx);

-- Handoffs accepted per local day of the acceptance, receiving agency and accepting officer, with
-- their waits in working minutes (from the transfer to the acceptance, core's calendar).
CREATE TABLE watch_handoffs (
    day         TEXT    NOT NULL,
    agency      TEXT    NOT NULL,
    officer     TEXT    NOT NULL DEFAULT '',
    handoffs    INTEGER NOT NULL DEFAULT 0,
    minutes     INTEGER NOT NULL DEFAULT 0,
    max_minutes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency, officer)
) WITHOUT ROWID;

-- Backdated events (stated earlier than recorded) per local day of recording, agency holding the
-- dossier then and officer, with the working minutes between the two instants.
CREATE TABLE watch_backdated (
    day         TEXT    NOT NULL,
    agency      TEXT    NOT NULL,
    officer     TEXT    NOT NULL DEFAULT '',
    events      INTEGER NOT NULL DEFAULT 0,
    gap_minutes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency, officer)
) WITHOUT ROWID;
