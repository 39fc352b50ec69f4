-- The same tables and columns as the SQLite schema, with PostgreSQL's own types: BIGINT ids,
-- TIMESTAMPTZ times and JSONB documents. Numbered like the SQLite migrations so that a change
-- to the schema lands under the same number in both.

-- Connections: one source shop booking into one target ledger, with its settings.
CREATE TABLE connections (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    source_kind   TEXT NOT NULL,
    target_kind   TEXT NOT NULL,
    settings_json JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

-- The sync ledger: exactly one row per (connection, kind, source id), one state at a time.
CREATE TABLE documents (
    id                 BIGSERIAL PRIMARY KEY,
    connection_id      TEXT NOT NULL REFERENCES connections(id),
    kind               TEXT NOT NULL,
    source_id          TEXT NOT NULL,
    number             TEXT NOT NULL,
    state              TEXT NOT NULL,
    reason             TEXT,
    document_json      JSONB NOT NULL,
    source_modified_at TIMESTAMPTZ NOT NULL,
    plan_json          JSONB,
    reference          TEXT,
    target_id          TEXT,
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at    TIMESTAMPTZ,
    lease_owner        TEXT,
    lease_until        TIMESTAMPTZ,
    fencing_token      BIGINT NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (connection_id, kind, source_id)
);
-- Only documents with work ahead have a next attempt: the index stays small while booked
-- documents pile up, and the workers' claim reads nothing else.
CREATE INDEX documents_due ON documents (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX documents_reference ON documents (connection_id, reference);

-- Every state change, written in the same transaction as the change itself.
CREATE TABLE document_transitions (
    id          BIGSERIAL PRIMARY KEY,
    document_id BIGINT NOT NULL REFERENCES documents(id),
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    reason      TEXT,
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX document_transitions_document ON document_transitions (document_id);

CREATE TABLE cursors (
    connection_id TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, name)
);

-- Webhook deliveries already taken in: a duplicate delivery is answered but not processed.
CREATE TABLE webhook_deliveries (
    connection_id TEXT NOT NULL,
    delivery_key  TEXT NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, delivery_key)
);

-- Every request to and response from an external system, secrets redacted before writing.
CREATE TABLE audit_log (
    id            BIGSERIAL PRIMARY KEY,
    connection_id TEXT NOT NULL,
    system        TEXT NOT NULL,
    method        TEXT NOT NULL,
    url           TEXT NOT NULL,
    request_body  TEXT,
    status        INTEGER,
    response_body TEXT,
    error         TEXT,
    duration_ms   BIGINT NOT NULL,
    at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_connection ON audit_log (connection_id, id);

-- Master data read from a target (accounts, GL accounts, VAT codes, ...), per scope (division).
CREATE TABLE master_data (
    connection_id TEXT NOT NULL,
    scope         TEXT NOT NULL,
    entity        TEXT NOT NULL,
    key           TEXT NOT NULL,
    value_json    JSONB NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, scope, entity, key)
);

-- OAuth tokens per connection; a rotated refresh token is committed here before first use.
CREATE TABLE oauth_tokens (
    connection_id TEXT PRIMARY KEY,
    access_token  TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    issued_at     TIMESTAMPTZ NOT NULL
);
