-- motcua schema, version 27 (SQLite): the audit of reads of citizens' personal data covers
-- petitions, complaints and denunciations too. A row's `subject` says what was read: a dossier
-- (`dossier_code` holds its code, as before) or an item (`dossier_code` holds the item's code,
-- PA-/KN-/TC-…). Rows already written are reads of dossiers.
ALTER TABLE personal_data_reads ADD COLUMN subject TEXT NOT NULL DEFAULT 'dossier'
    CHECK (subject IN ('dossier', 'petition'));
