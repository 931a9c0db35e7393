-- motcua schema, version 19 (PostgreSQL): the desk's marks on the letters it prints.
--
-- A letter to print is an outbox row addressed to a desk (`recipient = 'desk:<agency>'`,
-- version 7). The desk marks it printed ("Đã in"), then handed over to the citizen
-- ("Đã trao"): each mark is a row here with the officer who made it and when, made once and
-- never changed, so that the marks are their own audit. The print queue lists the letters not
-- yet printed, or not yet handed over, by the primary key.
CREATE TABLE letter_marks (
    outbox_id bigint      NOT NULL,
    mark      text        NOT NULL CHECK (mark IN ('printed', 'handed')),
    marked_by text        NOT NULL,
    marked_at timestamptz NOT NULL,
    PRIMARY KEY (outbox_id, mark)
);

CREATE FUNCTION motcua_letter_marks_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'letter_marks is append-only: % is not allowed', TG_OP
        USING HINT = 'a letter''s marks are never changed';
END;
$$;

CREATE TRIGGER letter_marks_no_update_delete
    BEFORE UPDATE OR DELETE ON letter_marks
    FOR EACH ROW EXECUTE FUNCTION motcua_letter_marks_append_only();

CREATE TRIGGER letter_marks_no_truncate
    BEFORE TRUNCATE ON letter_marks
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_letter_marks_append_only();
