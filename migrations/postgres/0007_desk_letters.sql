-- motcua schema, version 7 (PostgreSQL): the desk's letters to print.
--
-- Letters for citizens with no e-mail address are outbox rows addressed to the receiving desk
-- (`recipient = 'desk:<agency code>'`). The desk's "letters to print" page reads them per desk,
-- newest first, without scanning every e-mail of the outbox.

CREATE INDEX outbox_desk ON outbox (recipient, id) WHERE recipient LIKE 'desk:%';
