-- motcua schema, version 11 (PostgreSQL): nothing changes.
--
-- On SQLite this version rebuilds dossier_events and outbox without their json_valid CHECKs
-- (every payload is written from a typed value and parsed by every reader). PostgreSQL stores
-- the payloads as jsonb, which it parses once on the way in, and keeps them so.
SELECT 1;
