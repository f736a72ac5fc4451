-- The installation: one row, inserted by the first-run setup in the same
-- transaction as its workspace, so two racing first visits cannot both
-- create one (the loser's insert violates the primary key). Every other
-- way of creating a workspace inserts it too if it is missing.
CREATE TABLE installation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    created_at INTEGER NOT NULL
);
INSERT INTO installation (id, created_at)
    SELECT 1, created_at FROM workspaces ORDER BY created_at LIMIT 1;

-- A job whose worker failed on it (a panic) is kept with its reason in
-- last_error and never claimed again; its key is freed for new jobs.
ALTER TABLE jobs ADD COLUMN failed_at INTEGER;
