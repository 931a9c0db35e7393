-- motcua schema, version 5 (PostgreSQL): staff accounts, their agencies, web sessions, API
-- tokens and citizens' ratings of the service. Used by `motcua serve` and `motcua staff`.
--
-- Passwords are stored only as argon2 PHC strings; session ids and API tokens only as SHA-256
-- hex digests of the secret, so a copy of the database does not let anyone log in.

CREATE TABLE staff (
    id                  bigserial   PRIMARY KEY,
    username            text        NOT NULL UNIQUE,
    display_name        text        NOT NULL,
    role                text        NOT NULL CHECK (role IN ('desk', 'agency', 'head', 'chair', 'admin')),
    password_hash       text        NOT NULL,
    disabled            boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL,
    password_changed_at timestamptz NOT NULL
);

-- The agencies a staff member works for: an officer acts only on dossiers they hold.
CREATE TABLE staff_agencies (
    staff_id bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    agency   text   NOT NULL,
    PRIMARY KEY (staff_id, agency)
);

CREATE TABLE sessions (
    id_hash    text        PRIMARY KEY,
    staff_id   bigint      NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf       text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_staff ON sessions (staff_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id         bigserial   PRIMARY KEY,
    token_hash text        NOT NULL UNIQUE,
    staff_id   bigint      NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- One rating per dossier, given by the citizen on the public lookup once the result is returned.
CREATE TABLE ratings (
    dossier_code text        PRIMARY KEY,
    score        integer     NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment      text,
    rated_at     timestamptz NOT NULL
);

CREATE INDEX ratings_rated_at ON ratings (rated_at);
