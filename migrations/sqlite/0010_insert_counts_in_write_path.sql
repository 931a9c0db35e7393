-- motcua schema, version 10 (SQLite): the INSERT triggers of the event log, the projection and
-- the outbox give way to statements of the write path.
--
-- With a row trigger on INSERT, SQLite runs every multi-row INSERT into the table in two
-- passes: the rows first go into a temporary table, then from it into the table, one trigger
-- program per row. Bulk writes (`simulate`, `import`) insert hundreds of rows per statement
-- into all three tables. The write path now follows each INSERT into them, in the same
-- transaction, with one statement that counts what that INSERT added — the rows with the
-- highest ids — exactly as these triggers did:
--   dossier_events: events that may complete a handoff or a dwell join metric_handoff_queue;
--   dossiers:       open dossiers are counted per lead agency and status in metric_open_dossiers;
--   outbox:         messages are counted per kind and status in metric_outbox.
-- The UPDATE and DELETE triggers stay. PostgreSQL keeps its triggers (version 10 is empty there).
DROP TRIGGER IF EXISTS metric_events_queue;
DROP TRIGGER IF EXISTS metric_dossiers_insert;
DROP TRIGGER IF EXISTS metric_outbox_insert;
