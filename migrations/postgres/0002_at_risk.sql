-- Open dossiers at risk (DOMAIN.md §6), as core computes it at each write: the remaining
-- working time is below what the rest of the route needs. Read by the metrics exporter and the
-- work queue through the partial index below; SQL only compares, it never computes the flag.
ALTER TABLE dossiers ADD COLUMN at_risk BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX dossiers_open_at_risk ON dossiers (lead_agency, due_at) WHERE at_risk AND status IN (2, 4, 5, 6);
