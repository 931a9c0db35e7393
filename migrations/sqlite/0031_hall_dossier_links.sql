-- motcua schema (SQLite): which hall ticket each dossier was received from. A `linked` event of
-- a ticket (`intake --ticket`) already puts the dossier's code in `hall_tickets.dossiers`; this
-- index of the same fact, written in the same transaction as the event, lets the public lookup,
-- the control sheet and the report find a dossier's ticket without scanning the tickets.
CREATE TABLE hall_dossier_links (
    dossier TEXT NOT NULL,
    ticket  TEXT NOT NULL,
    PRIMARY KEY (dossier, ticket)
);

INSERT INTO hall_dossier_links (dossier, ticket)
SELECT DISTINCT json_extract(payload, '$.dossier'), subject FROM hall_events
WHERE kind = 'linked' AND json_extract(payload, '$.dossier') IS NOT NULL;
