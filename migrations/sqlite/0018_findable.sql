-- motcua schema, version 18 (SQLite): what the staff's search and the desk's lists read.
--
-- `applicant_name_folded` is the applicant's name as the search compares it: lower case,
-- without Vietnamese tone and vowel marks, `đ` as `d` (motcua_core::text::fold). SQL never
-- folds text: the write path stores it with every projection row, and the rows written
-- before this version are filled by the store right after it migrates (a pass over the rows
-- where it is NULL, in Rust, each time a store opens the database), so the column is NULL
-- only until then. The partial index `dossiers_name_not_folded` lists those rows: full right
-- after this migration, empty once they are filled, so that the pass costs an opening nothing.
--
-- `handoff_from` and `handoff_sent_at` are the sender and the instant of a transfer not yet
-- accepted (NULL otherwise): the list "sent by us, not yet accepted". Core computes them for
-- new rows; for the rows already written they are read from the log here: the sender is the
-- agency the transfer before the last one sent the dossier to, else its receiving agency.
ALTER TABLE dossiers ADD COLUMN applicant_name_folded TEXT;
ALTER TABLE dossiers ADD COLUMN handoff_from TEXT;
ALTER TABLE dossiers ADD COLUMN handoff_sent_at TEXT;
CREATE INDEX dossiers_name_not_folded ON dossiers (code) WHERE applicant_name_folded IS NULL;

UPDATE dossiers SET
    handoff_sent_at = (SELECT e.at FROM dossier_events e
                       WHERE e.dossier_code = dossiers.code AND e.kind = 'transferred'
                       ORDER BY e.seq DESC LIMIT 1),
    handoff_from = COALESCE((SELECT json_extract(e.payload, '$.to') FROM dossier_events e
                             WHERE e.dossier_code = dossiers.code AND e.kind = 'transferred'
                             ORDER BY e.seq DESC LIMIT 1 OFFSET 1), receiving_agency)
WHERE handoff_pending;

-- The search by phone number, as by ID number (version 15). A whole code is found by the
-- primary key; the beginning of a code and a part of a name are read from the table (a
-- substring has no index that every update would not pay for).
CREATE INDEX dossiers_applicant_phone ON dossiers (applicant_phone) WHERE applicant_phone IS NOT NULL;

-- The desk's lists: transfers not yet accepted by sender, results ready to hand back, and
-- dossiers waiting for the citizen.
CREATE INDEX dossiers_handoff_sent ON dossiers (handoff_from, handoff_sent_at) WHERE handoff_pending;
CREATE INDEX dossiers_results_ready ON dossiers (finished_at) WHERE status = 9;
CREATE INDEX dossiers_waiting ON dossiers (waiting_since) WHERE status IN (5, 6);
