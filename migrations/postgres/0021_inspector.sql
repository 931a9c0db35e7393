-- motcua schema, version 21 (PostgreSQL): the inspector role (thanh tra).
--
-- An inspector reads everything in its scope (the whole city with no agency of its own, else
-- the agencies it is given) and changes nothing; the server decides what each role may do, the
-- schema only which role names an account may have.
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check
    CHECK (role IN ('desk', 'agency', 'head', 'chair', 'admin', 'inspector'));
