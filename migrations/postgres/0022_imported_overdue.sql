-- motcua schema, version 21 (PostgreSQL): dossiers brought in as history (`import`, `simulate`)
-- already past due, with the agency's clock running and no apology, at the instant they were
-- brought in. The automatic apology is for deadlines that pass while motcua runs: the
-- scheduler leaves a dossier listed here alone as long as its due instant is still the one
-- recorded (`due_at`), and `motcua overdue --imported` lists it for a person to decide.
-- Written by the write path in the transaction of the import's events.
CREATE TABLE imported_overdue (
    dossier_code text        NOT NULL PRIMARY KEY,
    due_at       timestamptz NOT NULL,
    marked_at    timestamptz NOT NULL
);
