-- motcua schema, version 32 (SQLite): the ratings the chair's scorecard counts (indicator 5.4's
-- "dissatisfied" share), summed per local day of the rating (Vietnam, +07:00, no daylight
-- saving) and the rated dossier's lead agency, so that a period's dislikes are read from a few
-- hundred sums instead of every rating joined to its dossier (crates/store/src/scorecard.rs).
-- `rate` adds each new rating in its own transaction; `recompute` rebuilds the table from
-- `ratings`. Filled here from the ratings already kept.
CREATE TABLE rating_days (
    day          TEXT    NOT NULL,
    agency       TEXT    NOT NULL,
    ratings      INTEGER NOT NULL DEFAULT 0,
    dissatisfied INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency)
) WITHOUT ROWID;

INSERT INTO rating_days (day, agency, ratings, dissatisfied)
SELECT date(r.rated_at, '+7 hours'), d.lead_agency, COUNT(*), SUM(CASE WHEN r.score <= 2 THEN 1 ELSE 0 END)
FROM ratings r JOIN dossiers d ON d.code = r.dossier_code
GROUP BY date(r.rated_at, '+7 hours'), d.lead_agency;
