-- motcua schema, version 26 (SQLite): the chair's scorecard (Decision 766/QĐ-TTg and Da Nang's
-- targets; docs/scorecard.md), read from sums kept by the write path in the transaction of each
-- write, as the watch list's are (crates/store/src/write/watch.rs; core's scorecard module says
-- what is counted and on which day).
--
-- One row per local day (Vietnam, +07:00), lead agency and delay reason code: `cause` is '' for
-- the row that holds every count, or a reason code for the row that counts the dossiers finished
-- late with that code. A dossier adds its receipt figures on the day of its receipt, its finish
-- figures on the day of its finish, its payment on the day it was paid and its first apology on
-- the day it was issued. `working_days` sums the working days from receipt to finish (core's
-- calendar); `fees_vnd` the fees paid, in VND. No SQL here counts days.
--
-- Existing dossiers are counted by `motcua recompute` (run it once after upgrading).
CREATE TABLE scorecard_counts (
    day                TEXT    NOT NULL,
    agency             TEXT    NOT NULL,
    cause              TEXT    NOT NULL DEFAULT '',
    received           INTEGER NOT NULL DEFAULT 0,
    received_online    INTEGER NOT NULL DEFAULT 0,
    synced             INTEGER NOT NULL DEFAULT 0,
    digitised          INTEGER NOT NULL DEFAULT 0,
    digitised_unknown  INTEGER NOT NULL DEFAULT 0,
    finished           INTEGER NOT NULL DEFAULT 0,
    finished_late      INTEGER NOT NULL DEFAULT 0,
    late_apologised    INTEGER NOT NULL DEFAULT 0,
    working_days       INTEGER NOT NULL DEFAULT 0,
    resolved           INTEGER NOT NULL DEFAULT 0,
    electronic         INTEGER NOT NULL DEFAULT 0,
    electronic_unknown INTEGER NOT NULL DEFAULT 0,
    paid               INTEGER NOT NULL DEFAULT 0,
    paid_online        INTEGER NOT NULL DEFAULT 0,
    paid_unknown       INTEGER NOT NULL DEFAULT 0,
    fees_vnd           INTEGER NOT NULL DEFAULT 0,
    apologies          INTEGER NOT NULL DEFAULT 0,
    apologies_on_time  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency, cause)
) WITHOUT ROWID;

-- The dossiers with an event after an instant: a scorecard as of a past instant replays them up
-- to it (their sums already count what came later).
CREATE INDEX dossiers_last_event_at ON dossiers (last_event_at);
