-- motcua schema, version 15 (SQLite): the audit of reads of citizens' personal data through the
-- city-wide role, and the index the staff's search by ID number uses.
--
-- A staff account reads a dossier's personal data (the applicant's name, ID number, phone,
-- e-mail and address) when one of its agencies received or held the dossier; an account with
-- the city-wide role (chair, inspector) reads any dossier's, and each such read is a row here:
-- who, when, which dossier, through which route and which fields were shown. Rows are only
-- ever added.
CREATE TABLE personal_data_reads (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    staff        TEXT    NOT NULL,
    dossier_code TEXT    NOT NULL,
    route        TEXT    NOT NULL,
    fields       TEXT    NOT NULL,
    read_at      TEXT    NOT NULL
);

CREATE INDEX personal_data_reads_dossier ON personal_data_reads (dossier_code);

CREATE TRIGGER personal_data_reads_no_update BEFORE UPDATE ON personal_data_reads
BEGIN
    SELECT RAISE(ABORT, 'personal_data_reads is append-only: a read is never updated');
END;

CREATE TRIGGER personal_data_reads_no_delete BEFORE DELETE ON personal_data_reads
BEGIN
    SELECT RAISE(ABORT, 'personal_data_reads is append-only: a read is never deleted');
END;

-- The staff's search by an applicant's ID number.
CREATE INDEX dossiers_applicant_id_number ON dossiers (applicant_id_number) WHERE applicant_id_number IS NOT NULL;
