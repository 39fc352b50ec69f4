-- Named locks every process on this database respects (e.g. one OAuth refresh at a time).
CREATE TABLE locks (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TIMESTAMPTZ NOT NULL
);

-- A target company's API budget, shared by every process: per window (minutely, daily) the
-- calls left and when the window resets, as the target last said, minus the calls taken since.
CREATE TABLE rate_budgets (
    budget    TEXT NOT NULL,
    name      TEXT NOT NULL,
    remaining BIGINT NOT NULL,
    resets_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (budget, name)
);
