-- motcua schema, version 8 (PostgreSQL): the open dossiers a report reads at its instant.
--
-- A report counts the dossiers open at its instant p1 per lead agency or procedure: how many,
-- how many past their due instant, how many with the receipt's appointment still ahead (and at
-- most one supplement request); the few others are judged one by one by core. This partial
-- index holds every column those counts compare, so they can be read from the index alone.
-- Only instants are compared; no SQL here does working-day arithmetic.

CREATE INDEX dossiers_open_facts ON dossiers
    (received_at, lead_agency, procedure, due_at, original_due_at, supplement_count, last_event_at)
    WHERE status IN (2, 4, 5, 6);
