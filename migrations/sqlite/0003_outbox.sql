-- motcua schema, version 3 (SQLite): what the worker needs of the outbox and the projection.
--
-- The outbox rows a write implies (receipt, apology, result ready, …) and the scheduler's
-- reminders carry the dossier's deadline revision, so that "was this dossier reminded for its
-- current due date?" is one index probe. The scheduler finds its candidates through the partial
-- index below (clock running, no apology yet, by due instant), never by a scan of the dossiers.

ALTER TABLE outbox ADD COLUMN deadline_revision INTEGER;

CREATE INDEX outbox_dossier_kind ON outbox (dossier_code, kind, deadline_revision);

-- Received or processing (the agency's clock runs), no new date yet: reminders before the due
-- instant, the automatic apology after it.
CREATE INDEX dossiers_running_unapologised ON dossiers (due_at) WHERE status IN (2, 4) AND reschedule_count = 0;
