-- motcua schema, version 5 (SQLite): staff accounts, their agencies, web sessions, API tokens
-- and citizens' ratings of the service. Used by `motcua serve` and `motcua staff`.
--
-- Passwords are stored only as argon2 PHC strings; session ids and API tokens only as SHA-256
-- hex digests of the secret, so a copy of the database does not let anyone log in.

CREATE TABLE staff (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    username            TEXT    NOT NULL UNIQUE,
    display_name        TEXT    NOT NULL,
    role                TEXT    NOT NULL CHECK (role IN ('desk', 'agency', 'head', 'chair', 'admin')),
    password_hash       TEXT    NOT NULL,
    disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at          TEXT    NOT NULL,
    password_changed_at TEXT    NOT NULL
);

-- The agencies a staff member works for: an officer acts only on dossiers they hold.
CREATE TABLE staff_agencies (
    staff_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    agency   TEXT    NOT NULL,
    PRIMARY KEY (staff_id, agency)
) WITHOUT ROWID;

CREATE TABLE sessions (
    id_hash    TEXT    PRIMARY KEY NOT NULL,
    staff_id   INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_staff ON sessions (staff_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT    NOT NULL UNIQUE,
    staff_id   INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    revoked_at TEXT
);

-- One rating per dossier, given by the citizen on the public lookup once the result is returned.
CREATE TABLE ratings (
    dossier_code TEXT    PRIMARY KEY NOT NULL,
    score        INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment      TEXT,
    rated_at     TEXT    NOT NULL
) WITHOUT ROWID;

CREATE INDEX ratings_rated_at ON ratings (rated_at);
