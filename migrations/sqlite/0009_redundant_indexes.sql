-- motcua schema, version 9: two indexes that others already cover.
--
-- `dossiers_open_due (due_at) WHERE status IN (2, 4, 5, 6)` is the leading column of
-- `metric_open_overdue (due_at, lead_agency, reschedule_count)` under the same condition, and
-- `outbox_dossier (dossier_code)` the leading column of
-- `outbox_dossier_kind (dossier_code, kind, deadline_revision)`: every lookup they served is
-- served by the wider index, and every write paid for both.
DROP INDEX IF EXISTS dossiers_open_due;
DROP INDEX IF EXISTS outbox_dossier;
