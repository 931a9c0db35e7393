-- motcua schema, version 19 (SQLite): the desk's marks on the letters it prints.
--
-- A letter to print is an outbox row addressed to a desk (`recipient = 'desk:<agency>'`,
-- version 7). The desk marks it printed ("Đã in"), then handed over to the citizen
-- ("Đã trao"): each mark is a row here with the officer who made it and when (UTC), made once
-- and never changed, so that the marks are their own audit. The print queue lists the letters
-- not yet printed, or not yet handed over, by the primary key.
CREATE TABLE letter_marks (
    outbox_id INTEGER NOT NULL,
    mark      TEXT    NOT NULL CHECK (mark IN ('printed', 'handed')),
    marked_by TEXT    NOT NULL,
    marked_at TEXT    NOT NULL,
    PRIMARY KEY (outbox_id, mark)
);

CREATE TRIGGER letter_marks_no_update BEFORE UPDATE ON letter_marks
BEGIN
    SELECT RAISE(ABORT, 'letter_marks is append-only: a mark is never changed');
END;

CREATE TRIGGER letter_marks_no_delete BEFORE DELETE ON letter_marks
BEGIN
    SELECT RAISE(ABORT, 'letter_marks is append-only: a mark is never deleted');
END;
