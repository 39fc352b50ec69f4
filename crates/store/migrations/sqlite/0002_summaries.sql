-- Summary posting: a document booked within a summary entry points at the summary's row
-- (a document of kind 'summary').
ALTER TABLE documents ADD COLUMN summary_id INTEGER REFERENCES documents(id);
CREATE INDEX documents_summary ON documents (summary_id);
