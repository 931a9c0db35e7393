-- motcua schema, version 19 (SQLite): daily digests of the notices to staff.
--
-- `digest` says what became of an outbox row that goes out in a digest rather than alone:
-- NULL — it goes alone (every row before this version, and every citizen's letter);
-- 'held' — still pending, it waits for its recipient's next digest (a notice over the daily
--          cap per recipient); the dispatcher does not claim it;
-- the dedupe key of a digest (`digest:<recipient>:<local date>`) — it was gathered into that
--          digest, in the transaction that wrote the digest, and is marked sent then.
-- Rows of the kinds the worker digests (at_risk, reminder, with `[mail.digest] at_risk =
-- "daily"`) are also left alone by the dispatcher while pending; which kinds is the worker's
-- setting, not the schema's.
ALTER TABLE outbox ADD COLUMN digest TEXT;

-- The messages sent today per recipient (the daily cap and its gauge) read a range of sent_at.
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE status = 'sent';
