-- motcua schema, version 12 (PostgreSQL): the counters the exporter reads are kept by the write
-- path on both backends, no longer by triggers.
--
-- Each writer adds what its write changes to the counters, in the same transaction
-- (crates/store/src/write/counters.rs): the batch engine the open dossiers per lead agency and
-- status and the summaries of daily_counts, the outbox writes the messages per kind and status,
-- the event insert the measuring queue (one statement), the measuring pass the version of the
-- working-time cells. Deltas are summed per key and added in key order, so that two writers
-- lock counter rows in the same order. `recompute` sets every counter again from what it counts.
DROP TRIGGER metric_dossiers ON dossiers;
DROP TRIGGER metric_daily ON daily_counts;
DROP TRIGGER metric_outbox ON outbox;
DROP TRIGGER metric_events_queue ON dossier_events;
DROP TRIGGER metric_working_time ON metric_working_time;

DROP FUNCTION motcua_metric_dossiers();
DROP FUNCTION motcua_metric_open_move(text, integer, bigint, bigint);
DROP FUNCTION motcua_metric_daily();
DROP FUNCTION motcua_metric_daily_add(daily_counts, bigint);
DROP FUNCTION motcua_metric_outbox();
DROP FUNCTION motcua_metric_events_queue();
DROP FUNCTION motcua_metric_working_time();
