-- Closed conversations untouched for this many days are deleted by the
-- workspace's retention job; NULL keeps them.
ALTER TABLE workspaces ADD COLUMN retention_days BIGINT;
