-- Connections: one source shop booking into one target ledger, with its settings.
CREATE TABLE connections (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    source_kind   TEXT NOT NULL,
    target_kind   TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- The sync ledger: exactly one row per (connection, kind, source id), one state at a time.
CREATE TABLE documents (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id      TEXT NOT NULL REFERENCES connections(id),
    kind               TEXT NOT NULL,
    source_id          TEXT NOT NULL,
    number             TEXT NOT NULL,
    state              TEXT NOT NULL,
    reason             TEXT,
    document_json      TEXT NOT NULL,
    source_modified_at TEXT NOT NULL,
    plan_json          TEXT,
    reference          TEXT,
    target_id          TEXT,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TEXT,
    lease_owner        TEXT,
    lease_until        TEXT,
    fencing_token      INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (connection_id, kind, source_id)
);
CREATE INDEX documents_due ON documents (state, next_attempt_at);
CREATE INDEX documents_reference ON documents (connection_id, reference);

-- Every state change, written in the same transaction as the change itself.
CREATE TABLE document_transitions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    reason      TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX document_transitions_document ON document_transitions (document_id);

CREATE TABLE cursors (
    connection_id TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (connection_id, name)
);

-- Webhook deliveries already taken in: a duplicate delivery is answered but not processed.
CREATE TABLE webhook_deliveries (
    connection_id TEXT NOT NULL,
    delivery_key  TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    PRIMARY KEY (connection_id, delivery_key)
);

-- Every request to and response from an external system, secrets redacted before writing.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id TEXT NOT NULL,
    system        TEXT NOT NULL,
    method        TEXT NOT NULL,
    url           TEXT NOT NULL,
    request_body  TEXT,
    status        INTEGER,
    response_body TEXT,
    error         TEXT,
    duration_ms   INTEGER NOT NULL,
    at            TEXT NOT NULL
);
CREATE INDEX audit_log_connection ON audit_log (connection_id, id);

-- Master data read from a target (accounts, GL accounts, VAT codes, ...), per scope (division).
CREATE TABLE master_data (
    connection_id TEXT NOT NULL,
    scope         TEXT NOT NULL,
    entity        TEXT NOT NULL,
    key           TEXT NOT NULL,
    value_json    TEXT NOT NULL,
    fetched_at    TEXT NOT NULL,
    PRIMARY KEY (connection_id, scope, entity, key)
);

-- OAuth tokens per connection; a rotated refresh token is committed here before first use.
CREATE TABLE oauth_tokens (
    connection_id TEXT PRIMARY KEY,
    access_token  TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    issued_at     TEXT NOT NULL
);
