-- The control panel's merchant accounts: users sign in to one, and see only the connections
-- bound to it (and their documents).
CREATE TABLE accounts (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id),
    email         TEXT NOT NULL UNIQUE,
    -- An argon2id PHC string: salt and parameters with the hash.
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
-- Sessions and API tokens are kept by the SHA-256 of their secret: a copy of the database
-- signs nobody in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE TABLE account_connections (
    connection_id TEXT PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id)
);
CREATE INDEX account_connections_account ON account_connections (account_id);
-- The target user each connection is authorised as (an Exact Online UserID): one such user
-- connects one merchant account, so connecting it for another account lapses the first
-- connection, with the reason its owner is shown.
CREATE TABLE target_users (
    connection_id TEXT PRIMARY KEY,
    target_user   TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    connected_at  TIMESTAMPTZ NOT NULL,
    lapsed_at     TIMESTAMPTZ,
    lapsed_reason TEXT
);
CREATE INDEX target_users_user ON target_users (target_user);
