-- A user of a merchant account invites another by e-mail address: the link carries a token kept
-- here only as its SHA-256, usable once, for seven days.
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    email      TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
