-- Shops a merchant added in the control panel, booking into the panel's Exact Online app. The
-- shop's credentials are sealed as the settings file seals them (bound to connection and field).
CREATE TABLE panel_connections (
    connection_id TEXT PRIMARY KEY REFERENCES connections (id),
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    source_json   TEXT NOT NULL,
    division      INTEGER,
    live_since    TEXT,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
