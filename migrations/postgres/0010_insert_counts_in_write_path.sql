-- motcua schema, version 10 (PostgreSQL): nothing changes.
--
-- On SQLite this version takes the INSERT triggers off dossier_events, dossiers and outbox,
-- because there a row trigger makes every multi-row INSERT go through a temporary table; the
-- write path counts the rows it inserts itself. PostgreSQL inserts a statement's rows directly,
-- trigger or not, and keeps its triggers.
SELECT 1;
