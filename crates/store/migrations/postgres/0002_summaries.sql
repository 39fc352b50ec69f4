-- Summary posting: a document booked within a summary entry points at the summary's row
-- (a document of kind 'summary').
ALTER TABLE documents ADD COLUMN summary_id BIGINT REFERENCES documents(id);
CREATE INDEX documents_summary ON documents (summary_id);
-- A summary's reference is what the target is searched for, so it must never be handed out
-- twice: should the numbering ever go wrong, pooling fails instead of booking a duplicate.
CREATE UNIQUE INDEX documents_summary_number ON documents (connection_id, number) WHERE kind = 'summary';
