-- motcua schema, version 15 (PostgreSQL): the audit of reads of citizens' personal data through
-- the city-wide role, and the index the staff's search by ID number uses.
--
-- A staff account reads a dossier's personal data (the applicant's name, ID number, phone,
-- e-mail and address) when one of its agencies received or held the dossier; an account with
-- the city-wide role (chair, inspector) reads any dossier's, and each such read is a row here:
-- who, when, which dossier, through which route and which fields were shown. Rows are only
-- ever added.
CREATE TABLE personal_data_reads (
    id           bigserial   PRIMARY KEY,
    staff        text        NOT NULL,
    dossier_code text        NOT NULL,
    route        text        NOT NULL,
    fields       text        NOT NULL,
    read_at      timestamptz NOT NULL
);

CREATE INDEX personal_data_reads_dossier ON personal_data_reads (dossier_code);

CREATE FUNCTION motcua_personal_data_reads_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'personal_data_reads is append-only: % is not allowed', TG_OP
        USING HINT = 'the audit of personal data reads is never changed';
END;
$$;

CREATE TRIGGER personal_data_reads_no_update_delete
    BEFORE UPDATE OR DELETE ON personal_data_reads
    FOR EACH ROW EXECUTE FUNCTION motcua_personal_data_reads_append_only();

CREATE TRIGGER personal_data_reads_no_truncate
    BEFORE TRUNCATE ON personal_data_reads
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_personal_data_reads_append_only();

-- The staff's search by an applicant's ID number.
CREATE INDEX dossiers_applicant_id_number ON dossiers (applicant_id_number) WHERE applicant_id_number IS NOT NULL;
