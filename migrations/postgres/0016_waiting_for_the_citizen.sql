-- motcua schema, version 16: a dossier waiting for the citizen is neither in time nor overdue.
--
-- DOMAIN.md §5: while a dossier waits for a supplement or a payment (status 5 or 6) its clock is
-- stopped; it counts as overdue only when the wait began after its due instant. The report's
-- open tallies and the scrape's overdue count compare `waiting_since` with `due_at` (instants
-- only), so the two indexes that serve them gain that column and stay covering.
DROP INDEX IF EXISTS dossiers_open_facts;
CREATE INDEX dossiers_open_facts ON dossiers
    (received_at, lead_agency, procedure, due_at, original_due_at, supplement_count, last_event_at, waiting_since)
    WHERE status IN (2, 4, 5, 6);
DROP INDEX IF EXISTS metric_open_overdue;
CREATE INDEX metric_open_overdue ON dossiers (due_at) INCLUDE (lead_agency, reschedule_count, waiting_since)
    WHERE status IN (2, 4, 5, 6);
