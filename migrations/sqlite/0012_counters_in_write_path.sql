-- motcua schema, version 12 (SQLite): the counters the exporter reads are kept by the write
-- path on both backends, no longer by triggers (version 10 moved the INSERT triggers; these
-- are the rest).
--
-- Each writer adds what its write changes to the counters, in the same transaction
-- (crates/store/src/write/counters.rs): the batch engine the open dossiers per lead agency and
-- status and the summaries of daily_counts, the outbox writes the messages per kind and status,
-- the event insert the measuring queue, the measuring pass the version of the working-time
-- cells. `recompute` sets every counter again from what it counts.
DROP TRIGGER IF EXISTS metric_dossiers_update_leave;
DROP TRIGGER IF EXISTS metric_dossiers_update_enter;
DROP TRIGGER IF EXISTS metric_dossiers_delete;
DROP TRIGGER IF EXISTS metric_daily_insert;
DROP TRIGGER IF EXISTS metric_daily_update;
DROP TRIGGER IF EXISTS metric_daily_rekey;
DROP TRIGGER IF EXISTS metric_daily_delete;
DROP TRIGGER IF EXISTS metric_outbox_update;
DROP TRIGGER IF EXISTS metric_outbox_delete;
DROP TRIGGER IF EXISTS metric_working_time_insert;
DROP TRIGGER IF EXISTS metric_working_time_update;
DROP TRIGGER IF EXISTS metric_working_time_delete;
