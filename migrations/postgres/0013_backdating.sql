-- motcua schema, version 13 (PostgreSQL): honest times.
--
-- Capabilities an administrator grants to one staff account on top of its role. The first is
-- `paper_history`: the account may state an event earlier than the backdating window allows
-- (keying in paper dossiers after an outage), with a reason kept in the event.
CREATE TABLE staff_capabilities (
    staff_id   bigint      NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    capability text        NOT NULL CHECK (capability IN ('paper_history')),
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (staff_id, capability)
);

-- The backdated events (stated earlier than recorded) by the instant they were recorded: what
-- the backdating report reads for a period. Partial, so that the events recorded as they
-- happen (nearly all of a live desk's) cost the write path nothing here.
CREATE INDEX dossier_events_backdated ON dossier_events (recorded_at) WHERE at < recorded_at;
