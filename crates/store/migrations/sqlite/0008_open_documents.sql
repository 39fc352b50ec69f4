-- The documents a worker may claim, in the order it claims them (oldest first). Without it every
-- claim sorted the whole backlog: a 50,000-order backfill booked under 30 orders a second
-- (docs/benchmarks.md).
CREATE INDEX documents_open ON documents (id)
    WHERE state IN ('received', 'planned', 'posting', 'uncertain', 'collecting');
