-- Credentials are sealed (AES-256-GCM, `v1:<key id>:<data>`) from now on. Rows an older
-- ledgerlink wrote stay unsealed (0) until `serve`, `sync`, `backfill` or `key rotate` seals
-- them; the store refuses to use an unsealed row.
ALTER TABLE oauth_tokens ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
