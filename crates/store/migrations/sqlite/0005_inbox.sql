-- Verified webhook deliveries, kept verbatim from the moment the shop got its 2xx until they
-- are taken into the ledger (committed together with their dedupe record).
CREATE TABLE inbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id   TEXT NOT NULL,
    topic           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    lease_until     TEXT
);
CREATE INDEX inbox_due ON inbox (next_attempt_at);
