-- The request (or job) that caused each job, for the logs.
ALTER TABLE jobs ADD COLUMN request_id TEXT;
