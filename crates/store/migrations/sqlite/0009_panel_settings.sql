-- Booking settings a person changed in the panel: from then on the ledger's copy, not the
-- settings file's, is the connection's (until reset). The revision tells every process to
-- take up a change.
ALTER TABLE connections ADD COLUMN settings_revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN settings_edited_by TEXT;
ALTER TABLE connections ADD COLUMN settings_edited_at TEXT;
-- Who hears of what (e-mail addresses, events, the report's schedule), when set in the panel;
-- NULL while the settings file's apply.
ALTER TABLE connections ADD COLUMN notifications_json TEXT;
ALTER TABLE connections ADD COLUMN notifications_edited_by TEXT;
ALTER TABLE connections ADD COLUMN notifications_edited_at TEXT;
