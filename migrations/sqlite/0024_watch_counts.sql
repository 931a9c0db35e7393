-- motcua schema, version 24 (SQLite): the watch list answers counts without reading every
-- dossier's code (crates/store/src/write/watch.rs; core's watchlist module, "Counting without
-- the codes").
--
-- `repeated`: whether the occurrence's dossier has another occurrence of the same kind (a
-- bounce, a silent holder or a slow handoff can occur more than once on a dossier). The list
-- reads these rows one by one; a partial index keeps them apart.
ALTER TABLE watch_occurrences ADD COLUMN repeated INTEGER NOT NULL DEFAULT 0;

UPDATE watch_occurrences SET repeated = 1
WHERE EXISTS (SELECT 1 FROM watch_occurrences o
              WHERE o.dossier_code = watch_occurrences.dossier_code
                AND o.kind = watch_occurrences.kind
                AND o.idx <> watch_occurrences.idx);

CREATE INDEX watch_occurrences_repeated ON watch_occurrences (at) WHERE repeated;

-- The occurrences that are not repeated (each one dossier wherever it is summed), counted per
-- local day of the occurrence (Vietnam, +07:00, no daylight saving), agency, officer ('' =
-- unknown) and kind. The writer adds what each write changes, in its transaction; `recompute`
-- rebuilds it from a replay. Filled here from the occurrences already kept.
CREATE TABLE watch_counts (
    day         TEXT    NOT NULL,
    agency      TEXT    NOT NULL,
    officer     TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL,
    occurrences INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency, officer, kind)
) WITHOUT ROWID;

INSERT INTO watch_counts (day, agency, officer, kind, occurrences)
SELECT date(at, '+7 hours'), agency, officer, kind, COUNT(*)
FROM watch_occurrences WHERE NOT repeated
GROUP BY date(at, '+7 hours'), agency, officer, kind;
